"""Work: imported messages are claimed, opened and judged, each exactly once however many workers run.

The steps, as healthchecks' sendalerts does them, each small and saying whether it did something:
1. `import_stored` moves the store's files into the table (tkalert.receiver.ingest.importer);
2. `claim_batch` takes up to N `stored` rows (or `claimed` rows whose lease ran out: their worker died) with a
   compare-and-set UPDATE that sets this claim's token; only rows still in the expected state change hands, and
   PostgreSQL's `FOR UPDATE SKIP LOCKED` lets workers pass each other instead of queueing;
3. `open_claimed` runs gpg outside any transaction (tkalert.receiver.open), a batch split in one share per core,
   each opened by one thread with ONE gpg run for the whole share (`open_part`, tkalert.openpgp.multifile: gpg's
   start-up cost more than its work on a small alert), so gpg works on every core while the database sees one
   writer per worker; a message that run did not open with certainty is opened alone, as before, so verdicts are
   the same either way. The batch's raw bytes are read in one query beforehand, and the pins open asks for are
   read once per batch (`BatchDirectory`);
4. `finish_batch` confirms each claim (`SELECT ... WHERE id AND state='claimed' AND claim_token FOR UPDATE`: the
   rows still this claim's are locked until the commit and become `done` with their verdicts, one UPDATE for the
   batch; the single path confirms with an UPDATE whose rowcount says who won) and judges it, the whole batch in
   one transaction (one commit, one fsync on SQLite, instead of one per message; tkalert.receiver.judge.Batch
   reads contracts, systems and earlier message ids once per batch): a row another worker took over meanwhile is
   skipped, nothing of this worker's is kept for it. If two workers race to accept the same message id, the
   unique index refuses the second commit: the batch is judged again message by message, and that message
   becomes a duplicate;
5. a key pinned on first contact is imported into the vendor home after the commit (open reads it from there
   for the system's later messages; if this process dies first, the next message that carries the key does it).
The receiver's own trouble while opening (gpg missing, the vendor home unusable, a wrong passphrase: open's
SealError) is not the message's fault: the claim is released, the message stays `stored`, and the worker waits
`TROUBLE_PAUSE` before it tries again, so nothing is quarantined for a fault an admin fixes on our side.
An idle worker looks every `WAKE` seconds whether the store or the table holds work, and starts at once when so.
"""

from __future__ import annotations

import os
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q

from tkalert.errors import SealError, one_line
from tkalert.receiver.config import ReceiverConfig
from tkalert.receiver.judge import Rules, judge
from tkalert.receiver.models import Message

# Messages per claim: what a batch pays once (gpg's start-up per share, the claim, the judging transaction's
# statements and commit) is shared by more messages as it grows. bench/ingest.py on two cores: 20 -> 40 (20 per
# gpg run) took the workers' Python from 2.2-2.7 to 1.9 ms a message; 80 saved 0.1 more but ran slower overall on
# PostgreSQL (the workers' batches wait longer for each other).
CLAIM = 40
OPEN_THREADS = os.cpu_count() or 1
MAX_ATTEMPTS = 10  # claims of one message whose worker died each time: the message itself kills workers
TROUBLE_PAUSE = 30.0
DATABASE_PAUSE = 5.0
WAKE = 0.05


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Batch:
    """One claim: its token and message ids, those claimed too often (poisoned, not opened again) and the opening
    ones (message id, Share: the Future of open_claimed)."""

    token: str
    ids: list[int]
    poisoned: list = field(default_factory=list)
    opening: list = field(default_factory=list)


@dataclass(frozen=True)
class Share:
    """One message's result in the Future of its batch share (Worker.open_part), read as a Future of its own."""

    future: object
    index: int

    def result(self):
        return self.future.result()[self.index]

    def exception(self):
        return self.future.exception()


@dataclass
class Worker:
    config: ReceiverConfig
    clock: callable = utcnow
    log: callable = lambda line: None  # noqa: E731

    def __post_init__(self):
        from tkalert.receiver.directory import OrmDirectory

        self.rules = Rules(self.config.replay_window, self.config.clock_skew)
        from tkalert.receiver.open import Limits

        self.directory = OrmDirectory()
        self.limits = Limits(mail_bytes=self.config.size_limit)
        self._passphrase = self.config.passphrase()
        self.trouble: str | None = None
        self._openers = None
        self._remover = None
        self.ahead: Batch | None = None
        self.workdir = self.opening_dir()

    def opening_dir(self):
        """The private folder where a batch's plaintext lives for a moment (tkalert.openpgp.multifile), emptied of
        what killed workers left; None when it cannot be made: messages are then opened one by one."""
        from tkalert.openpgp.multifile import remove_stale

        workdir = self.config.state_dir / "opening"
        try:
            workdir.mkdir(mode=0o700, exist_ok=True)
            os.chmod(workdir, 0o700)
            remove_stale(workdir)
        except OSError as exc:
            self.log(f"cannot use {workdir} ({exc.strerror}): opening messages one by one")
            return None
        return workdir

    def run_once(self) -> int:
        """Claim one batch (or take the one already opening), open and judge it; how many messages were judged
        (0: nothing to do). While it is judged, the next batch is claimed and opened (`ahead`)."""
        batch, self.ahead = self.ahead or self.start_batch(), None
        if batch is None:
            return 0
        try:
            return self.process_batch(batch)
        except Exception:
            # not judged: back to stored at once rather than after the lease (a dropped connection, a bug)
            self.give_back(batch)
            self.drain()
            raise

    def start_batch(self) -> Batch | None:
        """Import, claim, and hand the claimed messages to the opener threads; None when nothing was claimed."""
        from tkalert.receiver.bulk import select_in
        from tkalert.receiver.directory import BatchDirectory
        from tkalert.receiver.ingest.importer import import_stored

        import_stored(self.config.store_dir, remover=self.remover())
        token, ids = self.claim_batch()
        if not ids:
            return None
        batch = Batch(token, ids)
        try:
            # the raw bytes in binary on PostgreSQL (bulk.select_in): the ORM's text form is twice their size
            rows = {pk: (attempts, raw) for pk, attempts, raw in select_in(
                f"SELECT id, attempts, raw FROM {Message._meta.db_table} WHERE {{where}}", "id", ids)}
        except Exception:
            self.give_back(batch)
            raise
        batch.poisoned = [(i, self.poison(rows[i][0])) for i in ids if i in rows and rows[i][0] > MAX_ATTEMPTS]
        directory = BatchDirectory(self.directory)
        items = [(i, bytes(rows[i][1])) for i in ids if i in rows and rows[i][0] <= MAX_ATTEMPTS]
        for part in (items[n::OPEN_THREADS] for n in range(OPEN_THREADS)):
            if part:
                future = self.openers().submit(self.open_part, part, directory)
                batch.opening += [(i, Share(future, n)) for n, (i, _) in enumerate(part)]
        batch.opening.sort(key=lambda pair: ids.index(pair[0]))
        return batch

    def open_part(self, items: list[tuple[int, bytes]], directory) -> list:
        """open_claimed for each (message id, raw) of a batch's share, their gpg work done by one gpg run
        (open.seal_batch); if that run cannot be made, each message is opened on its own."""
        from tkalert.receiver.open import seal_batch

        raws = [raw for _, raw in items]
        sealed = [None] * len(items)
        if self.workdir is not None and len(items) > 1:
            try:
                sealed = seal_batch(raws, home=self.config.gnupg_home, passphrase=self._passphrase,
                                    workdir=self.workdir, limits=self.limits)
            except Exception as exc:  # noqa: BLE001 - the single path meets the same trouble and answers it
                self.log(f"batch opening failed, opening one by one: {type(exc).__name__}: {one_line(exc)}")
        return [self.open_claimed(i, raw, directory, one) for (i, raw), one in zip(items, sealed, strict=True)]

    def process_batch(self, batch: Batch) -> int:
        """Wait for the batch's messages to be opened, start the next batch, judge this one in one transaction;
        how many were judged."""
        outcomes, first_contact, failed = list(batch.poisoned), False, None
        for message_id, future in batch.opening:
            opened = future.result()
            if isinstance(opened, DatabaseError):
                failed = opened  # an opener thread's connection failed: released, and `run` waits
            elif isinstance(opened, SealError):
                self.trouble = one_line(opened)
            # after a first contact, the rest waits until its key is pinned: they may need it to be opened
            if isinstance(opened, (DatabaseError, SealError)) or failed or self.trouble or first_contact:
                self.release(message_id, batch.token)
            else:
                outcomes.append((message_id, opened))
                first_contact = bool(getattr(opened, "first_contact_key", None))
        if failed:
            raise failed
        if not first_contact and not self.trouble and len(batch.ids) == CLAIM:
            # a full batch: more is likely waiting, and the next opens while this one is judged (not after a first
            # contact: the next may need the key this one pins)
            self.ahead = self.start_batch()
        judged = self.finish_batch(batch.token, outcomes)
        for message_id, opened in outcomes:
            self.import_pinned_key(message_id, opened)
        return judged

    def give_back(self, batch: Batch) -> None:
        """A batch not judged: its opens waited for, its claims released at once rather than after the lease."""
        for _, future in batch.opening:
            future.exception()  # never raises: open_claimed returns every failure
        Message.objects.filter(id__in=batch.ids, state=Message.State.CLAIMED, claim_token=batch.token).update(
            state=Message.State.STORED, claim_token="", claimed_at=None)

    def drain(self) -> None:
        """The batch opening ahead, given back (the worker stops, or the database failed)."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None:
            self.give_back(ahead)

    def openers(self):
        """Threads that open a batch's messages at once: gpg runs outside the GIL, one per core, while the
        database sees one writer per worker (each thread reads with its own connection)."""
        if self._openers is None:
            from concurrent.futures import ThreadPoolExecutor

            self._openers = ThreadPoolExecutor(OPEN_THREADS, thread_name_prefix="open")
        return self._openers

    def remover(self):
        """The thread that removes imported files from the store (tkalert.receiver.ingest.importer)."""
        if self._remover is None:
            from concurrent.futures import ThreadPoolExecutor

            self._remover = ThreadPoolExecutor(1, thread_name_prefix="remove")
        return self._remover

    def run(self, stop=lambda: False, idle: float = 0.5, once: bool = False) -> int:
        """Batches until `stop()` (or, `once`, until nothing is left); how many messages were judged. A database
        that goes away (PostgreSQL restarted, SQLite locked past its timeout) is waited for, not a crash."""
        from django.db import InterfaceError, OperationalError, connections

        done = 0
        while not stop():
            self.trouble = None
            try:
                judged = self.run_once()
            except (OperationalError, InterfaceError) as exc:
                if once:
                    raise
                self.log(f"database trouble, trying again in {DATABASE_PAUSE:g} s: {one_line(exc)}")
                connections.close_all()
                self._pause(DATABASE_PAUSE, stop)
                continue
            done += judged
            if self.trouble:
                self.log(f"cannot open messages, trying again in {TROUBLE_PAUSE:g} s: {self.trouble}")
            if once and not judged:
                break
            if self.trouble:
                self._pause(TROUBLE_PAUSE, stop)
            elif not judged:
                self._pause(idle, stop, wake=self.work_waiting)
        try:
            self.drain()
        except DatabaseError:
            pass  # its claims run out with their lease
        return done

    def _pause(self, seconds: float, stop, wake=lambda: False) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until and not stop():
            time.sleep(min(WAKE, seconds))
            if wake():
                return

    def work_waiting(self) -> bool:
        """A file in the store's new/, or a `stored` row (another worker imported it, a retry): cheap enough to
        ask every WAKE seconds (one directory entry, one indexed row)."""
        try:
            with os.scandir(self.config.store_dir / "new") as entries:
                if next(entries, None) is not None:
                    return True
        except FileNotFoundError:
            pass
        try:
            return Message.objects.filter(state=Message.State.STORED).exists()
        except DatabaseError:
            return True  # run_once meets it again, and `run` waits for the database

    def claim_batch(self, size: int = CLAIM) -> tuple[str, list[int]]:
        token, now = secrets.token_hex(16), self.clock()
        claimable = Q(state=Message.State.STORED) | Q(
            state=Message.State.CLAIMED, claimed_at__lt=now - timedelta(seconds=self.config.claim_lease))
        with relaxed_commit(), transaction.atomic():
            ids = list(Message.objects.select_for_update(skip_locked=True).filter(claimable)
                       .order_by("id").values_list("id", flat=True)[:size])
            Message.objects.filter(claimable, id__in=ids).update(
                state=Message.State.CLAIMED, claim_token=token, claimed_at=now, attempts=F("attempts") + 1)
        return token, list(Message.objects.filter(claim_token=token, state=Message.State.CLAIMED)
                           .order_by("id").values_list("id", flat=True))

    def open_claimed(self, message_id: int, raw: bytes, directory=None, sealed=None):
        """Opened or Refused; the receiver's own trouble (open's SealError) or the DatabaseError of this thread's
        connection (closed, for a new one next time) returned for the caller to act on. `sealed`: what a batch's
        gpg run made of `raw` (open.seal_batch)."""
        from django.db import connection

        from tkalert.receiver.open import Refused, open_message

        if isinstance(sealed, Refused):
            return sealed
        try:
            return open_message(raw, home=self.config.gnupg_home, passphrase=self._passphrase,
                                directory=directory or self.directory, limits=self.limits, sealed=sealed)
        except Refused as refused:
            return refused
        except DatabaseError as exc:
            connection.close()
            return exc
        except SealError as exc:
            return exc
        except Exception as exc:  # a bug: quarantined (retryable once fixed), never a dead worker
            self.log(f"message #{message_id}: cannot open: {type(exc).__name__}: {one_line(exc)}")
            return Refused("open-failed", f"{type(exc).__name__}: {one_line(exc)}")

    @staticmethod
    def poison(attempts: int):
        from tkalert.receiver.open import Refused

        return Refused("too-many-attempts", f"claimed {attempts} times, each time its worker died before judging it "
                                            "(see the workers' log; quarantine retry once fixed)")

    def release(self, message_id: int, token: str) -> None:
        Message.objects.filter(id=message_id, state=Message.State.CLAIMED, claim_token=token).update(
            state=Message.State.STORED, claim_token="", claimed_at=None)

    def import_pinned_key(self, message_id: int, opened) -> None:
        """After a first contact was pinned: the key into the vendor home (open.trust_key), for later messages."""
        from tkalert.receiver.models import System
        from tkalert.receiver.open import trust_key

        key = getattr(opened, "first_contact_key", None)
        if key and System.objects.filter(pinned_key__iexact=opened.signer, public_key=key).exists():
            try:
                trust_key(self.config.gnupg_home, key)
            except SealError as exc:
                self.log(f"message #{message_id}: pinned key not imported yet: {one_line(exc)}")

    def finish_batch(self, token: str, outcomes: list) -> int:
        """Judge every (message id, opened) of one claim in one transaction; how many were judged."""
        if not outcomes:
            return 0
        try:
            with transaction.atomic():
                judged = self.judge_batch(token, outcomes)
        except IntegrityError:  # a racing worker accepted one of these ids first: one by one, once more each
            judged = [self.finish(message_id, token, opened) for message_id, opened in outcomes]
        for message in filter(None, judged):
            self.log(f"message #{message.pk} {message.message_id or '-'}: {message.verdict}"
                     + (f" ({message.reason})" if message.reason else ""))
        return sum(1 for message in judged if message)

    def finish(self, message_id: int, token: str, opened) -> Message | None:
        """Confirm one claim and judge in one transaction; None when the claim was lost to another worker."""
        for _ in range(2):  # a second time when a racing worker accepted the same message id first
            try:
                with transaction.atomic():
                    return self.judge_claimed(message_id, token, opened)
            except IntegrityError:
                continue
        return None

    def judge_batch(self, token: str, outcomes: list) -> list[Message | None]:
        """Inside a transaction: confirm the batch's claims at once (the rows still ours are locked until the
        commit; they become done with their verdicts), then judge each; None for a row another worker took over."""
        from tkalert.receiver.judge import Batch

        ids = [message_id for message_id, _ in outcomes]
        mine = Message.objects.select_for_update().filter(id__in=ids, state=Message.State.CLAIMED,
                                                          claim_token=token)
        won = set(mine.values_list("id", flat=True))
        rows, now = Message.objects.defer("raw").in_bulk(won), self.clock()
        for row in rows.values():  # written with the verdict (judge.save_judged): one new row version, not two
            row.state, row.processed_at = Message.State.DONE, now
        batch = Batch()
        ours = [opened for message_id, opened in outcomes if message_id in won]
        batch.load_accepted(message_id for opened in ours for message_id in _message_ids(opened))
        batch.load_sequences(pair for opened in ours for pair in _sequences(opened))
        judged = [self.act(judge(rows[message_id], opened, self.rules, batch=batch), batch)
                  if message_id in won else None for message_id, opened in outcomes]
        batch.flush()
        return judged

    def judge_claimed(self, message_id: int, token: str, opened) -> Message | None:
        """Inside a transaction: the compare-and-set that confirms the claim, then the judge."""
        won = Message.objects.filter(id=message_id, state=Message.State.CLAIMED, claim_token=token).update(
            state=Message.State.DONE, processed_at=self.clock())
        if not won:
            return None
        return self.act(judge(Message.objects.defer("raw").get(pk=message_id), opened, self.rules))

    def act(self, judged: Message, batch=None) -> Message:
        """What the verdict changes (tkalert.receiver.act), in the same transaction: the verdict and its effects,
        or neither."""
        from tkalert.receiver.act import act_on_verdict

        act_on_verdict(judged, self.config, batch)
        return judged


def _message_ids(opened):
    """The message ids an Opened carries: its own and its digest's events' (none for a Refused)."""
    if isinstance(opened, Exception):
        return
    yield opened.message_id
    for event in opened.events:
        yield from _message_ids(event)


def _sequences(opened):
    """The (system id, sequence) pairs an Opened carries: its own and its digest's events' (none for a Refused)."""
    if isinstance(opened, Exception):
        return
    yield opened.system_id, opened.sequence
    for event in opened.events:
        yield from _sequences(event)


@contextmanager
def relaxed_commit():
    """A claim's commit need not survive a power cut: a claim lost with it is claimable again, and the judging
    transaction's own commit (synchronous, as everything else) makes the claim durable with the verdict. So the
    claim skips its flush to disk: SQLite's synchronous=NORMAL (WAL stays consistent), PostgreSQL's
    synchronous_commit off; both set back for what follows."""
    from django.db import connection

    relax, back = {"sqlite": ("PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL"),
                   "postgresql": ("SET synchronous_commit TO OFF", "RESET synchronous_commit")}.get(
        connection.vendor, (None, None))
    if relax is None:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(relax)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(back)
