"""Flusher: deliver what is due, many messages over one connection, and record every outcome.

Runs under the flush lock (so no two flushers send the same entry), from `tkalert flush` (timer/cron) or
opportunistically from submit. One run repeats rounds until a scan of the outbox finds nothing due, so an entry
queued while a round was on the wire is not stranded. A round:

1. expire   — entries older than `[spool] max_age` move to failed/ as expired, with their last error;
2. fold     — folded alerts of every finished interval become one digest entry in outbox/;
3. deliver  — due entries (oldest first, up to batch_size) go to `deliver_batch` in one call;
4. record   — sent: archive record first, then remove from outbox/ (a kill -9 in between: the next run finds the
              record and only removes the copy); permanent failure: failed/ with the reason; temporary: attempts,
              back-off and last error written back to the entry.

After the rounds, housekeeping (archive pruning, the storm memory sweep) runs at most once per HOUSEKEEPING_EVERY,
decided by the mtime of spool/prune.stamp on the injected clock: both list a directory that grows with history,
and the work each hook does must not.
"""

from __future__ import annotations

import os
import time
from _collections_abc import Callable  # collections.abc without the collections package (hook path)

from tkalert.errors import TkalertError
from tkalert.sender.spool.archive import Archive
from tkalert.sender.spool.disk import FILE_MODE, unlink
from tkalert.sender.spool.folding import MakeDigest, ripe_groups
from tkalert.sender.spool.journal import note
from tkalert.sender.spool.entry import Entry, new_entry
from tkalert.sender.spool.outbox import Outbox
from tkalert.sender.spool.policy import Policy, describe
from tkalert.sender.spool.storm import StormControl

HOUSEKEEPING_EVERY = 3600.0  # seconds between two archive prunes / storm sweeps of one spool
STAMP = "prune.stamp"


class BudgetSpent(Exception):
    """Raised from the outcome callback once the time budget is used up: it ends a batch between two messages,
    with every outcome so far recorded, instead of the caller abandoning the flush in the middle of one."""


class FlushReport:
    """What one flush did; filled in as it goes (a plain class: no dataclass is built when the hook imports it)."""

    def __init__(self, busy: bool = False, complete: bool = True):
        self.sent: list[str] = []
        self.deferred: dict[str, str] = {}  # message id -> last error; tried again later
        self.failed: dict[str, str] = {}  # message id -> reason; now in failed/
        self.expired: dict[str, str] = {}  # message id -> reason; now in failed/
        self.digests: dict[str, tuple[str, ...]] = {}  # digest id -> folded message ids
        self.released: list[str] = []  # folded, sent one by one (no digest builder)
        self.recovered: list[str] = []  # duplicates of finished entries left by a crash
        self.busy = busy  # another process held the flush lock
        self.complete = complete  # False: the time budget ran out with work left

    def summary(self) -> str:
        if self.busy:
            return "another tkalert process is flushing; it sends what is due"
        parts = [f"sent {len(self.sent)}", f"deferred {len(self.deferred)}", f"failed {len(self.failed)}",
                 f"expired {len(self.expired)}", f"digests {len(self.digests)}"]
        return ", ".join(parts) + ("" if self.complete else " (time budget used up; the rest waits)")


class Flusher:
    def __init__(self, settings, policy: Policy, outbox: Outbox, archive: Archive, clock: Callable[[], float],
                 make_digest: MakeDigest | None, deadline: float | None = None, ignore_backoff: bool = False,
                 housekeeping: bool | None = None, on_recorded: Callable[[str], None] | None = None):
        self.settings = settings
        self.on_recorded = on_recorded  # called with a message id once its outcome is in the spool (the resident)
        self.housekeeping = housekeeping  # None: when the stamp says it is due; True: now; False: not at all
        self.ignore_backoff = ignore_backoff  # `tkalert flush --now`: the admin fixed the cause, try everything
        self.policy = policy
        self.outbox = outbox
        self.archive = archive
        self.clock = clock
        self.make_digest = make_digest
        self.deadline = deadline  # time.monotonic() value; real time, not the injected clock
        self.report = FlushReport()
        self._read_once: dict[str, Entry] = {}  # outbox entries read in this flush and not yet attempted

    def run(self) -> FlushReport:
        self.outbox.sweep_tmp()
        self.expire_old(self.clock())
        attempted: set[str] = set()
        while True:
            self.fold_ripe(self.clock())
            due = self.due_entries(self.clock(), attempted)
            if not due:
                break
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.report.complete = False
                break
            attempted.update(e.message_id for e in due)
            self.deliver(due)
            if not self.report.complete:
                break
        self.keep_house(self.clock())
        return self.report

    def keep_house(self, now: float) -> None:
        """Prune the archive and sweep the storm memory, at most once an hour unless forced (both only free space:
        nothing reads an expired record or memory, so running them late changes no outcome)."""
        stamp = os.path.join(self.outbox.root, STAMP)
        if self.housekeeping is False or (self.housekeeping is None and not housekeeping_due(stamp, now)):
            return
        # first: a prune that breaks is not retried per event
        set_stamp(stamp, os.path.join(self.outbox.root, "tmp"), now)
        self.archive.prune(now)
        StormControl(self.outbox.root, self.policy.storm).sweep(now)

    def expire_old(self, now: float) -> None:
        max_age = self.policy.spool.max_age
        for area in ("outbox", "folded"):
            for entry in self.outbox.entries(area):
                if now - entry.queued_at >= max_age:
                    reason = (f"expired: not delivered within {describe(max_age)} ({entry.attempts} attempts); "
                              f"last error: {entry.last_error or 'none'}")
                    self.to_failed(entry.with_status("expired", last_error=reason, finished_at=now), area)
                    self.report.expired[entry.message_id] = reason
                    note(self.settings, "expired", entry.message, reason)

    def fold_ripe(self, now: float) -> None:
        folded = list(self.outbox.entries("folded"))
        if not folded:  # the usual case: no need to read the whole outbox for digests
            return
        carried = {i: e.message_id for e in self.outbox.entries("outbox") for i in e.digest_of}
        folded = [e for e in folded if not self.finished_before(e, "folded")]
        self.carried_already([e for e in folded if e.message_id in carried], carried, now)
        folded = [e for e in folded if e.message_id not in carried]
        for group in ripe_groups(folded, now, self.policy.storm):
            if self.make_digest is None:
                self.release(group)
            else:
                self.fold_into_digest(group, now)

    def carried_already(self, leftovers: list[Entry], carried: dict[str, str], now: float) -> None:
        """A flusher stopped between queuing a digest and clearing folded/ (a hook whose budget ran out exits with
        its flush thread; kill -9) leaves alerts the queued digest already carries: finish its work, don't fold
        them into a second digest (measured: 162 of 1,000 storm events twice before this check)."""
        by_digest: dict[str, list[Entry]] = {}
        for entry in leftovers:
            by_digest.setdefault(carried[entry.message_id], []).append(entry)
        for digest_id, entries in by_digest.items():
            self.archive.record_folded(digest_id, entries, now)
            for entry in entries:
                self.outbox.remove(entry.message_id, "folded")
                self.report.recovered.append(entry.message_id)

    def release(self, group: list[Entry]) -> None:
        for entry in group:
            if self.outbox.move(entry.message_id, "folded", "outbox"):
                self.report.released.append(entry.message_id)

    def fold_into_digest(self, group: list[Entry], now: float) -> None:
        try:
            digest = self.make_digest([e.message for e in group])
        except TkalertError as exc:
            for entry in group:
                self.outbox.save(entry.with_status("folded", last_error=f"digest not built: {exc}"))
            return
        ids = tuple(e.message_id for e in group)
        # The digest is queued durably before the folded entries leave folded/: a crash makes a second digest
        # for the same alerts at worst, never none.
        targets = {e.override_to for e in group}
        override_to = targets.pop() if len(targets) == 1 else None
        self.outbox.add(new_entry(digest, now, status="queued", digest_of=ids, override_to=override_to))
        # One archive file for all of them (three fsyncs, not two per alert), durable before any leaves folded/.
        self.archive.record_folded(digest.message_id, group, now)
        for entry in group:
            self.outbox.remove(entry.message_id, "folded")
        self.report.digests[digest.message_id] = ids

    def due_entries(self, now: float, attempted: set[str]) -> list[Entry]:
        """The next batch. Each entry is read (and checked against the archive) once per flush, not once per batch:
        while this process holds the flush lock nobody else rewrites outbox/, others only add to it (a flush of
        1,000 entries read 6,500 files before)."""
        due = []
        for path in self.outbox.files("outbox"):
            message_id = os.path.basename(path)[: -len(".json")]
            if message_id in attempted:
                continue
            entry = self._read_once.get(message_id)
            if entry is None:
                entry = self.outbox.load("outbox", message_id)
                if entry is None or self.finished_before(entry, "outbox"):
                    continue
                self._read_once[message_id] = entry
            if entry.next_try <= now or self.ignore_backoff:
                due.append(entry)
        due.sort(key=lambda e: (e.queued_at, e.message_id))
        return due[: self.policy.spool.batch_size]

    def finished_before(self, entry: Entry, area: str) -> bool:
        """A crash between recording an outcome and removing the source leaves a copy: remove it, don't resend."""
        failed = self.outbox.load("failed", entry.message_id)
        if self.archive.holds(entry) or (failed is not None and failed.queued_at == entry.queued_at):
            self.outbox.remove(entry.message_id, area)
            self.report.recovered.append(entry.message_id)
            return True
        return False

    def deliver(self, due: list[Entry]) -> None:
        for override_to in sorted({e.override_to for e in due}, key=lambda a: a or ""):
            batch = {e.message_id: e for e in due if e.override_to == override_to}
            try:
                self.deliver_isolated(batch, override_to)
            except BudgetSpent:
                self.report.complete = False
                return

    def deliver_isolated(self, batch: dict[str, Entry], override_to: str | None) -> None:
        """Deliver a batch; when it breaks in a way no transport turned into an outcome (a bug, a message that
        cannot be composed), try its undecided entries one by one, and move the one that breaks alone to failed/
        with the reason: one poison entry must not block the queue behind it."""
        from tkalert.sender.deliver import deliver_batch  # imported only when something is due
        from tkalert.errors import ConfigError, one_line

        decided: set[str] = set()

        def on_outcome(outcome) -> None:
            decided.add(outcome.message_id)
            self.record(batch[outcome.message_id], outcome)

        try:
            # Each outcome is recorded the moment it is known, not when the batch ends (see deliver_batch).
            deliver_batch([e.message for e in batch.values()], self.settings, override_to, on_outcome=on_outcome,
                          deadline=self.deadline)
        except (BudgetSpent, ConfigError):
            raise
        except Exception as exc:
            left = {i: e for i, e in batch.items() if i not in decided}
            if not left:  # every message had its outcome: recording it broke (a full disk), not a message
                raise
            if len(left) > 1:
                for message_id, entry in left.items():
                    self.deliver_isolated({message_id: entry}, override_to)
            elif left:
                entry = next(iter(left.values()))
                reason = f"cannot be delivered: {type(exc).__name__}: {one_line(exc)}"
                self.to_failed(entry.with_status("failed", finished_at=self.clock(), last_error=reason))
                self.report.failed[entry.message_id] = reason
                note(self.settings, "failed", entry.message, reason)

    def record(self, entry: Entry, outcome) -> None:
        now = self.clock()
        tried = dict(attempts=entry.attempts + 1, destination=outcome.destination)
        if outcome.delivered:
            self.archive.record(entry.with_status("sent", finished_at=now, last_error=None, **tried))
            self.outbox.remove(entry.message_id, "outbox")
            self.report.sent.append(entry.message_id)
            note(self.settings, "sent", entry.message, f"via {outcome.destination}")
        elif outcome.permanent:
            self.to_failed(entry.with_status("failed", finished_at=now, last_error=outcome.error, **tried))
            self.report.failed[entry.message_id] = outcome.error or "refused"
            note(self.settings, "failed", entry.message, outcome.error)
        else:
            from tkalert.sender.spool.backoff import next_try  # only on a failure: the hook's module list is its cost

            retry = next_try(now, entry.attempts + 1, self.policy.spool)
            self.outbox.save(entry.with_status("queued", next_try=retry, last_error=outcome.error, **tried))
            self.report.deferred[entry.message_id] = outcome.error or "not delivered"
            note(self.settings, "deferred", entry.message, outcome.error)
        if self.on_recorded is not None:  # archived, in failed/ or back in outbox/ with its error: where_is says so
            self.on_recorded(entry.message_id)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise BudgetSpent

    def to_failed(self, entry: Entry, source: str = "outbox") -> None:
        self.outbox.save(entry, area="failed")
        self.outbox.remove(entry.message_id, source)


def housekeeping_due(stamp: str, now: float, every: float = HOUSEKEEPING_EVERY) -> bool:
    """True when the stamp is missing or older than `every` (or further than that ahead: the clock was set back)."""
    try:
        age = now - os.stat(stamp).st_mtime
    except FileNotFoundError:
        return True
    return not -every < age < every


def set_stamp(stamp: str, tmp_dir: str, now: float) -> None:
    """Create or renew the stamp atomically, its mtime `now` (not durable: a lost stamp costs one early prune)."""
    tmp = os.path.join(tmp_dir, f"{os.path.basename(stamp)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    try:
        os.utime(tmp, (now, now))
        os.replace(tmp, stamp)
    finally:
        unlink(tmp)


def flush(settings, *, make_digest: MakeDigest | None, clock: Callable[[], float] = time.time,
          wait: float | None = 0, budget: float | None = None, ignore_backoff: bool = False,
          housekeeping: bool | None = None, on_recorded: Callable[[str], None] | None = None) -> FlushReport:
    """Deliver everything due. wait: seconds to wait for the flush lock (0: don't, None: for ever);
    budget: seconds of real time after which no new message starts; ignore_backoff: everything queued is due;
    housekeeping: prune the archive and sweep the storm memory (None: if an hour has passed since the last time);
    on_recorded: told each message id whose outcome (sent, deferred, failed) was just recorded in the spool."""
    from tkalert.sender.spool.lock import FileLock
    from tkalert.sender.spool.site import open_site

    site = open_site(settings)
    lock = FileLock(site.outbox.lock_path("flush"))
    if not (lock.try_acquire() if wait == 0 else lock.acquire(wait)):
        return FlushReport(busy=True)
    try:
        deadline = None if budget is None else time.monotonic() + budget
        return Flusher(settings, site.policy, site.outbox, site.archive, clock, make_digest, deadline,
                       ignore_backoff, housekeeping, on_recorded).run()
    finally:
        lock.release()


def retry_failed(settings, message_ids: list[str] | None = None, *, clock: Callable[[], float] = time.time,
                 wait: float | None = 30) -> list[str]:
    """Put failed/expired entries back into the outbox, due now, with a fresh max_age (the admin has seen them)."""
    from tkalert.sender.spool.lock import FileLock
    from tkalert.sender.spool.site import open_site

    site = open_site(settings)
    lock = FileLock(site.outbox.lock_path("flush"))
    if not lock.acquire(wait):
        return []
    try:
        now, moved = clock(), []
        for entry in site.outbox.entries("failed"):
            if message_ids is None or entry.message_id in message_ids:
                fresh = entry.with_status("queued", queued_at=now, next_try=now, attempts=0, finished_at=None)
                site.outbox.save(fresh)
                site.outbox.remove(entry.message_id, "failed")
                moved.append(entry.message_id)
        return moved
    finally:
        lock.release()
