"""Both check plugins follow the Monitoring Plugins guidelines: -V/--version, usage errors UNKNOWN (3), and
nothing on stderr whatever happens (a bad option, a bad config, --help)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cast.plugins import ROOT, daemon_env
from tkalert import __version__

PLUGINS = ("check_tkalert_heartbeat", "check_tkalert_spool")


def run(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "plugins" / name), *args], capture_output=True, text=True,
                          env=daemon_env(), timeout=60, check=False)


@pytest.mark.parametrize("name", PLUGINS)
@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_prints_name_and_version_and_exits_0(name, flag):
    done = run(name, flag)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, f"{name} {__version__}", "")


@pytest.mark.parametrize("name", PLUGINS)
def test_bad_option_is_unknown_on_stdout_only(name):
    done = run(name, "--bogus")
    assert done.returncode == 3
    assert "UNKNOWN" in done.stdout and "--bogus" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize("name", PLUGINS)
def test_bad_config_is_unknown_on_stdout_only(name, tmp_path):
    bad = tmp_path / "c.conf"
    bad.write_text("[tkalert]\nauth_kee = x\n")
    done = run(name, "--config", str(bad))
    assert done.returncode == 3 and "auth_kee" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize("name", PLUGINS)
def test_help_is_on_stdout_and_exits_0(name):
    done = run(name, "--help")
    assert done.returncode == 0 and "--version" in done.stdout
    assert done.stderr == ""
