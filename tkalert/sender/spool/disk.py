"""Disk: the crash-safe primitives every spool directory uses.

A file is written to a temporary name, fsynced, and then renamed into place, and the directory is fsynced, so
after a crash (power loss, kill -9) a file either exists completely or not at all. Files are 0600 and directories
0700: the spool holds the plaintext documents that were sealed.

File names are text or any os.PathLike; the notification hook passes text (os.path), never loading pathlib.
"""

from __future__ import annotations

import os

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_dir(path: str | os.PathLike) -> str | os.PathLike:
    """Create a 0700 directory and every missing parent 0700 too (mkdir's mode is filtered by the umask, and
    `parents=True` gives the parents the umask's mode); leave the mode of an existing directory alone."""
    if os.path.isdir(path):
        return path
    missing = []
    directory = os.path.normpath(os.fspath(path))
    while directory and not os.path.exists(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: its mode is its maker's business
        os.chmod(directory, DIR_MODE)
    return path


def write_durably(tmp_dir: str | os.PathLike, target: str | os.PathLike, data: bytes, *, clobber: bool = True,
                  fsync: bool = True) -> bool:
    """Write `data` to `target` atomically; with clobber=False, return False (and write nothing) if it exists."""
    target = os.fspath(target)
    tmp = os.path.join(tmp_dir, f"{os.path.basename(target)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        placed = _place(tmp, target, clobber)
    finally:
        unlink(tmp)
    if placed and fsync:
        fsync_dir(os.path.dirname(target) or ".")
    return placed


def unlink(path: str | os.PathLike) -> None:
    """Remove a file that may be gone already (Path.unlink(missing_ok=True))."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def move(source: str | os.PathLike, target: str | os.PathLike, fsync: bool = True) -> bool:
    """Atomic rename within one file system; False when the source is gone (someone else moved it).

    fsync=False when losing the rename in a power cut is harmless (the file is durable under its old name and
    the old place is recovered): 500 hooks fsyncing one directory at once queue on the journal for seconds."""
    try:
        os.rename(source, target)
    except FileNotFoundError:
        return False
    if fsync:
        fsync_dir(os.path.dirname(os.fspath(target)) or ".")
    return True


def fsync_dir(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _place(tmp: str, target: str, clobber: bool) -> bool:
    if clobber:
        os.replace(tmp, target)
        return True
    try:
        os.link(tmp, target)  # link, unlike rename, refuses to replace an existing name
    except FileExistsError:
        return False
    return True
