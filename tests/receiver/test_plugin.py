"""plugins/check_tkalert_receiver against a real site: states, summary and perfdata as a monitoring daemon sees
them (the plugin run as a child in a daemon's bare environment)."""

from __future__ import annotations

import pytest
from cast import mails
from cast.plugins import run_plugin

PLUGIN = "check_tkalert_receiver"


def test_a_new_receiver_warns_that_nothing_was_accepted_yet(site):
    code, out = run_plugin(PLUGIN, site.config)
    assert code == 1 and out.startswith("TKALERT RECEIVER WARNING - no message accepted yet")


def test_ok_after_an_accepted_message_with_perfdata(site, keys):
    site.run("ingest", input=mails.sealed_mail(keys, mails.document()))
    site.ok("work", "--once")
    code, out = run_plugin(PLUGIN, site.config)
    assert code == 0, out
    assert "0 unprocessed" in out and "|" in out
    assert "unprocessed=0;100;1000;0" in out and "quarantined=0;10;100;0" in out


def test_unprocessed_depth_and_quarantine_growth(site, keys):
    for sequence in (1, 2, 3):
        site.run("ingest", input=mails.sealed_mail(keys, mails.document(sequence=sequence)))
    code, out = run_plugin(PLUGIN, site.config, "-w", "2,,,", "-c", ",,,")
    assert code == 1 and "unprocessed" in out and "are `tkalert-receiver serve`/`work` running?" in out
    site.run("ingest", input=mails.sealed_mail(keys, mails.document(auth_key="K-NONE", sequence=4)))
    site.ok("work", "--once")
    code, out = run_plugin(PLUGIN, site.config, "-w", ",,,", "-c", ",,0,")
    assert code == 2 and "quarantine list" in out


def test_bad_thresholds_and_a_missing_config_are_unknown(site, tmp_path):
    code, out = run_plugin(PLUGIN, site.config, "-w", "1,2")
    assert code == 3 and "four ranges" in out
    code, out = run_plugin(PLUGIN, tmp_path / "missing.conf")
    assert code == 3 and "does not exist" in out


def test_every_option_is_in_the_man_page():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    text = (root / "man" / f"{PLUGIN}.1").read_text(encoding="utf-8").replace("\\-", "-")
    source = (root / "plugins" / PLUGIN).read_text(encoding="utf-8")
    options = set(re.findall(r'"(--[a-z-]+)"', source)) | {"--version", "--help"}
    assert options and all(option in text for option in options)


@pytest.mark.parametrize("args", [["-V"], ["--bogus"], ["--config", "{bad}"], ["--help"]])
def test_monitoring_plugin_guidelines_nothing_on_stderr(args, tmp_path):
    """-V prints name and version (0), a bad option or config is UNKNOWN (3), --help is 0; stderr stays empty."""
    import subprocess
    import sys

    from cast.plugins import ROOT, daemon_env
    from tkalert import __version__

    bad = tmp_path / "receiver.conf"
    bad.write_text("[receiver]\nsize_limt = 5\n")
    done = subprocess.run([sys.executable, str(ROOT / "plugins" / PLUGIN), *(a.format(bad=bad) for a in args)],
                          capture_output=True, text=True, env=daemon_env(), timeout=60, check=False)
    expected = {"-V": 0, "--bogus": 3, "--config": 3, "--help": 0}[args[0]]
    assert (done.returncode, done.stderr) == (expected, "")
    if args == ["-V"]:
        assert done.stdout.strip() == f"{PLUGIN} {__version__}"
    if args[0] == "--config":
        assert "UNKNOWN" in done.stdout and "size_limt" in done.stdout
