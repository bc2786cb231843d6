"""Resident flusher: one long-lived process that flushes the spool for the hooks (`tkalert flusher`).

Takes a listening unix socket (systemd's, by socket activation, or one bound by tkalert.cli.flusher) and the
settings. Hooks connect once their entry is durable in outbox/ and send its message id (tkalert.sender.spool.handoff).
A round: accept every hook waiting on the socket (each is told `taken` once its id is read), run one flush (the
same `flush` as `tkalert flush`: under the flush lock, with storm digests, archive records and back-off unchanged),
answering each of them `flushed` as soon as its message's outcome is recorded in the spool (the others after
the flush: folded, or not due; `busy: ...` when another process kept the flush lock), and close. Hooks that
connect during a flush wait in the listen backlog for the next round: a storm of hooks costs a few flushes, not one
each.

It returns after `idle` seconds without a hook; socket activation starts it again on the next connection (one
queued in between waits in systemd's socket). Killed at any point, kill -9 included, the flush lock goes with it
(flock) and every entry lies where the spool's crash rules find it (an archive record before the outbox copy is
removed): the next flush, a hook's own or the timer's, finishes the work, and a hook waiting for an answer sees
its connection close and flushes itself.
"""

from __future__ import annotations

import time

from tkalert.log import log
from tkalert.sender.spool.entry import check_message_id
from tkalert.sender.spool.flusher import FlushReport, flush
from tkalert.sender.spool.handoff import TAKEN
from tkalert.sender.spool.policy import load_policy
from tkalert.sender.spool.submission import FLUSHED, STOP_MARGIN

READ_WAIT = 1.0  # seconds a connected hook has to send its message id (it sends it right after connecting)
ROUND_MAX = 500  # hooks answered per round: file descriptors stay well under the default limit of 1024
LINE_MAX = 256


class Round:
    """The hooks of one round: (connection, message id) pairs, answered together after one flush."""

    def __init__(self, waiters: list):
        self.waiters = waiters
        self.count = len(waiters)

    def recorded(self, message_id: str) -> None:
        """The flush just recorded this message's outcome in the spool: answer its hooks now, not after the rest
        of the flush (the batch's other messages, the connection's end, housekeeping)."""
        if any(waiting == message_id for _, waiting in self.waiters):
            done = [waiter for waiter in self.waiters if waiter[1] == message_id]
            self.waiters = [waiter for waiter in self.waiters if waiter[1] != message_id]
            Round(done).answer(FLUSHED)

    def answer(self, line: str) -> None:
        for conn, _ in self.waiters:
            try:
                conn.sendall(line.encode("utf-8") + b"\n")
            except OSError:  # the hook gave up waiting (its budget): it reads the spool itself
                pass
            finally:
                conn.close()


def serve(settings, listener, make_digest, idle: float, clock=time.time, current=None) -> int:
    """Flush for the hooks that connect to `listener` until `idle` seconds pass without one, or, after a round,
    `current()` says the settings are out of date (the config file changed); return how many hooks were answered."""
    answered, unfinished = 0, False
    while True:
        waiting = gather(listener, 0.0 if unfinished else idle)
        if waiting is None and not unfinished:
            return answered
        waiting = waiting or Round([])
        if not (waiting.waiters or unfinished):  # only connections that sent no id: nothing to flush for
            continue
        report = flush_round(settings, make_digest, clock, waiting.recorded)
        waiting.answer(f"busy: {report.summary()}" if report.busy else FLUSHED)  # the rest (folded, not due, busy)
        answered += waiting.count
        unfinished = not (report.complete or report.busy)  # its budget ran out with messages due: go on
        log.debug("Flushed for %d hook(s): %s", waiting.count, report.summary())
        if current is not None and not current():
            return answered


def flush_round(settings, make_digest, clock, on_recorded=None) -> FlushReport:
    """One flush, bounded so its answer reaches hooks that wait within the same `[spool] hook_budget`: up to a
    quarter of it for the flush lock (a timer's flush holds it: that one sends their entries), the rest, less the
    margin for the message on the wire, for delivery. A hook is answered as soon as its message's outcome is
    recorded (`on_recorded`): archived before its outbox copy goes, so where_is reads the truth from then on."""
    budget = load_policy(settings).spool.hook_budget
    wait = budget / 4
    return flush(settings, make_digest=make_digest, clock=clock, wait=wait,
                 budget=max(budget - STOP_MARGIN, budget / 2) - wait, on_recorded=on_recorded)


def gather(listener, timeout: float) -> Round | None:
    """Wait up to `timeout` for a hook, then take every other one already queued; each sends its message id.
    None: nobody connected."""
    listener.settimeout(timeout)
    try:
        first, _ = listener.accept()
    except (BlockingIOError, TimeoutError):
        return None
    connections = [first]
    listener.setblocking(False)
    while len(connections) < ROUND_MAX:
        try:
            connections.append(listener.accept()[0])
        except (BlockingIOError, InterruptedError):
            break
    return Round([waiter for waiter in map(read_waiter, connections) if waiter is not None])


def read_waiter(conn):
    """(conn, message id), or None for a connection that sends no id (answered and closed here)."""
    conn.settimeout(READ_WAIT)
    line = b""
    try:
        while b"\n" not in line and len(line) < LINE_MAX:
            chunk = conn.recv(LINE_MAX)
            if not chunk:
                break
            line += chunk
        message_id = check_message_id(line.split(b"\n", 1)[0].decode("ascii"))
        conn.sendall(TAKEN.encode("ascii") + b"\n")
    except (OSError, ValueError):  # UnicodeError is a ValueError
        Round([(conn, None)]).answer("error: send a spooled message id and a newline")
        return None
    return conn, message_id
