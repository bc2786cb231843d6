"""Quarantine: messages a cause kept out (unknown auth key, unpinned key, bad document...), listed and retried.

A retry puts the message back to `stored` with its verdict cleared, through a compare-and-set so a message being
retried twice at once is queued once; the workers then take it through the same open and judge as new mail, so a
contract added or a key trusted since decides differently. Drop deletes it (raw bytes and all).
"""

from __future__ import annotations

from tkalert.receiver.models import Message

QUARANTINED = Message.Verdict.QUARANTINED


def quarantined(reason: str | None = None):
    found = Message.objects.filter(verdict=QUARANTINED, state=Message.State.DONE)
    return found.filter(reason=reason) if reason else found


def retry(queryset) -> int:
    """Queue the quarantined messages of `queryset` again; how many were queued."""
    return queryset.filter(verdict=QUARANTINED, state=Message.State.DONE).update(
        state=Message.State.STORED, verdict="", reason="", detail="", claim_token="", claimed_at=None,
        processed_at=None, attempts=0)


def drop(queryset) -> int:
    deleted, _ = queryset.filter(verdict=QUARANTINED).delete()
    return deleted
