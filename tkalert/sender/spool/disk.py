"""Disk: the crash-safe primitives every spool directory uses.

A file is written to a temporary name, fsynced, and then renamed into place, and the directory is fsynced, so
after a crash (power loss, kill -9) a file either exists completely or not at all. Files are 0600 and directories
0700: the spool holds the plaintext documents that were sealed.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_dir(path: Path) -> Path:
    """Create a 0700 directory and every missing parent 0700 too (mkdir's mode is filtered by the umask, and
    `parents=True` gives the parents the umask's mode); leave the mode of an existing directory alone."""
    path = Path(path)
    if path.is_dir():
        return path
    missing = [path, *(p for p in path.parents if not p.exists())]
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: its mode is its maker's business
        os.chmod(directory, DIR_MODE)
    return path


def write_durably(tmp_dir: Path, target: Path, data: bytes, *, clobber: bool = True, fsync: bool = True) -> bool:
    """Write `data` to `target` atomically; with clobber=False, return False (and write nothing) if it exists."""
    tmp = tmp_dir / f"{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        placed = _place(tmp, target, clobber)
    finally:
        tmp.unlink(missing_ok=True)
    if placed and fsync:
        fsync_dir(target.parent)
    return placed


def move(source: Path, target: Path, fsync: bool = True) -> bool:
    """Atomic rename within one file system; False when the source is gone (someone else moved it).

    fsync=False when losing the rename in a power cut is harmless (the file is durable under its old name and
    the old place is recovered): 500 hooks fsyncing one directory at once queue on the journal for seconds."""
    try:
        os.rename(source, target)
    except FileNotFoundError:
        return False
    if fsync:
        fsync_dir(target.parent)
    return True


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _place(tmp: Path, target: Path, clobber: bool) -> bool:
    if clobber:
        os.replace(tmp, target)
        return True
    try:
        os.link(tmp, target)  # link, unlike rename, refuses to replace an existing name
    except FileExistsError:
        return False
    return True
