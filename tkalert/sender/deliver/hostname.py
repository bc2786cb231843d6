"""This machine's name for EHLO and a default sender address, looked up once per process and without DNS.

smtplib left alone calls socket.getfqdn() for every connection, and so did the default sender: a resolver lookup
that can hang for the resolver's whole timeout when DNS is broken — exactly when alerts matter. gethostname() is a
system call; a name without a dot is fine for EHLO and for the sender's domain (the mail_from option overrides it).
"""

from __future__ import annotations

import re
import socket

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")
_cached: str | None = None


def local_hostname() -> str:
    global _cached
    if _cached is None:
        name = socket.gethostname().strip().rstrip(".")
        _cached = name if _NAME.match(name) else "localhost"
    return _cached
