"""man/tkalert.1 stays in step with the click definition and the documented exit codes."""

from __future__ import annotations

import re
from pathlib import Path

from tkalert.cli.commands import COMMANDS
from tkalert.cli.send import click_command

MAN = Path(__file__).resolve().parent.parent / "man" / "tkalert.1"


def man_text() -> str:
    return MAN.read_text(encoding="utf-8").replace("\\-", "-")


def documented_options() -> set[str]:
    options = man_text().split(".SH OPTIONS", 1)[1].split(".SH COMMANDS", 1)[0]
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", "\n".join(
        line for line in options.splitlines() if line.startswith((".B", ".TP")) or line.startswith(".BR"))))


def test_every_cli_option_is_documented_and_nothing_else():
    names = {name for param in click_command().params for name in param.opts + param.secondary_opts}
    names |= {"-h", "--help"}
    assert documented_options() == names


def test_every_admin_command_is_documented():
    text = man_text().split(".SH COMMANDS", 1)[1].split(".SH ", 1)[0]
    assert {m for m in re.findall(r"^\.B (\w+)", text, re.M)} == set(COMMANDS)


def test_exit_codes_documented():
    section = man_text().split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    from tkalert.cli.boundary import EX_IOERR, EX_NOPERM
    from tkalert.errors import ConfigError, SealError, SpoolError, UsageError

    codes = {0, 73, EX_IOERR, EX_NOPERM} | {e.exit_code for e in (ConfigError, SealError, SpoolError, UsageError)}
    assert re.findall(r"^\.B (\d+)$", section, re.M) == [str(c) for c in sorted(codes)]


CONF = MAN.parent / "tkalert.conf.5"


def conf_section(start: str, end: str | None) -> str:
    text = CONF.read_text(encoding="utf-8").replace("\\-", "-")
    body = text.split(start, 1)[1]
    return body.split(end, 1)[0] if end else body


def documented_keys(section: str) -> set[str]:
    return {word for line in section.splitlines() if line.startswith((".B ", ".BR "))
            for word in re.findall(r"\b([a-z][a-z0-9_]*)\b", line.split(None, 1)[1]) if "_" in word or word.isalpha()}


def test_every_config_key_is_documented():
    import importlib

    from tkalert.config.settings import GNUPG_KEYS, MAIN_KEYS
    from tkalert.sender.deliver import TRANSPORTS
    from tkalert.sender.spool.policy import ARCHIVE_KEYS, CATEGORY_KEYS, SPOOL_KEYS, STORM_KEYS

    for section, keys in (("spool", SPOOL_KEYS), ("storm", STORM_KEYS), ("archive", ARCHIVE_KEYS),
                          ("categories", CATEGORY_KEYS)):
        assert set(keys) <= documented_keys(conf_section(f".SH [{section}]", ".SH ")), section

    assert MAIN_KEYS <= documented_keys(conf_section(".SH [tkalert]", ".SH [gnupg]"))
    assert GNUPG_KEYS <= documented_keys(conf_section(".SH [gnupg]", ".SH [spool]"))
    from tkalert.integrations.zabbix.api import ZABBIX_KEYS

    assert ZABBIX_KEYS <= documented_keys(conf_section(".SH [zabbix]", ".SH [destination NAME]"))
    for name, target in TRANSPORTS.items():
        module_name, class_name = target.split(":")
        module = importlib.import_module(module_name)
        known = getattr(getattr(module, class_name), "KNOWN", None) or module.KNOWN
        section = conf_section(f".SS transport = {name}", ".S")
        assert set(known) <= documented_keys(section), (name, set(known) - documented_keys(section))


def test_every_plugin_option_is_in_its_man_page():
    import os
    import subprocess
    import sys

    root = MAN.parent.parent
    for plugin in ("check_tkalert_spool", "check_tkalert_heartbeat"):
        env = {**os.environ, "PYTHONPATH": str(root)}
        usage = subprocess.run([sys.executable, str(root / "plugins" / plugin), "--help"], capture_output=True,
                               text=True, env=env, check=True).stdout
        options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", usage)) - {"--help"}
        page = (MAN.parent / f"{plugin}.1").read_text(encoding="utf-8").replace("\\-", "-")
        assert options and {o for o in options if o not in page} == set(), plugin
