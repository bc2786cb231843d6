"""Census: the spool's health in four numbers, for the check_tkalert_spool plugin.

Queue depth (everything not yet delivered: unsealed, queued, folded), age of the oldest undelivered entry, and the
number of entries in failed/ (refused permanently, or expired after `[spool] max_age`). Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from tkalert.sender.spool.site import Site

WAITING = ("unsealed", "outbox", "folded")


@dataclass(frozen=True)
class Census:
    depth: int
    oldest_age: float  # seconds; 0 when nothing waits
    failed: int  # failed + expired
    expired: int
    unsealed: int = 0  # kept, but not sealed: the key must be fixed
    unsealed_reason: str | None = None  # the newest seal error


def take_census(site: Site, now: float) -> Census:
    waiting = [e for area in WAITING for e in site.outbox.entries(area)]
    failed = list(site.outbox.entries("failed"))
    unsealed = sorted((e for e in waiting if e.status == "unsealed"), key=lambda e: e.queued_at)
    oldest = min((e.queued_at for e in waiting), default=now)
    return Census(
        depth=len(waiting),
        oldest_age=max(0.0, now - oldest),
        failed=len(failed),
        expired=sum(1 for e in failed if e.status == "expired"),
        unsealed=len(unsealed),
        unsealed_reason=unsealed[-1].last_error if unsealed else None,
    )
