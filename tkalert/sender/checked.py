"""Checked: the config file whose destinations were last read strictly, remembered by the file's identity.

The hook reads every destination's options strictly before it writes anything (tkalert.sender.pipeline.check_options:
a bad option queues nothing), which imports the transports. The resident flusher (`tkalert flusher`) reads them at
its start, and again whenever the file changes; it then notes the file's identity (device, inode, size, mtime and
ctime in ns) in the state directory. A hook whose config has that identity skips the transports: the same bytes were
read by the same code. Files the options name (a password_file) are read again at each delivery, so one that went
missing since is a delivery error kept in the spool, not a lost message. Not durable: a lost note costs one check.
"""

from __future__ import annotations

import os

NOTE = "checked-config"


def identity(path: str | None) -> str | None:
    if not path:
        return None
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (f"{os.path.abspath(path)}\n{found.st_dev}:{found.st_ino}:{found.st_size}:{found.st_mtime_ns}:"
            f"{found.st_ctime_ns}")


def checked_before(settings) -> bool:
    """True when the config file is the one whose destinations were read strictly and noted."""
    now = identity(settings.path)
    try:
        with open(os.path.join(settings.state_dir, NOTE), encoding="utf-8") as fh:
            return now is not None and fh.read() == now
    except (OSError, ValueError):
        return False


def note_checked(settings) -> str | None:
    """Note the config file's identity (after its destinations were read strictly); return it."""
    now = identity(settings.path)
    if now is None:
        return None
    tmp = os.path.join(settings.state_dir, f".{NOTE}.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(now)
    os.replace(tmp, os.path.join(settings.state_dir, NOTE))
    return now
