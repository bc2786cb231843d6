"""Import: the store's files become `stored` Message rows, then the files go (the database holds the raw bytes).

Several workers may import at once: the row's unique `store_name` decides who imported a file (INSERT ... ON
CONFLICT DO NOTHING), and whoever sees the file next removes it. A worker killed between the commit and the
unlink leaves a file the next import finds already in the table: it is removed, never imported twice.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from django.db import transaction

from tkalert.receiver.ingest.store import Stored, waiting
from tkalert.receiver.models import Message

BATCH = 200


def import_stored(store_dir: Path, limit: int = BATCH) -> int:
    """Import up to `limit` files from new/; how many files were taken off the store."""
    batch: list[tuple[Stored, bytes]] = []
    for stored in waiting(store_dir)[:limit]:
        try:
            batch.append((stored, stored.path.read_bytes()))
        except FileNotFoundError:
            continue  # another worker imported and removed it meanwhile
    if not batch:
        return 0
    with transaction.atomic():
        Message.objects.bulk_create([row_for(stored, data) for stored, data in batch], ignore_conflicts=True)
    for stored, _ in batch:
        try:
            os.unlink(stored.path)
        except FileNotFoundError:
            pass
    return len(batch)


def row_for(stored: Stored, data: bytes) -> Message:
    received = datetime.fromtimestamp(stored.received_ns / 1e9, tz=timezone.utc)
    return Message(store_name=stored.path.name, raw=data, channel=stored.channel, received_at=received,
                   state=Message.State.STORED)
