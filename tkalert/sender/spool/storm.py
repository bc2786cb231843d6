"""Storm control: decide, per alert, whether it goes out on its own or is folded into the interval's digest.

Sits in submit, just before the entry is written to outbox/ or folded/ (tkalert.sender.spool.submission). Nothing is
discarded: a folded alert waits in folded/ until its interval is over, then the flusher hands all alerts of that
interval to `make_digest` (see tkalert.sender.spool.folding) and sends the one digest. The rules, in this order:

1. only alerts are judged; heartbeats, tests, reports and digests always go out;
2. an identical repeat (a problem with the same host, service and state as the last alert for that pair, inside
   `repeat_window`) is folded; an acknowledgement or custom notification is never a repeat;
3. a change to a worse state of a known host/service always goes out at once, whatever the rate;
4. in each `interval` (aligned to the clock, like the digests), the first `rate` alerts go out; later ones are
   folded into that interval's digest.

A host/service never seen before is not "worse" than anything: in a storm of new problems the first `rate` go out
and the rest are folded, which is what the rate limit is for.

On disk, under storm/ next to the outbox, and built for hundreds of hooks at once without a global lock (one
lock that 500 processes queue on wakes all of them at every release — measured at 5 s per hook): a rate slot is
a file created with O_EXCL (`slots/<interval>.<n>`, n < rate), so exactly `rate` processes win one; the last state
of each host/service is a small file under `last/`, read and replaced under that pair's own flock. Losing them
(crash) costs one interval of memory, never a message.
"""

from __future__ import annotations

import fcntl
import os
from _collections_abc import Callable  # collections.abc without the collections package (hook path)

from tkalert.record import Record
from tkalert.sender.message import SealedMessage
from tkalert.sender.spool import disk, jsonfile
from tkalert.sender.spool.disk import FILE_MODE
from tkalert.sender.spool.policy import StormPolicy, describe

# Nagios/Icinga service and host states and Zabbix severities on one scale; unknown words count as UNKNOWN.
SEVERITY = {
    "OK": 0, "UP": 0, "RESOLVED": 0, "RECOVERY": 0,
    "INFORMATION": 1, "NOT CLASSIFIED": 1, "WARNING": 1,
    "UNKNOWN": 2, "UNREACHABLE": 2, "AVERAGE": 2,
    "CRITICAL": 3, "DOWN": 3, "HIGH": 3,
    "DISASTER": 4,
}
MEMORY_SPAN = 86400.0  # how long the last state of a host/service is remembered for the "worse" rule

Previous = tuple[str, float]  # (state, since) of the last alert for a host/service


class Verdict(Record):
    fold: bool
    reason: str | None = None


PASS = Verdict(False)


def severity(state: str | None) -> int:
    return SEVERITY.get((state or "UNKNOWN").strip().upper(), SEVERITY["UNKNOWN"])


def judged(message: SealedMessage, policy: StormPolicy) -> bool:
    return policy.enabled and message.document_type == "alert"


def decide(previous: Previous | None, message: SealedMessage, now: float, claim_slot: Callable[[], bool],
           policy: StormPolicy) -> tuple[Verdict, Previous | None]:
    """The rule set; returns the verdict and what to remember for this host/service (None: keep as is).

    claim_slot() takes one of the interval's `rate` slots and says whether there was one left."""
    state = state_of(message)
    # An acknowledgement or custom notification in the same state is news, not a repeat: only problems fold.
    repeat = previous and previous[0] == state and message.notification in (None, "PROBLEM")
    if repeat and now - previous[1] < policy.repeat_window:
        return Verdict(True, f"repeat of {state} for {_what(message)} within {describe(policy.repeat_window)}"), None
    worse = previous is not None and now - previous[1] < MEMORY_SPAN and severity(state) > severity(previous[0])
    if claim_slot() or worse:
        return PASS, (state, now)
    reason = f"rate limit: {policy.rate} alerts in this {describe(policy.interval)} interval already sent"
    return Verdict(True, reason), (state, now)


def state_of(message: SealedMessage) -> str:
    return (message.monitored_state or "UNKNOWN").strip().upper()


def bucket_of(moment: float, policy: StormPolicy) -> int:
    return int(moment // policy.interval)


def bucket_ripe(bucket: int, now: float, policy: StormPolicy) -> bool:
    return now >= (bucket + 1) * policy.interval


class StormControl:
    """decide() with its memory on disk, shared by every tkalert process on this spool."""

    def __init__(self, root: str | os.PathLike, policy: StormPolicy):
        self.dir = os.path.join(root, "storm")
        self.policy = policy

    def judge(self, message: SealedMessage, now: float) -> Verdict:
        if not judged(message, self.policy):
            return PASS
        disk.ensure_dir(os.path.join(self.dir, "slots"))
        disk.ensure_dir(os.path.join(self.dir, "last"))
        fd = os.open(self._memory_path(message), os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # this host/service only: contention is per pair, not global
            claim = lambda: self._claim_slot(bucket_of(now, self.policy))  # noqa: E731
            verdict, remember = decide(_read(fd), message, now, claim, self.policy)
            if remember:
                _write(fd, remember)
        finally:
            os.close(fd)
        return verdict

    def sweep(self, now: float) -> None:
        """Drop slots of finished intervals and memories past MEMORY_SPAN (the flusher calls this)."""
        current = bucket_of(now, self.policy)
        for path in _listing(os.path.join(self.dir, "slots")):
            if int(os.path.basename(path).split(".")[0]) < current:
                disk.unlink(path)
        for path in _listing(os.path.join(self.dir, "last")):
            try:
                if now - _read_path(path)[1] > MEMORY_SPAN:
                    disk.unlink(path)
            except (OSError, TypeError):
                continue

    def _claim_slot(self, bucket: int) -> bool:
        for n in range(self.policy.rate):
            try:
                slot = os.path.join(self.dir, "slots", f"{bucket}.{n}")
                os.close(os.open(slot, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
                return True
            except FileExistsError:
                continue
        return False

    def _memory_path(self, message: SealedMessage) -> str:
        key = f"{message.host or ''}\x1f{message.service or ''}".encode()
        return os.path.join(self.dir, "last", _sha1_hex(key))


def _read(fd: int) -> Previous | None:
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        state, since = jsonfile.loads(os.read(fd, 4096) or b"null")
        return str(state), float(since)
    except (ValueError, TypeError):
        return None  # new, or torn by a crash: no memory


def _read_path(path: str) -> Previous | None:
    fd = os.open(path, os.O_RDONLY)
    try:
        return _read(fd)
    finally:
        os.close(fd)


def _write(fd: int, previous: Previous) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, jsonfile.dumps(list(previous)).encode(), 0)


def _listing(directory: str) -> list[str]:
    try:
        return [os.path.join(directory, name) for name in os.listdir(directory)]
    except FileNotFoundError:
        return []


def _what(message: SealedMessage) -> str:
    return "/".join(part for part in (message.host, message.service) if part) or "this system"


def _sha1_hex(data: bytes) -> str:
    try:  # the interpreter's own SHA-1: hashlib would load OpenSSL's libcrypto for one file name per event
        from _sha1 import sha1
    except ImportError:
        from hashlib import sha1
    return sha1(data).hexdigest()
