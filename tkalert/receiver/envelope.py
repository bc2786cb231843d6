"""The mail around a sealed message: the open step's first look, before any key is touched.

Takes the raw RFC 822 bytes as ingest stored them (the HTTPS endpoint stores its request as a mail too: its
Content-Type and X-Tkalert-Message-Id headers and the body) and returns the armored payload, the public key the
sender attached (if any) and the message id the headers claim. Shapes accepted, nothing else:
  (a) RFC 3156 section 4 multipart/encrypted: "Version: 1" control part, then the armored message;
  (b) one armored body: text/plain (tkalert `format = inline`, and TKalert 1.5), or application/pgp-encrypted /
      application/octet-stream (the HTTPS body);
  (c) multipart/mixed of (a) or (b) and an application/pgp-keys part (RFC 3156 section 7): the sender's key.
Caps act before the mail is parsed: its size, and how many multipart boundaries it declares (a nested-multipart
bomb would otherwise recurse through Python's email parser).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy

from tkalert.receiver.opened import Refused

ID_HEADER = "X-Tkalert-Message-Id"  # tkalert.sender.deliver.mail.ID_HEADER; the receiver does not import the sender
BOUNDARY = re.compile(rb"boundary\s*=", re.IGNORECASE)
ARMORED_BODIES = ("text/plain", "application/pgp-encrypted", "application/octet-stream")
CLEAR_BODIES = ("text/xml", "application/xml")


@dataclass(frozen=True)
class Envelope:
    payload: bytes  # the armored OpenPGP message, as the mail carried it
    attached_key: bytes | None  # the armored public key of an application/pgp-keys part
    claimed_ids: tuple[str, ...]  # every X-Tkalert-Message-Id header (unsigned: only a claim)


def read_envelope(raw: bytes, max_bytes: int, max_key_bytes: int) -> Envelope:
    if len(raw) > max_bytes:
        raise Refused("too-large", f"message of {len(raw)} bytes, over the limit of {max_bytes}")
    if len(BOUNDARY.findall(raw)) > 4:
        raise Refused("too-many-parts", "more multipart boundaries than the three tkalert shapes use")
    try:
        mail = message_from_bytes(raw, policy=email_policy.compat32)
    except (RecursionError, ValueError, TypeError, IndexError) as exc:
        raise Refused("malformed-mail", f"cannot parse the mail: {exc}") from None
    claimed = tuple(str(value).strip() for value in mail.get_all(ID_HEADER) or ())
    key = None
    if mail.get_content_type() == "multipart/mixed":
        mail, key = _mixed(mail, max_key_bytes)
    return Envelope(_payload(mail), key, claimed)


def _mixed(mail, max_key_bytes: int):
    parts = _parts(mail)
    if len(parts) != 2 or parts[1].get_content_type() != "application/pgp-keys":
        raise Refused("not-a-tkalert-message", "multipart/mixed must be the message and an application/pgp-keys "
                                               "part (RFC 3156 section 7)")
    key = _body(parts[1])
    if len(key) > max_key_bytes:
        raise Refused("too-large", f"attached key of {len(key)} bytes, over the limit of {max_key_bytes}")
    if b"-----BEGIN PGP PUBLIC KEY BLOCK-----" not in key:
        raise Refused("bad-key-attachment", "the application/pgp-keys part holds no armored public key")
    return parts[0], key


def _payload(mail) -> bytes:
    kind = mail.get_content_type()
    if kind == "multipart/encrypted":
        parts = _parts(mail)
        if (len(parts) != 2 or parts[0].get_content_type() != "application/pgp-encrypted"
                or parts[1].get_content_type() != "application/octet-stream"):
            raise Refused("not-a-tkalert-message", "multipart/encrypted is not RFC 3156's two parts")
        return _armored(_body(parts[1]))
    if kind in ARMORED_BODIES:
        return _armored(_body(mail))
    if kind in CLEAR_BODIES or kind == "multipart/signed":
        raise Refused("not-encrypted", f"a {kind} body: tkalert messages are encrypted")
    raise Refused("not-a-tkalert-message", f"a {kind} body is none of the shapes tkalert sends")


def _parts(mail) -> list:
    parts = mail.get_payload()
    if not isinstance(parts, list):
        raise Refused("malformed-mail", f"{mail.get_content_type()} without parts")
    if len(parts) > 2:
        raise Refused("too-many-parts", f"{mail.get_content_type()} with {len(parts)} parts, tkalert sends 2")
    return parts


def _body(part) -> bytes:
    if part.is_multipart():
        raise Refused("not-a-tkalert-message", f"a nested {part.get_content_type()} where a body belongs")
    return part.get_payload(decode=True) or b""


def _armored(body: bytes) -> bytes:
    if not body.strip():
        raise Refused("empty-body", "the message body is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused("not-utf8", f"the message body is not UTF-8 (byte {exc.start}); armor is 7-bit") from None
    if text.lstrip().startswith("<"):
        raise Refused("not-encrypted", "the body is a plain XML document: tkalert messages are encrypted")
    return body
