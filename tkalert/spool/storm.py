"""Storm control: decide, per alert, whether it goes out on its own or is folded into the interval's digest.

Sits in submit, between writing the entry to incoming/ and releasing it to outbox/ or folded/. Nothing is
discarded: a folded alert waits in folded/ until its interval is over, then the flusher hands all alerts of that
interval to `make_digest` (see tkalert.spool.digest) and sends the one digest. The rules, in this order:

1. only alerts are judged; heartbeats, tests, reports and digests always go out;
2. an identical repeat (same host, service and state as the last alert for that pair, inside `repeat_window`)
   is folded;
3. a change to a worse state of a known host/service always goes out at once, whatever the rate;
4. beyond `rate` alerts in the last `interval` (sliding window), alerts are folded.

A host/service never seen before is not "worse" than anything: in a storm of new problems the first `rate` go out
and the rest are folded, which is what the rate limit is for. The counters live in storm.json next to the outbox,
read and replaced under storm.lock; losing them (crash) only means one interval without memory, never a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tkalert.message import SealedMessage
from tkalert.spool import disk
from tkalert.spool.lock import FileLock
from tkalert.spool.policy import StormPolicy, describe

# Nagios/Icinga service and host states and Zabbix severities on one scale; unknown words count as UNKNOWN.
SEVERITY = {
    "OK": 0, "UP": 0, "RESOLVED": 0, "RECOVERY": 0,
    "INFORMATION": 1, "NOT CLASSIFIED": 1, "WARNING": 1,
    "UNKNOWN": 2, "UNREACHABLE": 2, "AVERAGE": 2,
    "CRITICAL": 3, "DOWN": 3, "HIGH": 3,
    "DISASTER": 4,
}
MEMORY_SPAN = 86400.0  # how long the last state of a host/service is remembered for the "worse" rule
MEMORY_LIMIT = 20000


@dataclass(frozen=True)
class Verdict:
    fold: bool
    reason: str | None = None


@dataclass(frozen=True)
class Memory:
    passed: tuple[float, ...] = ()  # when the alerts of the current window went out
    last: dict[str, tuple[str, float]] = field(default_factory=dict)  # host/service -> (state, since)


PASS = Verdict(False)


def severity(state: str | None) -> int:
    return SEVERITY.get((state or "UNKNOWN").strip().upper(), SEVERITY["UNKNOWN"])


def judge(memory: Memory, message: SealedMessage, now: float, policy: StormPolicy) -> tuple[Verdict, Memory]:
    """The pure rule set: the same memory, message and time always give the same verdict."""
    if not policy.enabled or message.kind != "alert":
        return PASS, memory
    key = f"{message.host or ''}\x1f{message.service or ''}"
    passed = tuple(t for t in memory.passed if now - t < policy.interval)
    previous = memory.last.get(key)
    state = (message.state or "UNKNOWN").upper()
    if previous and previous[0] == state and now - previous[1] < policy.repeat_window:
        reason = f"repeat of {state} for {_what(message)} within {describe(policy.repeat_window)}"
        return Verdict(True, reason), Memory(passed, memory.last)
    worse = previous is not None and severity(state) > severity(previous[0])
    if worse or len(passed) < policy.rate:
        verdict, passed = PASS, passed + (now,)
    else:
        verdict = Verdict(True, f"rate limit: {policy.rate} alerts in {describe(policy.interval)} already sent")
    return verdict, Memory(passed, _remember(memory.last, key, state, now))


def bucket_of(moment: float, policy: StormPolicy) -> int:
    return int(moment // policy.interval)


def bucket_ripe(bucket: int, now: float, policy: StormPolicy) -> bool:
    return now >= (bucket + 1) * policy.interval


class StormControl:
    """judge() with its memory on disk, shared by every tkalert process on this spool."""

    def __init__(self, root: Path, policy: StormPolicy):
        self.root = Path(root)
        self.policy = policy

    def judge(self, message: SealedMessage, now: float) -> Verdict:
        if not self.policy.enabled or message.kind != "alert":
            return PASS
        with FileLock(self.root / "storm.lock"):
            verdict, memory = judge(self._read(), message, now, self.policy)
            self._write(memory)
        return verdict

    def _read(self) -> Memory:
        try:
            raw = json.loads((self.root / "storm.json").read_bytes())
            return Memory(tuple(raw["passed"]), {k: (v[0], v[1]) for k, v in raw["last"].items()})
        except (FileNotFoundError, ValueError, KeyError, TypeError, IndexError):
            return Memory()

    def _write(self, memory: Memory) -> None:
        data = json.dumps({"passed": list(memory.passed), "last": memory.last}).encode()
        # No fsync: losing the counters costs one interval of memory, never a message.
        disk.write_durably(self.root / "tmp", self.root / "storm.json", data, fsync=False)


def _remember(last: dict[str, tuple[str, float]], key: str, state: str, now: float) -> dict[str, tuple[str, float]]:
    kept = {k: v for k, v in last.items() if now - v[1] < MEMORY_SPAN}
    if len(kept) >= MEMORY_LIMIT:
        kept = dict(sorted(kept.items(), key=lambda kv: kv[1][1])[-(MEMORY_LIMIT - 1):])
    kept[key] = (state, now)
    return kept


def _what(message: SealedMessage) -> str:
    return "/".join(part for part in (message.host, message.service) if part) or "this system"
