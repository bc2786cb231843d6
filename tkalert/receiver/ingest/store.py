"""The store: raw messages as they came in, written durably before anyone is told they arrived.

Maildir's scheme (tmp/ then new/): the bytes go to `tmp/NAME` (O_EXCL, mode 0600) and are fsynced, the file is
renamed into `new/NAME` and `new/` itself is fsynced, so after `store_raw` returns the message survives a power
loss. A reader never sees a half-written file in new/. NAME is `<receipt time in ns>.<pid>.<random>.<channel>`:
the receiver's clock at receipt (the truth escalation runs on) and the door it came through travel in the name.
tmp/ files older than a day are leftovers of a process killed while writing; nothing was answered for them.
Writers in one process (the listener's sessions) can share the fsync of new/ (`GroupSync`): one fsync that started
after a writer's rename makes it durable, whoever ran it, so messages arriving together cost one fsync of the folder.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tkalert.sender.spool.disk import fsync_dir  # the sender's: the same durable rename, one place

CHANNELS = ("smtp", "lmtp", "pipe", "https")
STALE_TMP = 86400


@dataclass(frozen=True)
class Stored:
    """One file in new/: its name, the door and the receipt time (ns since the epoch, the receiver's clock)."""

    path: Path
    channel: str
    received_ns: int

    @classmethod
    def from_path(cls, path: Path) -> "Stored | None":
        parts = path.name.split(".")
        if len(parts) != 4 or not parts[0].isdigit() or parts[3] not in CHANNELS:
            return None
        return cls(path, parts[3], int(parts[0]))


def prepare(store_dir: Path) -> None:
    """Create tmp/ and new/ (mode 0700) when missing."""
    for sub in ("tmp", "new"):
        (store_dir / sub).mkdir(mode=0o700, parents=True, exist_ok=True)


class GroupSync:
    """fsync of one folder shared by the threads that renamed into it meanwhile (a group commit). Each caller
    takes a ticket after its rename; an fsync covers every ticket taken before it started. The caller returns once
    an fsync covering its ticket has finished: it runs one itself when none is running, else waits for the running
    one and, if that one started before its ticket, for the next. A failed fsync raises in the thread that ran it;
    the others run their own."""

    def __init__(self, path: Path):
        self.path = path
        self._changed = threading.Condition()
        self._tickets = self._synced = 0
        self._running = False

    def sync(self) -> None:
        with self._changed:
            self._tickets += 1
            ticket = self._tickets
            while self._synced < ticket:
                if self._running:
                    self._changed.wait()
                    continue
                self._running, covers = True, self._tickets
                self._changed.release()
                try:
                    fsync_dir(self.path)
                finally:
                    self._changed.acquire()
                    self._running = False
                    self._changed.notify_all()
                self._synced = max(self._synced, covers)


def store_raw(store_dir: Path, data: bytes, channel: str, now_ns: int | None = None,
              group: GroupSync | None = None) -> Stored:
    """Write `data` durably into new/; raise OSError when it cannot (nothing is left in new/ then). `group`: the
    fsync of new/ shared with this process's other writers (GroupSync of store_dir / "new")."""
    received = time.time_ns() if now_ns is None else now_ns
    name = f"{received}.{os.getpid()}.{secrets.token_hex(6)}.{channel}"
    partial, final = store_dir / "tmp" / name, store_dir / "new" / name
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(partial, final)
    except BaseException:
        _unlink_quietly(partial)
        raise
    if group is None:
        fsync_dir(final.parent)
    else:
        group.sync()
    return Stored(final, channel, received)


def waiting(store_dir: Path) -> list[Stored]:
    """The files in new/, oldest first."""
    try:
        names = os.listdir(store_dir / "new")
    except FileNotFoundError:
        return []
    found = (Stored.from_path(store_dir / "new" / name) for name in names)
    return sorted((s for s in found if s is not None), key=lambda s: (s.received_ns, s.path.name))


def sweep_tmp(store_dir: Path, now: float | None = None) -> int:
    """Remove tmp/ files a killed writer left behind (older than a day); how many went."""
    now = time.time() if now is None else now
    removed = 0
    for entry in os.scandir(store_dir / "tmp") if (store_dir / "tmp").is_dir() else ():
        try:
            if now - entry.stat().st_mtime > STALE_TMP:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
