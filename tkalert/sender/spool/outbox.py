"""Outbox: the spool directory (default /var/spool/tkalert) and where each entry lies in it.

    tmp/        half-written files; a crash leaves only these behind, and they are garbage
    unsealed/   written but not sealed (the vendor or system key was missing, expired or revoked): kept until
                `tkalert flush` can seal them, then queued; the spool check is CRITICAL while any waits here
    outbox/     queued: due for delivery at the entry's next try
    folded/     held by storm control for the digest of their interval
    failed/     permanently refused or expired; kept until an admin retries or removes them

One JSON file per entry, named by message id. A file changes directory only by rename, and its content only by an
atomic replace, so hundreds of processes can add entries at once without a lock. Only the flusher (holding the
flush lock) rewrites or removes entries in outbox/, folded/ and failed/. File names are text (os.path): the hook
never loads pathlib.
"""

from __future__ import annotations

import os
import time
from _collections_abc import Iterator  # collections.abc without the collections package (hook path)

from tkalert.sender.spool import disk
from tkalert.sender.spool.entry import Entry, check_message_id, dumps, loads

AREAS = ("unsealed", "outbox", "folded", "failed")
STATUS_AREA = {"unsealed": "unsealed", "queued": "outbox", "folded": "folded", "failed": "failed", "expired": "failed"}
AREA_STATUS = {"unsealed": "unsealed", "outbox": "queued", "folded": "folded"}
STALE_TMP = 3600.0  # a temp file this old belongs to a process that died


class Outbox:
    def __init__(self, root: str | os.PathLike):
        self.root = os.fspath(root)

    def prepare(self) -> "Outbox":
        disk.ensure_dir(self.root)
        for name in ("tmp",) + AREAS:
            disk.ensure_dir(os.path.join(self.root, name))
        return self

    def path(self, area: str, message_id: str) -> str:
        return os.path.join(self.root, area, f"{check_message_id(message_id)}.json")

    def add(self, entry: Entry) -> bool:
        """Write a new entry durably into its status's area; False if that message id is already spooled."""
        if self.locate(entry.message_id):
            return False
        target = self.path(STATUS_AREA[entry.status], entry.message_id)
        return disk.write_durably(os.path.join(self.root, "tmp"), target, dumps(entry), clobber=False)

    def save(self, entry: Entry, area: str | None = None, fsync: bool = True) -> None:
        """Replace an entry's file (same area unless named) with its new bookkeeping."""
        area = area or STATUS_AREA[entry.status]
        disk.write_durably(os.path.join(self.root, "tmp"), self.path(area, entry.message_id), dumps(entry),
                           fsync=fsync)

    def move(self, message_id: str, source: str, target: str, fsync: bool = True) -> bool:
        return disk.move(self.path(source, message_id), self.path(target, message_id), fsync)

    def remove(self, message_id: str, area: str) -> None:
        disk.unlink(self.path(area, message_id))

    def load(self, area: str, message_id: str) -> Entry | None:
        try:
            return self._read(area, self.path(area, message_id))
        except FileNotFoundError:
            return None

    def locate(self, message_id: str) -> str | None:
        for area in AREAS:
            if os.path.exists(self.path(area, message_id)):
                return area
        return None

    def entries(self, area: str) -> Iterator[Entry]:
        """Every readable entry in an area; a file that vanishes while we read (sent meanwhile) is skipped."""
        for path in self.files(area):
            try:
                yield self._read(area, path)
            except FileNotFoundError:
                continue

    @staticmethod
    def _read(area: str, path: str) -> Entry:
        # The area a file lies in is its status (a rename moves it without rewriting); failed/ tells two apart.
        with open(path, "rb") as fh:
            entry = loads(fh.read())
        status = AREA_STATUS.get(area, entry.status)
        return entry if entry.status == status else entry.with_status(status)

    def files(self, area: str) -> list[str]:
        directory = os.path.join(self.root, area)
        try:
            return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".json"))
        except FileNotFoundError:
            return []

    def count(self, area: str) -> int:
        return len(self.files(area))

    def sweep_tmp(self, now: float | None = None) -> int:
        """Remove temp files left by killed processes (by real mtime: they never carry a clock value)."""
        now = time.time() if now is None else now
        removed = 0
        tmp = os.path.join(self.root, "tmp")
        try:
            names = [name for name in os.listdir(tmp) if name.endswith(".tmp")]
        except FileNotFoundError:
            return 0
        for name in names:
            path = os.path.join(tmp, name)
            try:
                if now - os.stat(path).st_mtime > STALE_TMP:
                    os.unlink(path)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def lock_path(self, name: str) -> str:
        return os.path.join(self.root, f"{name}.lock")
