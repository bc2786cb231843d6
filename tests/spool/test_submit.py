"""submit: the hook's entry point — categories, idempotence, a lean import path, errors that must raise."""

from __future__ import annotations

import subprocess
import sys

from cast.plugins import ROOT

from .spoolkit import EPOCH, sealed

from tkalert.sender.spool import open_site, read_log, submit


def test_a_switched_off_category_is_skipped_and_not_spooled(site_config, smtp_sink, clock):
    _, settings = site_config({"categories": {"heartbeat": "off"}})
    result = submit(sealed("heartbeat"), settings, clock=clock, make_digest=None)
    assert (result.state, result.reason) == ("skipped", "heartbeat is switched off in [categories]")
    assert submit(sealed("alert"), settings, clock=clock, make_digest=None).state == "sent"
    assert [r.kind for r in read_log(open_site(settings))] == ["alert"]


def test_the_same_message_twice_is_spooled_once(settings, smtp_sink, clock):
    message = sealed()
    assert submit(message, settings, clock=clock, make_digest=None).state == "sent"
    assert submit(message, settings, clock=clock, make_digest=None).state == "sent"
    assert smtp_sink.accepted == [message.message_id]


def test_an_override_target_travels_with_the_entry(settings, smtp_sink, clock):
    smtp_sink.stop()
    message = sealed()
    submit(message, settings, clock=clock, override_to="tester@vendor.test", make_digest=None)
    entry = open_site(settings).outbox.load("outbox", message.message_id)
    assert entry.override_to == "tester@vendor.test"


def test_once_spooled_a_misconfiguration_is_reported_not_raised(tmp_path, clock):
    """The entry is durable before the flush finds the config wrong: raising would make the caller retry and send a
    duplicate under a new message id, so the message is kept and the reason reported."""
    from tkalert.config.settings import Settings

    settings = Settings(spool_dir=tmp_path / "spool", state_dir=tmp_path / "state")
    message = sealed()
    result = submit(message, settings, clock=clock, make_digest=None)
    assert result.state == "queued" and "no destination configured" in result.reason
    assert [r.state for r in read_log(open_site(settings))] == ["queued"]


def test_a_heartbeat_is_never_folded(site_config, smtp_sink, clock):
    _, settings = site_config({"storm": {"rate": "1"}})
    states = [submit(sealed("heartbeat"), settings, clock=clock, make_digest=None).state for _ in range(3)]
    assert states == ["sent"] * 3


def test_the_import_path_of_submit_is_lean():
    code = ("import sys, tkalert.sender.spool; "
            "heavy = {'lxml', 'click', 'gnupg', 'smtplib', 'email'} & set(sys.modules);"
            "print(sorted(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_an_entry_file_keeps_the_keys_tkalert_0_1_wrote():
    import json

    from tkalert.sender.spool.entry import dumps, loads, new_entry

    message = sealed()
    record = json.loads(dumps(new_entry(message, EPOCH)))
    assert (record["message"]["kind"], record["message"]["state"]) == ("alert", "CRITICAL")
    assert loads(json.dumps(record).encode()).message == message
