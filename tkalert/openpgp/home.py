"""The isolated GnuPG home tkalert uses, never the user's ~/.gnupg.

TKalert 1.5's `--gnupg-config=/etc/tkalert/gnupg.conf` named the file whose directory is the home; we keep that
meaning, and `[gnupg] home` in the config overrides it. GnuPG itself only warns about an unsafe home (it prints
"WARNING: unsafe permissions on homedir" and carries on); a keyring others can write is a keyring others can plant
a vendor key in, so we refuse it with the chmod that fixes it.
"""

from __future__ import annotations

import os
import stat

from tkalert.config.settings import DEFAULT_GNUPG_CONFIG
from tkalert.errors import SealError


def resolve_home(configured: str | os.PathLike | None, gnupg_config: str | None) -> str:
    """The home as text (the hook never loads pathlib): --gnupg-config's directory, else [gnupg] home."""
    if gnupg_config:
        return os.path.dirname(os.path.normpath(gnupg_config)) or "."
    if configured is not None:
        return os.fspath(configured)
    return os.path.dirname(DEFAULT_GNUPG_CONFIG)


def checked_home(home: str | os.PathLike) -> str | os.PathLike:
    """Return the home if it exists and is safe; raise SealError naming the fix otherwise."""
    try:
        info = os.stat(home)
    except FileNotFoundError:
        raise SealError(
            f"GnuPG home {home} does not exist: create it with 'install -d -m 700 {home}' and import the vendor key "
            f"('gpg --homedir {home} --import vendor.asc'), or set [gnupg] home in the config"
        ) from None
    except OSError as exc:
        raise SealError(f"cannot use GnuPG home {home}: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise SealError(f"GnuPG home {home} is not a directory: set [gnupg] home or --gnupg-config correctly")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SealError(
            f"unsafe permissions on GnuPG home {home} (mode {stat.S_IMODE(info.st_mode):04o}: others may write it): "
            f"run 'chmod 700 {home}'"
        )
    euid = os.geteuid()
    if euid != 0 and info.st_uid != euid:
        raise SealError(
            f"unsafe ownership of GnuPG home {home} (owned by uid {info.st_uid}, tkalert runs as uid {euid}): "
            f"run 'chown -R {euid} {home}' or run tkalert as the owner"
        )
    return home
