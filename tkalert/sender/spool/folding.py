"""Folding: how folded alerts leave the machine, one digest per storm-control interval.

The spool does not know the document format; it receives a `make_digest` callable:

    make_digest(messages: list[SealedMessage]) -> SealedMessage

It gets the folded alerts of one interval (oldest first, each with its plaintext document) and returns one new
sealed message (own message id, any kind) that accounts for every one of them. It may raise a `TkalertError`
(e.g. `SealError`): the flusher then records the error on the folded entries and tries again next flush.

Every caller of `submit` and `flush` passes one (tkalert.sender.pipeline.digest_maker builds and seals digests);
`make_digest=None` is an explicit choice: folded alerts are released one by one after their interval instead,
delayed, never lost.
"""

from __future__ import annotations

from _collections_abc import Callable, Sequence  # collections.abc without the collections package (hook path)

from tkalert.sender.message import SealedMessage
from tkalert.sender.spool.entry import Entry
from tkalert.sender.spool.policy import StormPolicy
from tkalert.sender.spool.storm import bucket_of, bucket_ripe

MakeDigest = Callable[[Sequence[SealedMessage]], SealedMessage]


def ripe_groups(entries: Sequence[Entry], now: float, policy: StormPolicy) -> list[list[Entry]]:
    """Folded entries grouped by interval, only the intervals that are over, oldest first."""
    from itertools import groupby  # here: the hook imports this module, and rarely has folded entries

    ordered = sorted(entries, key=lambda e: (e.queued_at, e.message_id))
    groups = [list(g) for _, g in groupby(ordered, key=lambda e: bucket_of(e.queued_at, policy))]
    return [g for g in groups if bucket_ripe(bucket_of(g[0].queued_at, policy), now, policy)]
