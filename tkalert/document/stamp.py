"""Who sends and in what order: system id, per-system sequence number, message id.

The receiver uses the system id to pin the system's signing key on first contact, the sequence number to spot
gaps and replays, and the message id to deduplicate retries. The sequence lives in `state_dir/sequence`, bumped
under an exclusive flock so hundreds of concurrent hooks never hand out the same number.
"""

from __future__ import annotations

import fcntl
import os

from tkalert.errors import ConfigError
from tkalert.record import Record

MACHINE_ID = "/etc/machine-id"


class Stamp(Record):
    """What identifies one message, decided when it is built."""

    message_id: str
    system_id: str
    sequence: int
    now: float


def system_id(configured: str | None, state_dir: str | os.PathLike | None = None,
              machine_id: str | os.PathLike = MACHINE_ID,
              store: bool = True) -> str:
    """The configured `system_id` wins; else the id kept in `state_dir/system-id`; else a new one, kept there
    (with `store`) so it is never made again: the keyed hash of /etc/machine-id, never the machine id itself
    (machine-id(5)), or a random one (tkalert.document.identity)."""
    if configured:
        return configured
    from tkalert.document import identity
    if state_dir is not None:
        found = identity.stored_id(state_dir)
        if found:
            return found
    value, _ = identity.derived_id(machine_id)
    if state_dir is not None and store:
        return identity.keep_id(state_dir, value)
    return value


def new_message_id() -> str:
    """A random (version 4) UUID as uuid.uuid4() writes it, from os.urandom: importing uuid costs the hook more
    than the rest of building the document."""
    value = bytearray(os.urandom(16))
    value[6] = (value[6] & 0x0F) | 0x40  # version 4
    value[8] = (value[8] & 0x3F) | 0x80  # RFC 4122 variant
    hex = value.hex()
    return f"{hex[:8]}-{hex[8:12]}-{hex[12:16]}-{hex[16:20]}-{hex[20:]}"


def next_sequence(state_dir: str | os.PathLike) -> int:
    """Increment and return the persistent counter (1 for the first message)."""
    path = os.path.join(state_dir, "sequence")
    try:
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(
            f"cannot use state directory {state_dir}: {exc.strerror} "
            "(set state_dir in [tkalert] of the config to a directory this user may write)"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        number = int(raw) + 1 if raw.isdigit() else 1
        data = f"{number}\n".encode("ascii")
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        return number
    finally:
        os.close(fd)
