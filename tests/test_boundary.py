"""One error boundary: the same error gives the same line and the same state from every entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cast.plugins import run_tkalert
from tkalert.cli.boundary import describe
from tkalert.errors import ConfigError, SealError, SpoolError, UsageError

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"


def run(argv: list[str], config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TKALERT_CONFIG": str(config)}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, timeout=60, check=False)


# entry point -> (argv, where its one line goes, the line's prefix, its suffix)
ENTRY_POINTS = {
    "tkalert --check": (["-m", "tkalert", "--type=heartbeat", "--check"], "stdout", "tkalert/0.1.0 ", " - UNKNOWN"),
    "check_tkalert_heartbeat": ([str(PLUGINS / "check_tkalert_heartbeat")], "stdout", "TKALERT HEARTBEAT UNKNOWN: ",
                                ""),
    "check_tkalert_spool": ([str(PLUGINS / "check_tkalert_spool")], "stdout", "TKALERT SPOOL UNKNOWN: ", ""),
    "tkalert flush": (["-m", "tkalert", "flush"], "stderr", "tkalert: ", ""),
    "tkalert-zabbix": (["-m", "tkalert.integrations.zabbix.alert", "{config}", "subject", "message"], "stderr",
                       "tkalert-zabbix: ", ""),
}
PLUGIN_MODE = {"tkalert --check", "check_tkalert_heartbeat", "check_tkalert_spool"}

BAD_CONFIGS = {
    "not an INI file": "this is not a config file\n",
    "unknown key": "[tkalert]\nauth_kye = 0123456789a\n",
    "bad boolean": "[tkalert]\nenabled = maybe\n",
}


@pytest.mark.parametrize("bad", sorted(BAD_CONFIGS))
def test_a_bad_config_gives_one_line_and_one_state_from_every_entry_point(tmp_path, bad):
    config = tmp_path / "tkalert.conf"
    config.write_text(BAD_CONFIGS[bad], encoding="utf-8")
    lines = {}
    for name, (argv, stream, prefix, suffix) in ENTRY_POINTS.items():
        done = run([a.format(config=config) for a in argv], config)
        output = [line.split("|")[0] for line in getattr(done, stream).strip().splitlines()]  # no perfdata
        assert len(output) == 1, (name, done.stdout, done.stderr)
        assert output[0].startswith(prefix) and output[0].endswith(suffix), (name, output[0])
        assert "Traceback" not in done.stderr
        lines[name] = output[0].removeprefix(prefix).removesuffix(suffix)
        assert done.returncode == (3 if name in PLUGIN_MODE else 78), (name, done.returncode, output)
    assert len(set(lines.values())) == 1, lines
    assert str(config) in lines["tkalert flush"]


@pytest.mark.parametrize(("error", "code", "state"), [
    (UsageError("bad option"), 2, "UNKNOWN"),
    (ConfigError("bad config"), 78, "UNKNOWN"),
    (SealError("vendor key expired"), 1, "CRITICAL"),
    (SpoolError("cannot write the spool"), 75, "CRITICAL"),
    (PermissionError(13, "Permission denied", "/nonexistent/spool/flush.lock"), 77, "UNKNOWN"),
    (FileNotFoundError(2, "No such file or directory", "/nonexistent/x"), 74, "UNKNOWN"),
    (KeyboardInterrupt(), 130, "UNKNOWN"),
    (ZeroDivisionError("division by zero"), 1, "UNKNOWN"),
])
def test_every_error_has_one_exit_code_and_one_plugin_state(error, code, state):
    failure = describe(error)
    assert (failure.code, failure.plugin_state) == (code, state)
    assert "\n" not in failure.line


def test_a_permission_error_names_the_file_and_its_owner(tmp_path):
    target = tmp_path / "flush.lock"
    target.write_text("")
    line = describe(PermissionError(13, "Permission denied", str(target))).line
    assert str(target) in line and "root" in line and "internal error" not in line


def test_verbose_adds_no_traceback_to_an_expected_error(tmp_path):
    """--verbose is for detail (log lines), not for a traceback of a config error: the error is the last line."""
    missing = tmp_path / "missing.conf"
    for argv in (["--type=heartbeat", "--verbose", "--config", str(missing)],
                 ["--type=service", "--host=h", "--service=s", "--service-status=CRITICAL", "--verbose",
                  f"--config={missing}"]):
        done = run_tkalert(*argv)
        err = done.stderr.decode()
        assert done.returncode == 78 and "Traceback" not in err, (argv, err)
        assert err.splitlines()[-1].endswith("does not exist (give an existing file with --config)"), (argv, err)
