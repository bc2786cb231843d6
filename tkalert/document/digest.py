"""Fold several built documents into one `<digest>` document (storm control).

Takes the plaintext documents the build step wrote for the events held back by the rate limit, and returns one
document that embeds each of them whole, under a head (auth key, date, contact) and a stamp of its own. Nothing is
summarised away: a receiver unpacks the digest and handles every event as if it had come alone.
"""

from __future__ import annotations

from tkalert import __version__
from tkalert.document.stamp import Stamp
from tkalert.document.writer import head_lines, stamp_lines

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def build_digest(documents: list[bytes], auth_key: str, contact_person: str | None, contact_mail: str | None,
                 stamp: Stamp) -> bytes:
    if not documents:
        raise ValueError("a digest needs at least one document")
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<digest version="{__version__}">\n'.encode()]
    parts.append(head_lines(auth_key, stamp.now, contact_person, contact_mail).encode("utf-8"))
    parts.append(f'  <events count="{len(documents)}">\n'.encode())
    parts.extend(_embedded(document) for document in documents)
    parts.append(b"  </events>\n")
    parts.append(stamp_lines(stamp).encode("utf-8"))
    parts.append(b"</digest>\n")
    return b"".join(parts)


def _embedded(document: bytes) -> bytes:
    body = document.removeprefix(XML_DECLARATION)
    if body.lstrip().startswith(b"<?xml"):
        raise ValueError("only documents written by tkalert.document can be folded into a digest")
    return body
