"""Read ASCII armor (RFC 4880 section 6) ourselves, before gpg sees a byte: the receiver's first look at a payload.

Takes the armored text a mail carried and hands unseal the binary OpenPGP message, or says in one stable word why
it cannot: no armor at all, armor that stops before its END line, or a body that is not base64 / fails its CRC-24.
Doing this in Python keeps hostile input cheap (no gpg process for garbage) and lets the receiver tell "not
encrypted" (a signed-only or clear-signed message, a symmetric one) from "not for us" by the first packet's tag.
The CRC-24 line is skipped, not checked: RFC 9580 section 6.1 tells receivers to ignore it (integrity is the
MDC's and the signature's job), and a pure-Python CRC over a 10 MiB body would cost seconds.
"""

from __future__ import annotations

import base64
import binascii
import re

BEGIN = re.compile(rb"^-----BEGIN PGP ([A-Z ,0-9/]+)-----[ \t]*\r?$", re.MULTILINE)
# Packet tags (RFC 4880 section 4.3) a message can start with.
PUBLIC_KEY_ENCRYPTED, SYMMETRIC_KEY_ENCRYPTED = 1, 3


class ArmorError(ValueError):
    """The payload is not a usable armored OpenPGP block; `reason` is a stable word."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def dearmor(text: bytes, kind: bytes = b"MESSAGE") -> bytes:
    """The binary packets of the first `-----BEGIN PGP <kind>-----` block in `text` (text around it is ignored)."""
    begin = next((m for m in BEGIN.finditer(text) if m.group(1) == kind), None)
    if begin is None:
        clear = b"-----BEGIN PGP SIGNED MESSAGE-----" in text
        raise ArmorError("not-encrypted" if clear else "garbage-armor",
                         "a clear-signed text, not an encrypted message" if clear
                         else f"no '-----BEGIN PGP {kind.decode()}-----' line")
    end = text.find(b"-----END PGP " + kind + b"-----", begin.end())
    if end < 0:
        raise ArmorError("truncated-armor", f"the armor has no '-----END PGP {kind.decode()}-----' line")
    lines = text[begin.end():end].strip().splitlines()
    while lines and b":" in lines[0]:  # armor headers (Version:, Comment:, Charset:) end at the blank line
        lines.pop(0)
    if lines and lines[-1].startswith(b"=") and len(lines[-1].strip()) == 5:  # "=XXXX": the CRC-24 line
        lines.pop()
    body = b"".join(line.strip() for line in lines)
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ArmorError("garbage-armor", "the armor's body is not base64") from None
    if not data:
        raise ArmorError("garbage-armor", "the armor holds no data")
    return data


def first_packet_tag(data: bytes) -> int | None:
    """The tag of the first OpenPGP packet (old or new format header), or None when the first byte is no header."""
    if not data or not data[0] & 0x80:
        return None
    return data[0] & 0x3F if data[0] & 0x40 else (data[0] >> 2) & 0x0F
