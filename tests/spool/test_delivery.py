"""Flush against a real SMTP server that the tests stop, start, make answer 4xx or 5xx, or make slow.

Every message is delivered exactly once after recovery, or lands in failed/ with its reason; none is lost. Time
travels through the injected clock: no test sleeps through a back-off.
"""

from __future__ import annotations

import os
from pathlib import Path
import stat

from .spoolkit import plain_digest, sealed

from tkalert.sender.spool import flush, open_site, read_log, submit, take_census

STORM_OFF = {"storm": {"enabled": "off"}}


def queue(settings, clock, count: int, **kinds):
    """Spool without the hook's flush, as if another process were flushing: everything stays queued."""
    from tkalert.sender.spool.submission import spool_message

    site = open_site(settings)
    messages = [sealed(service=f"svc{i}", **kinds) for i in range(count)]
    verdicts = [spool_message(site, m, clock()) for m in messages]
    assert all(v is not None and not v.fold for v in verdicts)
    return [m.message_id for m in messages]


def states(settings) -> dict[str, str]:
    return {r.message_id: r.state for r in read_log(open_site(settings))}


def test_a_queued_batch_goes_over_one_connection(site_config, smtp_sink, clock):
    _, settings = site_config(STORM_OFF)
    ids = queue(settings, clock, 30)
    report = flush(settings, clock=clock, make_digest=plain_digest)
    assert sorted(report.sent) == sorted(ids)
    assert sorted(smtp_sink.accepted) == sorted(ids)
    assert len(smtp_sink.connections) == 1
    assert set(states(settings).values()) == {"sent"}
    assert take_census(open_site(settings), clock()).depth == 0


def test_server_down_then_up_delivers_exactly_once_with_back_off(site_config, smtp_sink, clock):
    _, settings = site_config(STORM_OFF)
    smtp_sink.stop()
    message = sealed()
    result = submit(message, settings, clock=clock, make_digest=None)
    assert result.state == "queued" and "cannot connect" in result.reason
    entry = open_site(settings).outbox.load("outbox", message.message_id)
    assert (entry.attempts, entry.next_try - clock()) == (1, 60)

    clock.advance(59)
    assert flush(settings, clock=clock, make_digest=None).deferred == {}  # not due yet: no attempt
    clock.advance(1)
    assert message.message_id in flush(settings, clock=clock, make_digest=None).deferred
    entry = open_site(settings).outbox.load("outbox", message.message_id)
    assert (entry.attempts, entry.next_try - clock()) == (2, 120)  # doubled

    smtp_sink.start()
    clock.advance(120)
    assert flush(settings, clock=clock, make_digest=None).sent == [message.message_id]
    clock.advance(3600)
    assert flush(settings, clock=clock, make_digest=None).sent == []
    assert smtp_sink.accepted == [message.message_id]
    assert states(settings) == {message.message_id: "sent"}


def test_back_off_is_capped(site_config, smtp_sink, clock):
    _, settings = site_config({**STORM_OFF, "spool": {"retry_base": "1m", "retry_cap": "10m"}})
    smtp_sink.stop()
    message = sealed()
    submit(message, settings, clock=clock, make_digest=None)
    waits = []
    for _ in range(6):
        entry = open_site(settings).outbox.load("outbox", message.message_id)
        waits.append(entry.next_try - clock())
        clock.advance(entry.next_try - clock())
        flush(settings, clock=clock, make_digest=None)
    assert waits == [60, 120, 240, 480, 600, 600]


def test_4xx_is_retried_until_the_server_accepts(site_config, smtp_sink, clock):
    _, settings = site_config(STORM_OFF)
    smtp_sink.mode = "tempfail"
    ids = queue(settings, clock, 5)
    report = flush(settings, clock=clock, make_digest=None)
    assert set(report.deferred) == set(ids) and all("451" in e for e in report.deferred.values())
    log = {r.message_id: r for r in read_log(open_site(settings))}
    assert all(log[i].state == "queued" and "451" in log[i].last_error for i in ids)

    smtp_sink.mode = "accept"
    clock.advance(60)
    assert sorted(flush(settings, clock=clock, make_digest=None).sent) == sorted(ids)
    assert sorted(smtp_sink.accepted) == sorted(ids)


def test_5xx_moves_the_message_to_failed_with_its_reason(site_config, smtp_sink, clock):
    _, settings = site_config(STORM_OFF)
    smtp_sink.mode = "permfail"
    message = sealed()
    result = submit(message, settings, clock=clock, make_digest=None)
    assert result.state == "failed" and "554" in result.reason
    site = open_site(settings)
    failed = site.outbox.load("failed", message.message_id)
    assert failed.status == "failed" and "554 5.7.1 message refused by policy" in failed.last_error
    assert failed.message.plaintext == message.plaintext  # kept, not deleted unseen
    clock.advance(86400)
    smtp_sink.mode = "accept"
    assert flush(settings, clock=clock, make_digest=None).sent == []  # failed/ waits for an admin
    assert take_census(site, clock()).failed == 1


def test_unsent_messages_expire_into_failed_after_max_age(site_config, smtp_sink, clock):
    _, settings = site_config(STORM_OFF)
    smtp_sink.stop()
    message = sealed()
    submit(message, settings, clock=clock, make_digest=None)
    clock.advance(7 * 86400 - 1)
    assert flush(settings, clock=clock, make_digest=None).expired == {}
    clock.advance(1)
    report = flush(settings, clock=clock, make_digest=None)
    assert "within 7d" in report.expired[message.message_id]
    assert "cannot connect" in report.expired[message.message_id]
    census = take_census(open_site(settings), clock())
    assert (census.depth, census.failed, census.expired) == (0, 1, 1)
    assert states(settings) == {message.message_id: "expired"}


def test_a_slow_server_does_not_hold_the_hook(site_config, smtp_sink, clock):
    import time

    _, settings = site_config({**STORM_OFF, "spool": {"hook_budget": "1s"}}, timeout=10)
    smtp_sink.delay = 3.0
    message = sealed()
    started = time.monotonic()
    result = submit(message, settings, clock=clock, make_digest=None)
    assert time.monotonic() - started < 2.5
    assert result.state == "queued"
    # the hook's budget capped the server's time too: the attempt is on record, not lost in an abandoned thread
    report = flush(settings, clock=clock, wait=30, make_digest=None, budget=None)
    [entry] = list(open_site(settings).outbox.entries("outbox"))
    assert entry.attempts == 1 and "timed out" in entry.last_error and report.sent == []
    report = flush(settings, clock=clock, wait=30, make_digest=None, ignore_backoff=True)  # the timer's flush
    assert report.sent == [message.message_id] and smtp_sink.accepted == [message.message_id]
    assert states(settings) == {message.message_id: "sent"}


def test_a_spent_budget_stops_the_batch_between_two_messages(site_config, smtp_sink, clock):
    _, settings = site_config(STORM_OFF)
    smtp_sink.delay = 0.4
    ids = queue(settings, clock, 6)
    report = flush(settings, clock=clock, budget=0.6, make_digest=None)
    assert not report.complete and 1 <= len(report.sent) < 6  # stopped after a recorded outcome, not inside one
    assert sorted(report.sent) == sorted(smtp_sink.accepted)
    smtp_sink.delay = 0
    flush(settings, clock=clock, make_digest=None)
    assert sorted(smtp_sink.accepted) == sorted(ids)  # the rest went on the next flush, none twice


def test_a_server_slower_than_the_timeout_is_a_temporary_failure(site_config, smtp_sink, clock):
    _, settings = site_config(STORM_OFF, timeout=1)
    smtp_sink.delay = 2.0
    ids = queue(settings, clock, 2)
    report = flush(settings, clock=clock, make_digest=None)
    assert set(report.deferred) == set(ids) and "timed out" in " ".join(report.deferred.values())
    smtp_sink.delay = 0
    clock.advance(60)
    flush(settings, clock=clock, make_digest=None)
    # The server may have kept a mail whose answer came too late: at least once, duplicates carry the same id.
    assert set(smtp_sink.accepted) == set(ids)


def test_stop_start_4xx_5xx_in_turn_lose_nothing(site_config, smtp_sink, clock):
    _, settings = site_config(STORM_OFF)
    sent_ids, refused_ids = [], []
    for phase in ("down", "tempfail", "accept", "permfail", "down", "accept"):
        if phase == "down":
            smtp_sink.stop()
        elif smtp_sink.controller is None:
            smtp_sink.start()
        if phase != "down":
            smtp_sink.mode = phase
        ids = queue(settings, clock, 4)
        flush(settings, clock=clock, make_digest=None)
        (refused_ids if phase == "permfail" else sent_ids).extend(ids)
        clock.advance(3600)
    flush(settings, clock=clock, make_digest=None)
    log = states(settings)
    assert sorted(smtp_sink.accepted) == sorted(sent_ids)  # exactly once each
    assert {log[i] for i in sent_ids} == {"sent"} and {log[i] for i in refused_ids} == {"failed"}
    assert take_census(open_site(settings), clock()).depth == 0


def test_spool_files_are_private(site_config, smtp_sink, clock):
    _, settings = site_config(STORM_OFF)
    smtp_sink.stop()
    message = sealed()
    submit(message, settings, clock=clock, make_digest=None)
    site = open_site(settings)
    root = Path(site.outbox.root)
    for directory in (root, root / "outbox", root / "failed"):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(site.outbox.path("outbox", message.message_id)).st_mode) == 0o600
    smtp_sink.start()
    clock.advance(60)
    flush(settings, clock=clock, make_digest=None)
    assert stat.S_IMODE(os.stat(site.archive.path(message.message_id)).st_mode) == 0o600


def test_delivery_never_asks_dns_for_this_machines_name(settings, smtp_sink, clock, monkeypatch):
    """smtplib's EHLO name and the default sender come from gethostname(), once: getfqdn() hangs on broken DNS."""
    import smtplib
    import socket
    import types

    from tkalert.sender.deliver import hostname, smtp

    def no_dns(*args):
        raise AssertionError("socket.getfqdn() called on the delivery path")

    # smtplib's and tkalert's view of the socket module only: the test's SMTP server may ask for its own name.
    # tkalert's plain client and hostname use _socket, which has no getfqdn at all.
    no_dns_socket = types.SimpleNamespace(**{**vars(socket), "getfqdn": no_dns})
    monkeypatch.setattr(smtplib, "socket", no_dns_socket)
    assert "socket" not in vars(smtp) and "socket" not in vars(hostname)
    for n in range(2):
        result = submit(sealed(service=f"disk{n}"), settings, clock=clock, make_digest=None)
        assert result.state == "sent", result.reason
    assert len(smtp_sink.accepted) == 2
