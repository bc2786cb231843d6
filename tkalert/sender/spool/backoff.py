"""Back-off: when a temporarily failed entry is tried again.

Exponential from `[spool] retry_base`, doubling per failed attempt, capped at `[spool] retry_cap` (postfix does the
same between minimal_backoff_time and maximal_backoff_time). Deterministic on purpose: there is one flusher per
machine, so there is no herd to spread, and tests can travel to the exact second.
"""

from __future__ import annotations

from tkalert.sender.spool.policy import SpoolPolicy


def retry_delay(attempts: int, policy: SpoolPolicy) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1-based)."""
    exponent = min(max(attempts - 1, 0), 32)  # 2**32 minutes is past any sane cap already
    return min(policy.retry_cap, policy.retry_base * 2**exponent)


def next_try(now: float, attempts: int, policy: SpoolPolicy) -> float:
    return now + retry_delay(attempts, policy)
