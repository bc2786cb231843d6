"""Census: how the receiver is doing, in four numbers, for plugins/check_tkalert_receiver.

Unprocessed messages are the store's files not yet imported plus the rows not yet judged; their age runs from
the receipt time (the receiver's clock). Quarantined counts the messages quarantined that arrived within the
window; the newest accepted age is None when nothing was ever accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from tkalert.receiver.config import ReceiverConfig
from tkalert.receiver.ingest.store import waiting
from tkalert.receiver.models import Message


@dataclass(frozen=True)
class Census:
    unprocessed: int
    unprocessed_age: float
    quarantined: int
    newest_accepted_age: float | None


def take_census(config: ReceiverConfig, now: float, window: float) -> Census:
    files = waiting(config.store_dir)
    pending = Message.objects.exclude(state=Message.State.DONE)
    oldest_row = pending.order_by("received_at").values_list("received_at", flat=True).first()
    receipts = [stored.received_ns / 1e9 for stored in files[:1]]
    receipts += [oldest_row.timestamp()] if oldest_row else []
    since = datetime.fromtimestamp(now, tz=timezone.utc) - timedelta(seconds=window)
    quarantined = Message.objects.filter(verdict=Message.Verdict.QUARANTINED, received_at__gte=since).count()
    newest = (Message.objects.filter(verdict=Message.Verdict.ACCEPTED).order_by("-received_at")
              .values_list("received_at", flat=True).first())
    return Census(unprocessed=len(files) + pending.count(),
                  unprocessed_age=max(0.0, now - min(receipts)) if receipts else 0.0,
                  quarantined=quarantined,
                  newest_accepted_age=max(0.0, now - newest.timestamp()) if newest else None)
