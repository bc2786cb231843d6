"""plugins/check_tkalert_spool, run as Icinga runs it: a child process, judged by exit code and output."""

from __future__ import annotations

from cast.plugins import run_plugin

from tkalert.sender.spool import submit

from .spoolkit import sealed


def check(config, *args):
    return run_plugin("check_tkalert_spool", config, *args)


def test_an_empty_spool_is_ok_with_perfdata(site_config):
    config, _ = site_config()
    code, output = check(config)
    assert code == 0
    assert output.startswith("TKALERT SPOOL OK - 0 queued, oldest 0s, 0 failed")
    assert "| depth=0;50;500;0 failed=0;0;10;0 oldest_age=0s;3600;86400;0" in output


def test_a_failed_message_warns_and_names_the_command(site_config, smtp_sink):
    config, settings = site_config()
    smtp_sink.mode = "permfail"
    submit(sealed(), settings, make_digest=None)
    code, output = check(config)
    assert code == 1 and output.startswith("TKALERT SPOOL WARNING - failed is 1")
    assert "tkalert log --state failed" in output


def test_a_deep_queue_turns_critical_with_custom_thresholds(site_config, smtp_sink):
    config, settings = site_config({"storm": {"enabled": "off"}})
    smtp_sink.stop()
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
