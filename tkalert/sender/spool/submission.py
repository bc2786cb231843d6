"""Submission: what the notification hook calls once per event — spool first, then at most one quick flush.

Takes a `SealedMessage` from seal and returns a `SubmitResult` to the hook (tkalert.sender.pipeline). The order is
the guarantee: the entry is on disk (temp file, fsync, rename) in its final area before any network is touched, and
from then on nothing is raised: whatever goes wrong later (a full disk while recording, a bug in a transport), the
message is kept and retried, so a caller that retries on failure could only send a duplicate. Only a failure to
write the entry itself raises (the caller answers EX_TEMPFAIL).

Then one flush, within `[spool] hook_budget` seconds in all, so the hook returns well inside the caller's timeout
(Nagios 30 s, Zabbix 40 s, Icinga 2 60 s) even when the server hangs: when another process holds the flush lock,
submit waits until that process has sent this message or lets go of the lock; it then reads what became of the
message from the spool itself (sent, failed, queued with its last error). Whatever is left is delivered by the
timer's `tkalert flush`.

When a resident flusher listens (`tkalert flusher`, socket-activated under systemd), the hook hands the flush to it
instead (tkalert.sender.spool.handoff) and waits, within the same budget, for its word; it flushes itself as above
when none answers.
"""

from __future__ import annotations

import os
import time
from _collections_abc import Callable  # collections.abc without the collections package (hook path)

from tkalert.record import Record
from tkalert.sender.message import SealedMessage
from tkalert.sender.spool.entry import new_entry
from tkalert.sender.spool.handoff import TAKEN, hand_over
from tkalert.sender.spool.journal import note
from tkalert.sender.spool.site import Site, open_site
from tkalert.sender.spool.storm import StormControl, Verdict

STOP_MARGIN = 3.0  # seconds of the hook budget kept for the message on the wire when the flusher's deadline comes
POLL = 0.05  # seconds between two looks at the lock and at this message's place while another process flushes
FLUSHED = "flushed"  # the resident flusher's answer after a flush that saw the entry (tkalert.sender.spool.resident)
STATES = ("sent", "queued", "folded", "failed", "skipped", "handed")
CATEGORY_OF = {"heartbeat": "heartbeat", "alert": "alerts", "report": "report"}


class SubmitResult(Record):
    state: str  # sent | queued | folded | failed | skipped (category switched off in [categories]) | handed
    message_id: str
    reason: str | None = None

    @property
    def accepted(self) -> bool:
        """The message is safe: sent, or on disk for a later flush/digest, or deliberately not wanted."""
        return self.state != "failed"


def submit(message: SealedMessage, settings, *, clock: Callable[[], float] = time.time,
           make_digest: Callable | None, override_to: str | None = None, answer_needed: bool = True) -> SubmitResult:
    """make_digest: a tkalert.sender.spool.folding.MakeDigest, used only when the hook flushes itself.

    answer_needed=False (the plain hook, no --check): with `[spool] flusher_wait = check` (default), return once the
    resident flusher took the message ("handed") instead of waiting for its delivery."""
    give_up = time.monotonic()  # plus the budget: it bounds the whole call, storm lock and spool write included
    site = open_site(settings)
    give_up += site.policy.spool.hook_budget
    if not site.policy.categories.allows(message.document_type):
        category = CATEGORY_OF.get(message.document_type, message.document_type)
        return SubmitResult("skipped", message.message_id, f"{category} is switched off in [categories]")
    if os.path.exists(site.archive.path(message.message_id)):
        return SubmitResult("sent", message.message_id, "already delivered earlier (see tkalert log)")
    verdict = spool_message(site, message, clock(), override_to)
    if verdict is None:
        return SubmitResult("queued", message.message_id, "already spooled")
    note(settings, "folded" if verdict.fold else "queued", message, verdict.reason if verdict.fold else None)
    if verdict.fold:
        return SubmitResult("folded", message.message_id, verdict.reason)
    try:
        wait = answer_needed or site.policy.spool.flusher_wait == "always"
        answer = hand_over(site.policy.spool.flusher_socket, message.message_id, give_up, wait)
        if answer == TAKEN and not wait:
            return SubmitResult("handed", message.message_id, "handed to the resident flusher, which sends it now")
        if answer is not None:  # the resident flusher flushed with this entry on disk: read what became of it
            return where_is(site, message.message_id, *([] if answer == FLUSHED else [answer]))
        return flush_once(site, settings, message.message_id, clock, make_digest, give_up)
    except Exception as exc:  # the entry is durable: report, never raise (a retry by the caller duplicates)
        from tkalert.errors import one_line

        return SubmitResult("queued", message.message_id,
                            f"kept in the spool; this delivery attempt failed: {one_line(exc) or type(exc).__name__}")


def spool_message(site: Site, message: SealedMessage, now: float, override_to: str | None = None) -> Verdict | None:
    """Durably place the message in outbox/ or folded/; None if this message id is spooled already.

    Storm control judges first and the entry is then written once, straight into the area the verdict names. An
    entry written first and moved or rewritten after the verdict leaves a moment in which a flusher can fold it
    into a digest and the rewrite bring it back for a second one (measured: 55 of 1,000 storm events twice)."""
    if site.outbox.locate(message.message_id):
        return None
    verdict = StormControl(site.outbox.root, site.policy.storm).judge(message, now)
    extra = {"fold_reason": verdict.reason} if verdict.fold else {}
    entry = new_entry(message, now, "folded" if verdict.fold else "queued", override_to=override_to, **extra)
    return verdict if site.outbox.add(entry) else None


def flush_once(site: Site, settings, message_id: str, clock, make_digest, give_up: float) -> SubmitResult:
    from tkalert.deadline import StillRunning, call_within  # only when the hook flushes itself
    from tkalert.sender.spool.lock import FileLock

    budget = site.policy.spool.hook_budget
    lock = FileLock(site.outbox.lock_path("flush"))
    while not lock.try_acquire():  # another process is delivering: it may well send this message too
        if site.outbox.locate(message_id) != "outbox":
            return where_is(site, message_id)
        if time.monotonic() + POLL >= give_up:
            return where_is(site, message_id, "another tkalert process is delivering; it sends this one too")
        time.sleep(POLL)
    left = give_up - time.monotonic()
    if left <= 0:  # the storm lock and the spool write used the whole budget
        lock.release()
        return where_is(site, message_id, f"no time left within {budget:g}s; `tkalert flush` sends it")
    try:
        call_within(left, lambda: _flush_holding(lock, site, settings, clock, make_digest, left), "tkalert-flush")
    except StillRunning:
        return where_is(site, message_id, f"delivery still running after {budget:g}s; `tkalert flush` finishes it")
    return where_is(site, message_id)


def _flush_holding(lock, site: Site, settings, clock, make_digest, left: float):
    from tkalert.sender.spool.flusher import Flusher

    try:
        # The flusher stops between two messages at its deadline; the margin lets the message on the wire finish
        # before submit stops waiting, so a hook rarely exits in the middle of a send (which resends it later).
        deadline = time.monotonic() + max(left - STOP_MARGIN, left / 2)
        return Flusher(settings, site.policy, site.outbox, site.archive, clock, make_digest, deadline).run()
    finally:
        lock.release()


def where_is(site: Site, message_id: str, waiting: str = "queued for the next flush") -> SubmitResult:
    """What became of a message, read from the spool itself (whoever flushed it)."""
    record = site.archive.load(message_id)
    if record is not None:
        return SubmitResult("folded" if record.status == "folded" else "sent", message_id)
    area = site.outbox.locate(message_id)
    entry = site.outbox.load(area, message_id) if area else None
    if area == "failed" and entry is not None:
        return SubmitResult("failed", message_id, entry.last_error or entry.status)
    if area == "folded":
        return SubmitResult("folded", message_id, entry.fold_reason if entry else None)
    if entry is not None and entry.last_error:
        return SubmitResult("queued", message_id, entry.last_error)
    return SubmitResult("queued", message_id, waiting)
