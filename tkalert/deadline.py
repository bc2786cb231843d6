"""Call with a deadline: run a blocking step in a worker thread and stop waiting for it after a number of seconds.

The hook must exit in time even when a network peer hangs (smtplib, requests and pyzabbix time out per call,
not per step), so a step that may block runs in a daemon thread: `call_within` returns its value, raises what it
raised, or raises `StillRunning` when the seconds are up (the thread is left to finish or die with the process).
Used by the hook's one quick flush (tkalert.sender.spool.submission) and the Zabbix inventory lookup. The thread
is started with _thread and waited for on a lock: threading (with functools and collections) costs the hook about
as much as its whole spool write, for one thread that needs neither a name nor a join at exit.
"""

from __future__ import annotations

import _thread
from _collections_abc import Callable  # collections.abc without the collections package (the hook path)


class StillRunning(Exception):
    """The step did not finish within its seconds; it may still complete in its thread."""


def call_within(seconds: float, step: Callable[[], object], name: str):
    outcome: dict = {}
    finished = _thread.allocate_lock()
    finished.acquire()

    def run() -> None:
        try:
            outcome["value"] = step()
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome["error"] = exc
        finally:
            finished.release()

    _thread.start_new_thread(run, ())  # like a daemon thread: nobody waits for it at exit
    if not finished.acquire(timeout=min(max(seconds, 0), _thread.TIMEOUT_MAX)):
        raise StillRunning(f"{name} still running after {seconds:g}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
