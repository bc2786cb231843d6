"""Journal: one syslog line for every message the spool accepts, sends, queues again, fails or expires.

An admin (and the journal's `journalctl -t tkalert`) sees each message's way by its id without opening the spool:

    tkalert[4711]: 0b5e8f2a-... alert db01/RAID CRITICAL: queued
    tkalert[4711]: 0b5e8f2a-... alert db01/RAID CRITICAL: sent via vendor
    tkalert[4712]: 7c1d... heartbeat: failed: smtp.vendor.example:25: 550 5.1.1 no such user

The line goes to the syslog socket named by `[tkalert] syslog` (default /dev/log; `off` writes nothing) as an RFC
3164 datagram, facility daemon; failures and expiries at warning, the rest at info. No syslog daemon listening is
not an error: the spool's own files are the record, this is the notice. Only `_socket` is used (the hook imports
this module, and the socket module loads enum and selectors), and the socket is opened once per process.
"""

from __future__ import annotations

import _socket
import os

FACILITY_DAEMON = 3
SEVERITY = {"failed": 4, "expired": 4, "unsealed": 4}  # warning; everything else info (6)
_sockets: dict[str, _socket.socket | None] = {}


def note(settings, state: str, message, detail: str | None = None) -> None:
    """Log one step of one message: `state` is unsealed, queued, folded, sent, deferred, failed or expired."""
    target = getattr(settings, "syslog", None)
    if not target:
        return
    try:
        what = f"{message.message_id} {message.document_type}"
        where = "/".join(p for p in (message.host, message.service) if p)
        if where:
            what += f" {where}" + (f" {message.monitored_state}" if message.monitored_state else "")
        line = " ".join((f"{what}: {state}" + (f": {detail}" if detail else "")).split())
        priority = FACILITY_DAEMON * 8 + SEVERITY.get(state, 6)
        send(target, f"<{priority}>tkalert[{os.getpid()}]: {line}"[:2048])
    except Exception:  # a notice must never cost a message: the spool's files are the record
        pass


def send(target: str, datagram: str) -> None:
    sock = _sockets.get(target, False)
    if sock is False:
        sock = _sockets[target] = _open(target)
    if sock is None:
        return
    try:
        sock.sendto(datagram.encode("utf-8", "replace"), target)
    except OSError:  # the syslog daemon went away or its queue is full: the spool's files still hold the record
        pass


def _open(target: str) -> _socket.socket | None:
    try:
        return _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    except OSError:
        return None
