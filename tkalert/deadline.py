"""Call with a deadline: run a blocking step in a worker thread and stop waiting for it after a number of seconds.

The hook must exit in time even when a network peer hangs (smtplib, requests and pyzabbix time out per call,
not per step), so a step that may block runs in a daemon thread: `call_within` returns its value, raises what it
raised, or raises `StillRunning` when the seconds are up (the thread is left to finish or die with the process).
Used by the hook's one quick flush (tkalert.sender.spool.submission) and the Zabbix inventory lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class StillRunning(Exception):
    """The step did not finish within its seconds; it may still complete in its thread."""


def call_within(seconds: float, step: Callable[[], object], name: str):
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = step()
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise StillRunning(f"{name} still running after {seconds:g}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
