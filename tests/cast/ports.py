"""Ports for tests that need one without a server: bound and held, so no other test can take them meanwhile."""

from __future__ import annotations

import socket
from contextlib import contextmanager


@contextmanager
def refused_port():
    """A port bound but not listening while the block runs: a connection to it is refused (RST) at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def free_port() -> int:
    """A port that was free a moment ago, for a daemon that must be told its port before it starts (an SMTP server
    here learns its own: cast.smtp). Another process may take it meanwhile; use it for nothing else."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
