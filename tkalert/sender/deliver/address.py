"""Address: the one rule for a mailbox tkalert hands to an SMTP server (RFC 5321 section 4.1.2, the plain subset).

Checked at the edge (the command line, the config), so an address that would break the mail or the SMTP dialogue
(CR/LF, spaces, non-ASCII bytes, no domain) is a usage error before anything is spooled, never an entry that no
flush can deliver. Kept free of the email package: the notification hook imports it.
"""

from __future__ import annotations

import re

_MAILBOX = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def mailbox_problem(address: str) -> str | None:
    """None for a plain mailbox like `callhome@vendor.example`, else what is wrong with it."""
    if any(ch in address for ch in "\r\n"):
        return "contains a line break"
    if not address.isascii() or not address.isprintable():
        return "contains non-ASCII or control characters"
    if len(address) > 254 or not _MAILBOX.fullmatch(address):
        return "is not a plain mailbox such as callhome@vendor.example"
    return None
