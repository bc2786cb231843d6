"""Archive: the local record of what left this machine (sent) or rode along in a digest (folded).

The flusher writes a record here durably *before* it removes the entry from the outbox, so a kill -9 in between
leaves both, and the next flush sees the record and only removes the outbox copy: no second delivery. Records
keep the payload and the plaintext document for `tkalert show`, unless `[categories] archive = off`. Records
older than `[archive] keep` are pruned; failed/ is never pruned (nothing is deleted unseen).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from tkalert.sender.spool import disk
from tkalert.sender.spool.entry import Entry, check_message_id, dumps, loads


class Archive:
    def __init__(self, directory: Path, keep: float, keep_documents: bool = True):
        self.directory = Path(directory)
        self.keep = keep
        self.keep_documents = keep_documents

    def prepare(self) -> "Archive":
        disk.ensure_dir(self.directory)
        disk.ensure_dir(self.directory / "tmp")
        return self

    def path(self, message_id: str) -> Path:
        return self.directory / f"{check_message_id(message_id)}.json"

    def record(self, entry: Entry) -> None:
        """Durably store a finished entry; its mtime is the finish time on the injected clock (for pruning)."""
        path = self.path(entry.message_id)
        disk.write_durably(self.directory / "tmp", path, dumps(entry, self.keep_documents))
        os.utime(path, (entry.finished_at, entry.finished_at))

    def holds(self, entry: Entry) -> bool:
        """True if this very entry (same id, same spool time) was already finished: a crash left a copy behind."""
        found = self.load(entry.message_id)
        return found is not None and found.queued_at == entry.queued_at

    def load(self, message_id: str) -> Entry | None:
        try:
            return loads(self.path(message_id).read_bytes())
        except FileNotFoundError:
            return None

    def entries(self) -> Iterator[Entry]:
        for path in self.files():
            try:
                yield loads(path.read_bytes())
            except FileNotFoundError:
                continue

    def files(self) -> list[Path]:
        try:
            return sorted(p for p in self.directory.iterdir() if p.suffix == ".json")
        except FileNotFoundError:
            return []

    def prune(self, now: float) -> int:
        removed = 0
        for path in self.files():
            try:
                if now - path.stat().st_mtime > self.keep:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed
