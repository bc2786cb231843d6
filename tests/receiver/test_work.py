"""Workers in this process, on the scratch database: import, claim by compare-and-set, lease take-over, retry.

The clock is injected: a worker that "died" is simulated by a claim whose lease has run out, not by sleeping.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from tkalert.receiver.ingest.store import prepare, store_raw
from tkalert.receiver.open import Refused

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


def worker(config, clock=None):
    from tkalert.receiver.work import Worker

    return Worker(config, clock=clock or Clock())


def stored_rows(count: int) -> list[int]:
    from tkalert.receiver.models import Message

    return [Message.objects.create(raw=b"mail %d" % n, channel="smtp", received_at=NOW).pk for n in range(count)]


def test_import_takes_each_file_once_even_when_the_file_outlives_its_row(db, tmp_path):
    from tkalert.receiver.ingest.importer import import_stored
    from tkalert.receiver.models import Message

    prepare(tmp_path)
    first = store_raw(tmp_path, b"one", "smtp")
    store_raw(tmp_path, b"two", "pipe")
    kept = first.path.read_bytes()
    assert import_stored(tmp_path) == 2
    assert list((tmp_path / "new").iterdir()) == []
    first.path.write_bytes(kept)  # as if killed after the commit, before the unlink
    assert import_stored(tmp_path) == 1
    assert Message.objects.count() == 2 and list((tmp_path / "new").iterdir()) == []
    assert sorted(Message.objects.values_list("channel", flat=True)) == ["pipe", "smtp"]


def test_two_workers_never_claim_the_same_message(db):
    from tkalert.receiver.work import Worker

    ids = set(stored_rows(60))
    claimed: list[list[int]] = []
    start = threading.Barrier(3)

    def claim():
        from django.db import connection

        mine = Worker(db, clock=Clock())
        start.wait()
        while True:
            _, batch = mine.claim_batch(size=7)
            if not batch:
                break
            claimed.append(batch)
        connection.close()

    threads = [threading.Thread(target=claim) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [pk for batch in claimed for pk in batch]
    assert sorted(every) == sorted(ids)  # each exactly once


def test_a_claim_whose_lease_ran_out_is_taken_over_and_the_old_claim_cannot_finish(db):
    from tkalert.receiver.models import Message

    (pk,) = stored_rows(1)
    clock = Clock()
    first, second = worker(db, clock), worker(db, clock)
    old_token, batch = first.claim_batch()
    assert batch == [pk]
    assert second.claim_batch()[1] == []  # still leased
    clock.now += timedelta(seconds=db.claim_lease + 1)
    new_token, batch = second.claim_batch()
    assert batch == [pk]
    assert first.finish(pk, old_token, Refused("late", "")) is None
    assert second.finish(pk, new_token, Refused("cannot-decrypt", "test")) is not None
    message = Message.objects.get(pk=pk)
    assert (message.state, message.verdict, message.reason, message.attempts) == ("done", "quarantined",
                                                                                  "cannot-decrypt", 2)


def test_a_quarantined_message_retried_goes_through_the_same_path(db):
    from tkalert.receiver import quarantine
    from tkalert.receiver.models import Message

    (pk,) = stored_rows(1)
    one = worker(db)
    token, _ = one.claim_batch()
    one.finish(pk, token, Refused("unknown-auth-key", "no contract"))
    assert quarantine.retry(quarantine.quarantined("unknown-auth-key")) == 1
    assert quarantine.retry(quarantine.quarantined("unknown-auth-key")) == 0  # queued once
    assert Message.objects.get(pk=pk).state == "stored"
    token, batch = one.claim_batch()
    assert batch == [pk]


def test_a_message_whose_workers_keep_dying_is_quarantined_not_claimed_forever(db):
    from tkalert.receiver.models import Message
    from tkalert.receiver.work import MAX_ATTEMPTS

    (pk,) = stored_rows(1)
    clock = Clock()
    one = worker(db, clock)
    for _ in range(MAX_ATTEMPTS + 1):  # each claim's worker "dies": the lease runs out
        assert one.claim_batch()[1] == [pk]
        clock.now += timedelta(seconds=db.claim_lease + 1)
    assert one.run_once() == 1
    message = Message.objects.get(pk=pk)
    assert (message.verdict, message.reason) == ("quarantined", "too-many-attempts")


def test_a_claim_skips_its_flush_to_disk_and_leaves_the_connection_synchronous_again(db):
    from django.db import connection

    stored_rows(3)
    seen = []
    with connection.execute_wrapper(lambda execute, sql, *rest: seen.append(sql) or execute(sql, *rest)):
        token, batch = worker(db).claim_batch()
    assert len(batch) == 3
    assert seen[0] == "PRAGMA synchronous = NORMAL" and seen[-1] != "PRAGMA synchronous = NORMAL"
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL, for the verdict's commit


def test_a_batch_judges_a_message_id_it_holds_twice_once_and_the_copy_as_a_duplicate(db):
    """Within one batch (judge.Batch reads earlier ids once): the second copy of an id is a duplicate, and a
    sequence reused by a new id a replay, as one by one."""
    from datetime import timedelta

    from tkalert.receiver.models import Contract, Message
    from tkalert.receiver.open import Opened

    Contract.objects.create(auth_key="0123456789a", created_at=NOW - timedelta(days=1))

    def opened(message_id, sequence):
        return Opened(document_type="alert", legacy=False, auth_key="0123456789a", system_id="web-1",
                      message_id=message_id, sequence=sequence, signed_at=NOW, signer="A" * 40,
                      first_contact_key="key", fields={"host/name": "web01", "service/name": "HTTP",
                                                       "service/status": "CRITICAL"}, events=(), document=b"<a/>")

    ids = stored_rows(4)
    one = worker(db)
    token, batch = one.claim_batch()
    assert batch == ids
    outcomes = list(zip(ids, [opened("m-1", 5), opened("m-1", 5), opened("m-2", 6), opened("m-3", 5)], strict=True))
    assert one.finish_batch(token, outcomes) == 4
    verdicts = [Message.objects.values_list("verdict", "reason").get(pk=pk) for pk in ids]
    assert verdicts == [("accepted", ""), ("duplicate", "duplicate"), ("accepted", ""), ("replay", "replay")]


def test_a_batch_owes_its_repeats_and_still_leaves_every_episode_as_one_by_one(db):
    """A batch writes an episode's repeats once, at its end (judge.Batch.flush): repeats, a late report, a change,
    a recovery and a new episode in one batch leave the episodes exactly as the same messages judged one by one."""
    from tkalert.receiver.models import Contract, Episode, Message
    from tkalert.receiver.open import Opened

    Contract.objects.create(auth_key="0123456789a", created_at=NOW - timedelta(days=1))
    story = [("CRITICAL", 0), ("CRITICAL", 1), ("CRITICAL", 3), ("CRITICAL", 2), ("WARNING", 4), ("WARNING", 5),
             ("WARNING", 6), ("OK", 7), ("CRITICAL", 8), ("CRITICAL", 9), ("CRITICAL", 10)]

    def messages(system_id):
        rows = [Message.objects.create(raw=b"mail", channel="smtp", received_at=NOW + timedelta(minutes=minute))
                for _, minute in story]
        opened = [Opened(document_type="alert", legacy=False, auth_key="0123456789a", system_id=system_id,
                         message_id=f"{system_id}-{n}", sequence=n, signed_at=NOW, signer="", first_contact_key=None,
                         fields={"host/name": "web01", "service/name": "HTTP", "service/status": state,
                                 "service/plugin-output": f"{state} at {minute}"}, events=(), document=b"<a/>")
                  for n, (state, minute) in enumerate(story)]
        return [row.pk for row in rows], opened

    def episodes(system_id):
        return list(Episode.objects.filter(system__system_id=system_id).order_by("id").values_list(
            "state", "repeats", "changes", "updated_at", "output", "closed_at"))

    one = worker(db)
    ids, opened = messages("batched")
    token, claimed = one.claim_batch()
    assert claimed == ids
    assert one.finish_batch(token, list(zip(ids, opened, strict=True))) == len(story)
    ids, opened = messages("alone")
    token, claimed = one.claim_batch()
    assert [one.finish(i, token, o) is not None for i, o in zip(ids, opened, strict=True)] == [True] * len(story)
    assert episodes("batched") == episodes("alone")
    assert [e[:3] for e in episodes("batched")] == [("OK", 4, 1), ("CRITICAL", 2, 0)]
