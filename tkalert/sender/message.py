"""The sealed message: what seal hands to spool, and spool to deliver.

It carries the armored OpenPGP payload plus the few plaintext facts the sending side needs to account for it
(message id, type, host, service, state). Those facts never leave the machine in clear: transports put only the
message id in a header.
"""

from __future__ import annotations

from tkalert.record import Record


class Facts(Record):
    """What the spool and the transports may know of a document without opening it (never sent in clear)."""

    document_type: str  # heartbeat | alert | test | digest | report: the document's root element
    host: str | None = None
    service: str | None = None
    monitored_state: str | None = None  # CRITICAL, DOWN, ...: not the delivery state
    notification: str | None = None


class SealedMessage(Record):
    message_id: str  # UUID, also in the document: a receiver deduplicates on it
    document_type: str  # heartbeat | alert | test | digest | report
    system_id: str
    sequence: int
    created: str  # ISO-8601 UTC, as in the document
    payload: bytes  # ASCII-armored OpenPGP message (or the plain document with --disable-gpg-encryption)
    plaintext: bytes  # the XML document that was sealed, kept locally for `tkalert show`
    encrypted: bool = True
    host: str | None = None
    service: str | None = None
    monitored_state: str | None = None  # CRITICAL, DOWN, ...: not the delivery state
    notification: str | None = None  # PROBLEM, RECOVERY, ACKNOWLEDGEMENT, CUSTOM (None: not given)
