"""Ledger: every message this machine spooled, read back for `tkalert log` and `tkalert show`.

KBR's promise, "the communication can be inspected at any time": one row per message from the outbox areas
(queued, folded), failed/ (failed, expired) and the archive (sent, folded into a digest). Reading only;
nothing here changes the spool, so it needs no lock and is safe while a flush runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from tkalert.errors import UsageError
from tkalert.sender.spool.entry import Entry
from tkalert.sender.spool.site import Site

MIN_PREFIX = 4


@dataclass(frozen=True)
class LogRecord:
    time: float  # when the message was spooled
    kind: str  # heartbeat | alert | test | report | the digest's kind
    host: str | None
    service: str | None
    alert_state: str | None  # the monitored state (CRITICAL, ...), not the delivery state
    destination: str | None  # the destination of the last attempt
    message_id: str
    state: str  # unsealed | queued | folded | sent | failed | expired
    attempts: int
    next_try: float | None  # queued only
    last_error: str | None
    finished: float | None
    digest_id: str | None  # folded: the digest that carried it
    digest_of: tuple[str, ...]  # a digest: the message ids it accounts for


def read_log(site: Site, states: set[str] | None = None) -> list[LogRecord]:
    """All records, oldest first; `states` keeps only those delivery states."""
    records = [_record(e) for e in _all_entries(site)]
    if states:
        records = [r for r in records if r.state in states]
    return sorted(records, key=lambda r: (r.time, r.message_id))


def find_entry(site: Site, id_prefix: str) -> Entry:
    """The one entry whose message id starts with id_prefix (UUIDs: a few characters usually do)."""
    prefix = id_prefix.strip().lower()
    if len(prefix) < MIN_PREFIX:
        raise UsageError(f"message id prefix {id_prefix!r} is too short: give at least {MIN_PREFIX} characters")
    found: dict[str, Entry] = {}
    for entry in _all_entries(site):
        if entry.message_id.lower().startswith(prefix):
            found.setdefault(entry.message_id, entry)  # outbox before archive: the live copy wins
    if not found:
        raise UsageError(f"no message with id {id_prefix!r} in the spool or the archive (see tkalert log)")
    if len(found) > 1:
        raise UsageError(f"message id {id_prefix!r} is ambiguous: {', '.join(sorted(found))}")
    return next(iter(found.values()))


def _all_entries(site: Site):
    for area in ("unsealed", "outbox", "folded", "failed"):
        yield from site.outbox.entries(area)
    yield from site.archive.entries()


def _record(entry: Entry) -> LogRecord:
    m = entry.message
    return LogRecord(
        time=entry.queued_at, kind=m.document_type, host=m.host, service=m.service, alert_state=m.monitored_state,
        destination=entry.destination, message_id=m.message_id, state=entry.status, attempts=entry.attempts,
        next_try=entry.next_try if entry.status == "queued" else None, last_error=entry.last_error or
        entry.fold_reason, finished=entry.finished_at, digest_id=entry.digest_id, digest_of=entry.digest_of,
    )
