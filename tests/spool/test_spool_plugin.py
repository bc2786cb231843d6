"""plugins/check_tkalert_spool, run as Icinga runs it: a child process, judged by exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys

from .spoolkit import ROOT, sealed

from tkalert.sender.spool import submit

PLUGIN = ROOT / "plugins" / "check_tkalert_spool"


def check(config, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(PLUGIN), "--config", str(config), *args], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    return done.returncode, done.stdout.strip()


def test_an_empty_spool_is_ok_with_perfdata(site_config):
    config, _ = site_config()
    code, output = check(config)
    assert code == 0
    assert output.startswith("TKALERT SPOOL OK - 0 queued, oldest 0s, 0 failed")
    assert "| depth=0;50;500;0 failed=0;0;10;0 oldest_age=0s;3600;86400;0" in output


def test_a_failed_message_warns_and_names_the_command(site_config, mailbox):
    config, settings = site_config()
    mailbox.mode = "permfail"
    submit(sealed(), settings, make_digest=None)
    code, output = check(config)
    assert code == 1 and output.startswith("TKALERT SPOOL WARNING - failed is 1")
    assert "tkalert log --state failed" in output


def test_a_deep_queue_turns_critical_with_custom_thresholds(site_config, mailbox):
    config, settings = site_config({"storm": {"enabled": "off"}})
    mailbox.stop()
    for _ in range(3):
        submit(sealed(), settings, make_digest=None)
    code, output = check(config, "-w", "1,,", "-c", "2,,")
    assert code == 2 and "depth is 3" in output and "depth=3;1;2;0" in output


def test_a_broken_config_is_unknown(tmp_path):
    bad = tmp_path / "tkalert.conf"
    bad.write_text("[spool]\nmax_age = forever\n")
    code, output = check(bad)
    assert code == 3 and "max_age" in output
    code, output = check(bad, "-w", "1,2")
    assert code == 3 and "three ranges" in output
