"""This machine's name for EHLO and a default sender address, looked up once per process and without DNS.

smtplib left alone calls socket.getfqdn() for every connection, and so did the default sender: a resolver lookup
that can hang for the resolver's whole timeout when DNS is broken — exactly when alerts matter. gethostname() is a
system call; a name without a dot is fine for EHLO and for the sender's domain (the mail_from option overrides it).
_socket, not socket, and no re: both load enum, a sizeable part of the hook's start.
"""

from __future__ import annotations

import _socket

NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
NAME_CHARS = NAME_START | frozenset(".-")
_cached: str | None = None


def local_hostname() -> str:
    global _cached
    if _cached is None:
        name = _socket.gethostname().strip().rstrip(".")
        _cached = name if usable_name(name) else "localhost"
    return _cached


def usable_name(name: str) -> bool:
    """1-253 letters, digits, dots and hyphens, starting with a letter or digit (RFC 1123 host names)."""
    return 1 <= len(name) <= 253 and name[0] in NAME_START and NAME_CHARS.issuperset(name)
