"""What the open step hands the judge: an `Opened` message, or `Refused` with a stable reason; and the `Directory`
(pins and legacy contracts) it asks while opening. Plain Python, no Django: the worker and the tests share it.

`Opened.fields` flattens a document to "element" / "block/element" keys ("authkey", "contact-name", "host/name",
"service/status", "message-id"; "@version" for the root's version attribute); a digest's embedded events are not
in its fields but each in `events`, an `Opened` of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Refused(Exception):
    """The message is not accepted; `reason` is a short stable code (the quarantine reason), `detail` one line."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Directory(Protocol):
    """Implemented by the store over the ORM; tests use a dict-backed one (tests/cast/hostile.py)."""

    def pinned_key(self, system_id: str) -> str | None: ...  # fingerprint pinned for that system id, or None

    def legacy_allowed(self, auth_key: str) -> bool: ...  # is the contract of that auth key marked legacy?


@dataclass(frozen=True)
class Opened:
    document_type: str  # "heartbeat" | "test" | "alert" | "digest" | "report": the root element
    legacy: bool  # a TKalert 1.5 document (inline armored, unsigned, no stamp)
    auth_key: str
    system_id: str | None  # None for legacy
    message_id: str | None  # None for legacy
    sequence: int | None
    signed_at: datetime | None  # the document's own timestamp (UTC-aware); legacy: its parsed <date>
    signer: str | None  # fingerprint of the verified signer; None for legacy
    first_contact_key: str | None  # armored key the sender attached, when it is the signer's and nothing was pinned
    fields: dict[str, str]
    # a digest's embedded events, each opened on its own (same signer and first_contact_key); () otherwise
    events: tuple[Opened, ...]
    document: bytes  # the verified XML plaintext (an embedded event: its own element, serialised)


def fields_of(root) -> dict[str, str]:
    """The document's leaves as flat keys; a digest's <events> are left to `events`."""
    found = {"@version": root.get("version", "")}
    for child in _elements(root):
        if child.tag == "events":
            continue
        leaves = list(_elements(child))
        if not leaves:
            found[child.tag] = child.text or ""
        for leaf in leaves:
            found[f"{child.tag}/{leaf.tag}"] = leaf.text or ""
    return found


def utc(text: str) -> datetime:
    """tkalert.xsd's UtcTime (2026-12-03T09:30:00Z) as an aware datetime; XML Schema's 24:00:00 is the next
    day's midnight. ValueError or OverflowError when Python cannot hold it (9999-12-31T24:00:00Z)."""
    if text.endswith("T24:00:00Z"):
        return datetime.strptime(text[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc) + timedelta(days=1)
    if CANONICAL.fullmatch(text):  # what every sender writes, read without strptime's cost (a tenth)
        return datetime(int(text[:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]),
                        int(text[17:19]), tzinfo=timezone.utc)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", re.ASCII)


def _elements(parent):
    return (child for child in parent if isinstance(child.tag, str))  # comments and PIs are not fields
