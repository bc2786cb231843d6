"""Messages as the vendor's receiver gets them, built with tkalert's own sender code and the key cast.

`document` writes a tkalert document (tkalert.document.writer), `digest` folds some (tkalert.document.digest),
`legacy_document` writes what TKalert 1.5 wrote (../shared/DESIGN.md's element list). `mail` wraps an armored
message in one of the shapes the receiver accepts: "pgpmime" and "inline" are the sender's own mail bodies
(tkalert.sender.deliver.mail.compose), "https" is the mail ingest stores for an HTTPS POST (the request's
Content-Type and X-Tkalert-Message-Id, then the body); `attach` adds the sender's public key as RFC 3156 section 7
does (multipart/mixed with an application/pgp-keys part). `sealed_mail` does it all for the common case.
`MemoryDirectory` is the pins and legacy contracts the open step asks, in two dicts.
"""

from __future__ import annotations

import time
from email import policy
from email.message import EmailMessage

from tkalert.document.digest import build_digest
from tkalert.document.event import Event
from tkalert.document.stamp import Stamp, new_message_id
from tkalert.document.writer import build_document
from tkalert.sender.deliver.mail import ID_HEADER, compose
from tkalert.sender.message import SealedMessage

SYSTEM_ID = "test-system"
AUTH_KEY = "0123456789a"
LEGACY_AUTH_KEY = "legacy-0123456789"  # a contract marked legacy
UNKNOWN_AUTH_KEY = "no-such-contract"

ALERT = dict(host="host1.example.com", host_status="UP", ip="127.0.0.200", os="Debian 12", serial="90000xxxxx",
             service="IPMI Sensors", service_status="CRITICAL", output="Critical [PS 1 Status]", perf="'FAN 1'=1725",
             duration=3600, component_serial="012345", component_name="IPMI")


def document(kind: str = "heartbeat", *, system_id: str = SYSTEM_ID, auth_key: str = AUTH_KEY, sequence: int = 1,
             message_id: str | None = None, now: float | None = None, **fields) -> bytes:
    """A tkalert document: kind heartbeat | test | service | host; alerts get ALERT's fields unless given."""
    values = {**(ALERT if kind in ("service", "host") else {}), **fields}
    if kind == "host":
        values = {k: v for k, v in values.items() if not k.startswith(("service", "component"))}
    event = Event(event_type=kind, auth_key=auth_key, contact_person="Testperson", contact_mail="admin@acme.test",
                  **values).checked()
    return build_document(event, stamp(system_id, sequence, message_id, now))


def digest(documents: list[bytes], *, system_id: str = SYSTEM_ID, auth_key: str = AUTH_KEY, sequence: int = 1,
           message_id: str | None = None) -> bytes:
    return build_digest(documents, auth_key, "Testperson", "admin@acme.test", stamp(system_id, sequence, message_id))


def stamp(system_id: str = SYSTEM_ID, sequence: int = 1, message_id: str | None = None,
          now: float | None = None) -> Stamp:
    return Stamp(message_id or new_message_id(), system_id, sequence, time.time() if now is None else now)


def legacy_document(kind: str = "alert", *, auth_key: str = LEGACY_AUTH_KEY, version: str = "1.5",
                    date: str = "Thu Oct 11 16:54:34 2012") -> bytes:
    """What TKalert 1.5 wrote: no contact, no stamp, ctime date, duration in words, empty component elements."""
    head = f'  <authkey category="Monitoring">{auth_key}</authkey>\n  <date>{date}</date>\n'
    body = ""
    if kind == "alert":
        body = ("  <host>\n    <name>host1.example.com</name>\n    <ip>127.0.0.200</ip>\n    <status>UP</status>\n"
                "    <operating-system>Ubuntu 12.04 LTS</operating-system>\n"
                "    <server-serial>90000xxxxx</server-serial>\n  </host>\n"
                "  <service>\n    <name>IPMI Sensors</name>\n    <status>CRITICAL</status>\n"
                "    <plugin-output>Critical [PS 1 Status = 'Power Supply Failure detected']</plugin-output>\n"
                "    <perfdata>'System Temp'=28.00</perfdata>\n    <duration>1.196 seconds</duration>\n"
                "    <component-serial/>\n    <component-name/>\n  </service>\n")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{kind} version="{version}">\n{head}{body}</{kind}>\n'.encode()


class MemoryDirectory:
    """The receiver's Directory (tkalert.receiver.opened) over two dicts: pins by system id, legacy contracts."""

    def __init__(self, pins: dict[str, str] | None = None, legacy: set[str] | frozenset = frozenset()):
        self.pins = dict(pins or {})
        self.legacy = set(legacy)

    def pinned_key(self, system_id: str) -> str | None:
        return self.pins.get(system_id)

    def legacy_allowed(self, auth_key: str) -> bool:
        return auth_key in self.legacy


def mail(armored: bytes, message_id: str | None, shape: str = "pgpmime", attach: bytes | None = None) -> bytes:
    """The raw mail: shape pgpmime | inline | https, optionally with the sender's public key attached."""
    if shape == "https":
        head = f"Content-Type: application/pgp-encrypted\r\n{ID_HEADER}: {message_id}\r\n" if message_id else \
            "Content-Type: application/pgp-encrypted\r\n"
        outer = head.encode() + b"\r\n" + armored
        return outer if attach is None else _attached(outer, attach)
    sealed = SealedMessage(message_id or new_message_id(), "heartbeat", SYSTEM_ID, 1, "", armored, b"")
    composed = compose(sealed, "tkalert@customer.test", "callhome@vendor.test", shape)
    if message_id is None:
        del composed[ID_HEADER]
    raw = composed.as_bytes()
    return raw if attach is None else _attached(raw, attach)


def sealed_mail(keys, doc: bytes, shape: str = "pgpmime", attach: bool = False, signer=None,
                message_id: str | None = "signed") -> bytes:
    """`doc` signed by the system key (or `signer`, a cast.keys.Signer), encrypted to the vendor, as a mail whose
    header claims the document's own message id (message_id="signed"), another one, or none (None)."""
    armored = signer.seal(doc, keys.vendor) if signer else _seal(keys, doc)
    claim = signed_id(doc) if message_id == "signed" else message_id
    key = (signer.public() if signer else _public(keys)) if attach else None
    return mail(armored, claim, shape, key)


def signed_id(doc: bytes) -> str:
    """The document's own message id: its last <message-id> (a digest's events come before its stamp)."""
    start = doc.rindex(b"<message-id>") + len(b"<message-id>")
    return doc[start:doc.rindex(b"</message-id>")].decode()


def _seal(keys, doc: bytes) -> bytes:
    from tkalert.openpgp.seal import seal_document

    return seal_document(doc, keys.sender_home, (keys.vendor,), keys.system)


def _public(keys) -> bytes:
    from tkalert.openpgp.keys import export_public

    return export_public(keys.sender_home, keys.system)


def _attached(raw: bytes, key: bytes) -> bytes:
    """RFC 3156 section 7: the message and the sender's key as the two parts of a multipart/mixed."""
    from email import message_from_bytes

    inner = message_from_bytes(raw, policy=policy.SMTP)
    outer = EmailMessage(policy=policy.SMTP)
    for name in ("From", "To", "Subject", "Date", "Message-ID", ID_HEADER):
        if inner[name] is not None:
            outer[name] = inner[name]
            del inner[name]
    outer.make_mixed()
    outer.attach(inner)
    part = EmailMessage(policy=policy.SMTP)
    part.set_content(key, maintype="application", subtype="pgp-keys", cte="7bit", disposition="attachment",
                     filename="tkalert-system-key.asc")
    del part["MIME-Version"]
    outer.attach(part)
    return outer.as_bytes()
