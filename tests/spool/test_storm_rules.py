"""Storm control: the pure rules, then folding into one digest per interval through submit and flush."""

from __future__ import annotations

from pathlib import Path

import pytest
from .spoolkit import EPOCH, plain_digest, sealed

from tkalert.sender.spool import flush, open_site, read_log, submit
from tkalert.sender.spool.submission import spool_message
from tkalert.sender.spool.policy import StormPolicy
from tkalert.sender.spool.storm import bucket_of, decide

POLICY = StormPolicy(rate=3, interval=60, repeat_window=600)


def run(events, policy=POLICY):
    """events: (seconds after EPOCH, host, service, state, kind) -> list of 'pass'/'fold'."""
    last, slots, verdicts = {}, {}, []
    for offset, host, service, state, kind in events:
        now, message = EPOCH + offset, sealed(kind, host, service, state)
        if not (policy.enabled and kind == "alert"):
            verdicts.append("pass")
            continue
        bucket = bucket_of(now, policy)

        def claim(bucket=bucket):
            slots[bucket] = slots.get(bucket, 0) + 1
            return slots[bucket] <= policy.rate

        verdict, remember = decide(last.get((host, service)), message, now, claim, policy)
        if remember:
            last[(host, service)] = remember
        verdicts.append("fold" if verdict.fold else "pass")
    return verdicts


def test_beyond_the_rate_alerts_are_folded_until_the_next_interval():
    events = [(i, "h", f"s{i}", "CRITICAL", "alert") for i in range(5)] + [(60, "h", "s9", "CRITICAL", "alert")]
    assert run(events) == ["pass", "pass", "pass", "fold", "fold", "pass"]


def test_heartbeats_reports_and_tests_are_never_folded():
    events = [(i, None, None, None, kind) for i, kind in enumerate(["heartbeat", "report", "test"] * 3)]
    assert run(events) == ["pass"] * 9


def test_identical_repeats_inside_the_window_are_folded():
    events = [(0, "h", "disk", "CRITICAL", "alert"), (10, "h", "disk", "CRITICAL", "alert"),
              (599, "h", "disk", "critical", "alert"), (600, "h", "disk", "CRITICAL", "alert")]
    assert run(events) == ["pass", "fold", "fold", "pass"]


def test_a_worse_state_goes_out_at_once_whatever_the_rate():
    events = [(0, "h", "disk", "WARNING", "alert")] + [(i, "h", f"s{i}", "CRITICAL", "alert") for i in (1, 2, 3)]
    events += [(4, "h", "disk", "CRITICAL", "alert"), (5, "h", "disk", "OK", "alert")]
    assert run(events) == ["pass", "pass", "pass", "fold", "pass", "fold"]


def test_storm_control_can_be_switched_off():
    events = [(0, "h", "disk", "CRITICAL", "alert")] * 10
    assert run(events, StormPolicy(enabled=False)) == ["pass"] * 10


@pytest.fixture
def storm_settings(site_config):
    return site_config({"storm": {"rate": "3", "interval": "1m", "repeat_window": "10m"}})[1]


def test_a_storm_becomes_single_alerts_plus_one_digest_per_interval(storm_settings, smtp_sink, clock):
    messages = [sealed(service=f"svc{i}") for i in range(10)]
    results = [submit(m, storm_settings, clock=clock, make_digest=plain_digest) for m in messages]
    assert [r.state for r in results] == ["sent"] * 3 + ["folded"] * 7
    assert "rate limit: 3 alerts in this 1m interval" in results[-1].reason
    clock.advance(30)
    later = [sealed(service=f"late{i}") for i in range(2)]
    assert {submit(m, storm_settings, clock=clock, make_digest=plain_digest).state for m in later} == {"folded"}

    report = flush(storm_settings, clock=clock, make_digest=plain_digest)
    assert report.digests == {}  # the interval is not over yet
    clock.advance(60)
    report = flush(storm_settings, clock=clock, make_digest=plain_digest)
    (digest_id, folded), = report.digests.items()
    assert set(folded) == {m.message_id for m in messages[3:] + later}
    assert report.sent == [digest_id]
    assert sorted(smtp_sink.folded) == sorted(folded)  # every folded event is inside the digest that left
    assert smtp_sink.delivered() - {digest_id} == {m.message_id for m in messages + later}

    log = {r.message_id: r for r in read_log(open_site(storm_settings))}
    assert {log[i].state for i in folded} == {"folded"} and {log[i].digest_id for i in folded} == {digest_id}
    assert log[digest_id].state == "sent" and set(log[digest_id].digest_of) == set(folded)


def test_folded_alerts_of_two_intervals_make_two_digests(storm_settings, smtp_sink, clock):
    site = open_site(storm_settings)
    ids = []
    for minute in range(2):
        for i in range(5):
            message = sealed(service=f"m{minute}s{i}")
            spool_message(site, message, clock())  # nobody delivers while the storm is submitted
            ids.append(message.message_id)
        clock.advance(60)
    report = flush(storm_settings, clock=clock, make_digest=plain_digest)
    assert sorted(len(ids) for ids in report.digests.values()) == [2, 2]
    assert smtp_sink.delivered() - set(report.digests) == set(ids)


def test_without_a_digest_builder_folded_alerts_are_released_one_by_one(storm_settings, smtp_sink, clock):
    messages = [sealed(service=f"svc{i}") for i in range(5)]
    for m in messages:
        submit(m, storm_settings, clock=clock, make_digest=None)
    clock.advance(60)
    report = flush(storm_settings, clock=clock, make_digest=None)
    assert len(report.released) == 2
    assert sorted(smtp_sink.accepted) == sorted(m.message_id for m in messages)


def test_a_digest_that_cannot_be_built_is_retried_not_lost(storm_settings, smtp_sink, clock):
    from tkalert.errors import SealError

    def broken(messages):
        raise SealError("vendor key expired")

    for i in range(5):
        submit(sealed(service=f"svc{i}"), storm_settings, clock=clock, make_digest=broken)
    clock.advance(60)
    assert flush(storm_settings, clock=clock, make_digest=broken).digests == {}
    folded = [r for r in read_log(open_site(storm_settings)) if r.state == "folded"]
    assert len(folded) == 2 and all("vendor key expired" in r.last_error for r in folded)
    report = flush(storm_settings, clock=clock, make_digest=plain_digest)
    assert len(smtp_sink.delivered() - set(report.digests)) == 5 and len(report.digests) == 1


def test_a_fold_cut_short_after_queuing_its_digest_makes_no_second_digest(storm_settings, smtp_sink, clock):
    """A hook's flush thread dies with the hook when its budget runs out: here, right after the digest was queued
    and before the folded alerts left folded/. The next flush finishes that work instead of folding them again."""
    from tkalert.sender.spool.entry import new_entry

    site = open_site(storm_settings)
    messages = [sealed(service=f"svc{i}") for i in range(6)]
    for message in messages:
        spool_message(site, message, clock())  # nobody delivers while the storm is submitted
    folded = sorted(site.outbox.entries("folded"), key=lambda e: e.queued_at)
    assert len(folded) == 3
    digest = plain_digest([e.message for e in folded])
    site.outbox.add(new_entry(digest, clock(), "queued", digest_of=tuple(e.message_id for e in folded)))
    clock.advance(60)

    report = flush(storm_settings, clock=clock, make_digest=plain_digest)
    assert report.digests == {} and sorted(report.recovered) == sorted(e.message_id for e in folded)
    assert sorted(smtp_sink.folded) == sorted(e.message_id for e in folded)  # once, inside the one digest
    assert smtp_sink.delivered() - {digest.message_id} == {m.message_id for m in messages}
    log = {r.message_id: r for r in read_log(site)}
    assert {log[e.message_id].digest_id for e in folded} == {digest.message_id}


def test_a_digests_folded_alerts_are_archived_in_one_file_with_a_constant_number_of_fsyncs(
        storm_settings, smtp_sink, clock, monkeypatch):
    import os

    from tkalert.sender.spool import disk

    messages = [sealed(service=f"svc{i}") for i in range(3 + 40)]
    for m in messages:
        submit(m, storm_settings, clock=clock, make_digest=plain_digest)
    clock.advance(60)
    fsyncs = []
    monkeypatch.setattr(disk.os, "fsync", lambda fd, real=os.fsync: fsyncs.append(fd) or real(fd))
    flush(storm_settings, clock=clock, make_digest=plain_digest, housekeeping=False)
    # digest queued (2), folded alerts archived (3), digest sent and archived (2), for 40 alerts as for 1
    assert len(fsyncs) <= 8

    archive = open_site(storm_settings).archive
    folded = [m.message_id for m in messages[3:]]
    (digest_file,) = Path(archive.directory).glob("*.folded.json")
    assert {Path(p).name for p in archive.files()} == {digest_file.name} \
        | {f"{m.message_id}.json" for m in messages[:3]} | {digest_file.name.replace(".folded", "")}
    assert all(archive.load(i).status == "folded" and archive.holds(archive.load(i)) for i in folded)
    assert submit(messages[-1], storm_settings, clock=clock, make_digest=plain_digest).state == "sent"  # seen before

    clock.advance(400 * 86400)  # past the default retention: the digest file and every link to it go
    flush(storm_settings, clock=clock, make_digest=plain_digest, housekeeping=True)
    assert sorted(os.listdir(archive.directory)) == ["tmp"]
