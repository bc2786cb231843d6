"""Lock: advisory file locks (flock) that the kernel drops when their holder dies, even by kill -9.

The flush lock makes sure no two flushers ever send the same entry; the storm lock serialises the few
milliseconds in which storm control reads and updates its counters. Submit only ever *tries* the flush lock
(non-blocking): when another process holds it, that process re-scans the outbox before it lets go.
"""

from __future__ import annotations

import fcntl
import os
import time

from tkalert.sender.spool.disk import FILE_MODE


class FileLock:
    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire(self, wait: float | None = None, poll: float = 0.05) -> bool:
        """Block until held (wait=None) or give up after `wait` seconds of real time."""
        if wait is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._fd = fd
            return True
        deadline = time.monotonic() + wait
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
