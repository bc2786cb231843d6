"""Import: the store's files become `stored` Message rows, then the files go (the database holds the raw bytes).

One worker imports at a time (a non-blocking flock on `import.lock` in the store: the others skip the step rather
than read the same files for nothing). Correctness does not rest on the lock: the row's unique `store_name`
decides who imported a file (INSERT ... ON CONFLICT DO NOTHING), and whoever sees the file next removes it. A
worker killed between the commit and the unlink leaves a file the next import finds already in the table: it is
removed, never imported twice.

The unlinks can be left to a thread (`remover`, an Executor: a worker's, so its next batch does not wait on the file
system's journal, a millisecond a file when the listener fsyncs beside it); the thread keeps the lock until the
files are gone, so nobody reads them again meanwhile.
"""

from __future__ import annotations

import fcntl
import os
from datetime import datetime, timezone
from pathlib import Path

from django.db import transaction

from tkalert.receiver.bulk import insert_new, with_defaults
from tkalert.receiver.ingest.store import Stored, waiting
from tkalert.receiver.models import Message

BATCH = 200


def import_stored(store_dir: Path, limit: int = BATCH, remover=None) -> int:
    """Import up to `limit` files from new/ unless another worker is importing; how many files were taken.
    With a `remover` (concurrent.futures.Executor) the imported files are removed in its thread."""
    try:
        lock = os.open(store_dir / "import.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        return 0  # no store yet: nothing came in
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        return 0
    try:
        taken = _import(store_dir, limit)
    except BaseException:
        os.close(lock)
        raise
    if remover is None:
        _remove(taken, lock)
    else:
        remover.submit(_remove, taken, lock)
    return len(taken)


def _remove(paths: list[Path], lock: int) -> None:
    """The imported files go (they are rows now), then the import lock is let go."""
    try:
        for path in paths:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    finally:
        os.close(lock)


def _import(store_dir: Path, limit: int) -> list[Path]:
    batch: list[tuple[Stored, bytes]] = []
    for stored in waiting(store_dir)[:limit]:
        try:
            batch.append((stored, stored.path.read_bytes()))
        except FileNotFoundError:
            continue  # another worker imported and removed it meanwhile
    if not batch:
        return []
    fields, rows = with_defaults(Message, IMPORTED, [row_for(stored, data) for stored, data in batch])
    with transaction.atomic():
        insert_new(Message, fields, rows)  # a file another worker imported first: its row stays as it is
    return [stored.path for stored, _ in batch]


IMPORTED = ("store_name", "raw", "channel", "received_at", "state")


def row_for(stored: Stored, data: bytes) -> tuple:
    """A file's values for IMPORTED."""
    received = datetime.fromtimestamp(stored.received_ns / 1e9, tz=timezone.utc)
    return stored.path.name, data, stored.channel, received, Message.State.STORED.value
