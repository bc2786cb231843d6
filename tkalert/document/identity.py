"""Identity: this system's id, made once and kept in `state_dir/system-id`, never regenerated.

The receiver pins the system's signing key to its id on first contact, so the id must not change when the
machine is rebuilt and must never be the raw /etc/machine-id: machine-id(5) says that id is confidential and
must not leak to the network; an application derives its own id from it with a keyed hash, as systemd's
`sd_id128_get_machine_app_specific()` does (HMAC-SHA256 keyed with the machine id over a fixed application id,
its first 16 bytes as a version-4 UUID). Without a machine id the id is random. Either way it is written once
(O_EXCL, so two first hooks agree on one id); `tkalert init --system-id OLD` writes an old id on new hardware.
Only cheap standard modules at the top (no re, no pathlib): the notification hook reads the stored id on every call.
"""

from __future__ import annotations

import os

MACHINE_ID = "/etc/machine-id"
ID_FILE = "system-id"
# tkalert's application id for the keyed hash (a fixed random 128-bit value, never to be changed: every derived
# system id depends on it).
APP_ID = bytes.fromhex("6b9f0c2e3d7a4f1e8b5c2a9d0e4f7a13")
ASCII_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
ID_CHARS = ASCII_ALNUM | frozenset("._:@-")


def id_problem(value: str) -> str | None:
    """Why `value` cannot be a system id, or None."""
    value = value or ""
    if 1 <= len(value) <= 128 and value[0] in ASCII_ALNUM and ID_CHARS.issuperset(value):
        return None
    return "must be 1-128 letters, digits or . _ : @ - (starting with a letter or digit)"


def stored_id(state_dir: str | os.PathLike) -> str | None:
    """The id kept in the state directory, or None when none is kept (or it is unreadable)."""
    try:
        with open(os.path.join(state_dir, ID_FILE), encoding="utf-8") as fh:
            value = fh.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value if id_problem(value) is None else None


def derived_id(machine_id: str | os.PathLike = MACHINE_ID) -> tuple[str, str]:
    """A new id and where it came from: the keyed hash of the machine id, else a random UUID. (uuid is imported
    here, not at the top: the hook reads a stored id and never needs it.)"""
    import uuid

    try:
        with open(machine_id, encoding="ascii") as fh:
            raw = bytes.fromhex(fh.read().strip())
    except (OSError, UnicodeDecodeError, ValueError):
        raw = b""
    if len(raw) != 16:
        return str(uuid.uuid4()), "random"
    import hashlib
    import hmac

    digest = hmac.new(raw, APP_ID, hashlib.sha256).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=4)), f"keyed hash of {machine_id}"


def keep_id(state_dir: str | os.PathLike, value: str, *, replace: bool = False) -> str:
    """Store `value` as the system id unless one is stored already (then return that one); `replace` overwrites
    it (an explicit `tkalert init --system-id`). The file is written whole under a temporary name and then linked
    to its name: link() refuses an existing name, so two first writers agree on one id and no reader ever sees
    a half-written file."""
    path = os.path.join(state_dir, ID_FILE)
    tmp = os.path.join(state_dir, f".{ID_FILE}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            os.write(fd, f"{value}\n".encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
            return value
        try:
            os.link(tmp, path)
        except FileExistsError:
            return stored_id(state_dir) or value
        return value
    finally:
        _unlink(tmp)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
