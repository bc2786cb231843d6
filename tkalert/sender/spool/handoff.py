"""Handoff: the hook's side of the resident flusher (`tkalert flusher`, tkalert.sender.spool.resident).

Submit calls it once the entry is durable in outbox/ (temp file, fsync, rename): it connects to the flusher's unix
socket (`[spool] flusher_socket`), sends the message id and a newline, and waits for one answer line, which comes
after a flush that scanned the outbox with this entry in it. The hook then reads what became of its message from
the spool itself (tkalert.sender.spool.submission.where_is), exactly as after a flush of its own, so `--check`
still says sent or queued. The hook imports neither the flusher nor the transports: the resident process has them
loaded already, and keeps them loaded between events.

With `[spool] flusher_wait = check` (the default) a hook without `--check` leaves once the flusher says it took
the id (the first of its two lines): the entry is durable and the flusher is live; what the relay says is in
`tkalert log`, failed/ and check_tkalert_spool, but no longer in that hook's exit status.

Any failure returns None and the hook flushes itself as it would without the helper: no socket (not installed,
idle with no socket activation), a stale one (ECONNREFUSED after a kill -9), a path longer than a unix socket
address, a flusher that dies or closes the connection before answering, or no answer before `give_up`. Nothing is
lost on any of these paths: the entry was on disk before the first byte was sent.
"""

from __future__ import annotations

import time

import _socket  # socket without the socket module (enum, selectors): the hook path

ANSWER_MAX = 1024  # bytes: two short lines (`taken`, then `flushed` or `busy: why`)
TAKEN = "taken"  # the flusher's first line: it read the message id and flushes next


def hand_over(path: str, message_id: str, give_up: float, wait: bool = True) -> str | None:
    """The flusher's last answer for `message_id` (its line without the newline), or with wait=False its first
    (`taken`); None: flush yourself."""
    if not path or give_up <= time.monotonic():
        return None
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        sock.settimeout(max(give_up - time.monotonic(), 0.001))
        sock.connect(path)
        sock.sendall(message_id.encode("ascii") + b"\n")
        answer = b""
        while not (answer.endswith(b"\n") and (answer.count(b"\n") == 2 or not wait)):
            left = give_up - time.monotonic()
            if left <= 0 or len(answer) > ANSWER_MAX:
                return None
            sock.settimeout(left)
            chunk = sock.recv(ANSWER_MAX)
            if not chunk:  # it closed without a word: killed, or stopping
                return None
            answer += chunk
    except (OSError, ValueError, UnicodeError):  # OSError covers a timeout, ValueError a NUL in the path
        return None
    finally:
        sock.close()
    return answer[:-1].decode("utf-8", "replace").split("\n")[-1 if wait else 0]
