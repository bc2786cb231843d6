"""contrib/: the Nagios and Icinga 2 command definitions pass only options tkalert has, and the Icinga 2 custom
variables tkalert reads are all named tkalert_* (never the stock vars.os and friends)."""

from __future__ import annotations

import re
from pathlib import Path

from tkalert.cli.send import click_command

ROOT = Path(__file__).resolve().parents[1]
ICINGA2 = sorted((ROOT / "contrib" / "icinga2").glob("*.conf"))
NAGIOS = ROOT / "contrib" / "nagios" / "tkalert.cfg"


def tkalert_options() -> set[str]:
    return {name for param in click_command().params for name in param.opts + param.secondary_opts}


def test_icinga2_custom_variables_are_named_tkalert():
    assert ICINGA2
    for path in ICINGA2:
        text = path.read_text(encoding="utf-8")
        used = set(re.findall(r"\b(?:host|service)\.vars\.(\w+)", text)) | set(re.findall(r"\$(\w+)\$", text))
        used -= {"notification", "icinga"}
        assert {name for name in used if not name.startswith("tkalert")} == set(), path.name
        assert not re.search(r"\bvars\.(os|serial|component_serial|component_name)\b", text), path.name


def test_icinga2_readme_and_integration_test_use_the_new_names():
    for path in (ROOT / "contrib" / "icinga2" / "README.md", ROOT / "tests" / "integration" / "test_icinga2.py"):
        text = path.read_text(encoding="utf-8")
        assert "vars.tkalert_serial" in text and "vars.tkalert_os" in text, path.name
        assert not re.search(r"^\s*vars\.(os|serial|component_serial|component_name) =", text, re.M), path.name


def test_contrib_commands_pass_only_options_tkalert_has():
    known = tkalert_options()
    for path in (ROOT / "contrib" / "icinga2" / "tkalert-commands.conf", NAGIOS):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".cfg":
            text = "\n".join(line for line in text.splitlines() if "$USER9$/tkalert " in line or
                             line.startswith(" " * 20))
        passed = set(re.findall(r"\"(--[a-z-]+)\" =", text)) | set(re.findall(r"(--[a-z-]+)=", text))
        passed -= {"--config", "--timeout"} if "check_tkalert" in text else set()
        assert passed and passed - known - {"--timeout"} == set(), (path.name, passed - known)
