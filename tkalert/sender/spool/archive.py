"""Archive: the local record of what left this machine (sent) or rode along in a digest (folded).

The flusher writes a record here durably *before* it removes the entry from the outbox, so a kill -9 in between
leaves both, and the next flush sees the record and only removes the outbox copy: no second delivery. Records
keep the payload and the plaintext document for `tkalert show`, unless `[categories] archive = off`. Records
older than `[archive] keep` are pruned; failed/ is never pruned (nothing is deleted unseen).

    <message id>.json          one sent entry (or a folded one, as earlier versions wrote them)
    <digest id>.folded.json    every alert folded into that digest, written and fsynced once for all of them
    <message id>.json -> <digest id>.folded.json
                               a symlink per folded alert, so that a message id is still found in one lookup
                               (load, holds, submit's "already delivered"); made without an fsync each, the
                               directory fsynced once after all of them

A 980-alert digest used to cost 1,960 fsyncs here; it now costs three, whatever its size.
"""

from __future__ import annotations

import os
from _collections_abc import Iterable, Iterator  # collections.abc without the collections package (hook path)

from tkalert.sender.spool import disk, jsonfile
from tkalert.sender.spool.entry import Entry, check_message_id, dumps, from_record, loads, to_record

FOLDED = ".folded.json"


class Archive:
    def __init__(self, directory: str | os.PathLike, keep: float, keep_documents: bool = True):
        self.directory = os.fspath(directory)  # text: the hook never loads pathlib
        self.keep = keep
        self.keep_documents = keep_documents

    def prepare(self) -> "Archive":
        disk.ensure_dir(self.directory)
        disk.ensure_dir(self._tmp)
        return self

    @property
    def _tmp(self) -> str:
        return os.path.join(self.directory, "tmp")

    def path(self, message_id: str) -> str:
        return os.path.join(self.directory, f"{check_message_id(message_id)}.json")

    def record(self, entry: Entry) -> None:
        """Durably store a finished entry; its mtime is the finish time on the injected clock (for pruning)."""
        path = self.path(entry.message_id)
        disk.write_durably(self._tmp, path, dumps(entry, self.keep_documents))
        os.utime(path, (entry.finished_at, entry.finished_at))

    def folded_path(self, digest_id: str) -> str:
        return os.path.join(self.directory, f"{check_message_id(digest_id)}{FOLDED}")

    def record_folded(self, digest_id: str, entries: Iterable[Entry], now: float) -> None:
        """Durably store the alerts folded into one digest as one file (merged with what an interrupted run wrote
        for the same digest), then link each message id to it; finished_at is `now` on the injected clock."""
        path = self.folded_path(digest_id)
        folded = {e.message_id: e for e in self._read_folded(path)}
        for entry in entries:
            folded.setdefault(entry.message_id, entry.with_status("folded", digest_id=digest_id, finished_at=now))
        data = {"format": 1, "digest_id": digest_id,
                "folded": [to_record(e, self.keep_documents) for e in folded.values()]}
        disk.write_durably(self._tmp, path, jsonfile.dumps(data, indent=1).encode("utf-8"))
        os.utime(path, (now, now))
        for message_id in folded:
            try:
                os.symlink(os.path.basename(path), self.path(message_id))
            except FileExistsError:
                continue  # linked before the interruption, or a record of this id already (kept as it is)
        disk.fsync_dir(self.directory)

    def holds(self, entry: Entry) -> bool:
        """True if this very entry (same id, same spool time) was already finished: a crash left a copy behind."""
        found = self.load(entry.message_id)
        return found is not None and found.queued_at == entry.queued_at

    def load(self, message_id: str) -> Entry | None:
        try:
            with open(self.path(message_id), "rb") as fh:
                data = jsonfile.loads(fh.read())
        except FileNotFoundError:
            return None
        if "folded" not in data:
            return from_record(data)
        return next((e for e in self._folded_of(data) if e.message_id == message_id), None)

    def entries(self) -> Iterator[Entry]:
        for path in self.files():
            try:
                if path.endswith(FOLDED):
                    yield from self._read_folded(path)
                else:
                    with open(path, "rb") as fh:
                        yield loads(fh.read())
            except FileNotFoundError:
                continue

    def files(self) -> list[str]:
        """The record files (not the links to digest files), sorted by name."""
        return sorted(os.path.join(self.directory, name) for name in self._names(links=False))

    def prune(self, now: float) -> int:
        """Remove records (and digest files) finished longer than `keep` ago, then the links left dangling."""
        removed = 0
        for path in self.files():
            try:
                if now - os.stat(path).st_mtime > self.keep:
                    os.unlink(path)
                    removed += 1
            except FileNotFoundError:
                continue
        for name in self._names(links=True):
            link = os.path.join(self.directory, name)
            if not os.path.exists(link):  # its digest file was pruned
                disk.unlink(link)
        return removed

    def _names(self, links: bool) -> list[str]:
        try:
            with os.scandir(self.directory) as found:  # d_type: no stat per record
                return [e.name for e in found if e.name.endswith(".json") and e.is_symlink() == links]
        except FileNotFoundError:
            return []

    def _read_folded(self, path: str) -> list[Entry]:
        try:
            with open(path, "rb") as fh:
                return self._folded_of(jsonfile.loads(fh.read()))
        except FileNotFoundError:
            return []

    @staticmethod
    def _folded_of(data: dict) -> list[Entry]:
        return [from_record(record) for record in data["folded"]]
