"""A child process for the concurrency tests, run as a script the way a monitoring daemon runs the hook.

    spool_child.py submit CONFIG INDEX READY_FD GATE_FD
        build one alert, say ready, wait at the gate, submit it, print "ID STATE SECONDS"
    spool_child.py flush CONFIG                  flush the spool (the test may kill -9 it at any moment)
"""

from __future__ import annotations

import os
import sys
import time

from spoolkit import plain_digest, sealed

from tkalert.config.settings import load_settings
from tkalert.sender.spool import flush, submit


def submit_one(config: str, index: int, ready_fd: int, gate_fd: int) -> None:
    settings = load_settings(config)
    message = sealed(host=f"host{index % 25}", service=f"svc{index}", state="CRITICAL")
    os.write(ready_fd, b".")
    os.read(gate_fd, 1)  # every child blocks here until the test closes the pipe: a storm, all at once
    started = time.monotonic()
    result = submit(message, settings, make_digest=plain_digest)
    print(message.message_id, result.state, f"{time.monotonic() - started:.3f}", flush=True)


def flush_all(config: str) -> None:
    report = flush(load_settings(config), make_digest=plain_digest, wait=None)
    print(report.summary(), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "submit":
        submit_one(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        flush_all(sys.argv[2])
