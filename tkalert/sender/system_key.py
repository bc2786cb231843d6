"""This system's public signing key, attached to every sealed message (`attach_key = yes`, RFC 3156 section 7).

The receiver pins a system's key on first contact (trust on first use); it can only do so if the key travels with
the message. Exporting it costs a gpg process, so it is exported once per key into
`state_dir/system-key-<FINGERPRINT>.asc` (written when seal first meets the key, atomically) and read from there,
once per process. A key that cannot be exported never stops a message: it goes without the key, as with
`attach_key = no`, and --verbose says why.
"""

from __future__ import annotations

import os

_read: dict[str, bytes | None] = {}


def cache_path(settings) -> str:
    return os.path.join(str(settings.state_dir), f"system-key-{settings.system_key}.asc")


def wanted(settings) -> bool:
    return bool(getattr(settings, "attach_key", True) and settings.system_key)


def remember(settings, home) -> None:
    """After a successful seal with `home`: make sure the exported key is on disk (a stat when it is)."""
    if wanted(settings) and not os.path.exists(cache_path(settings)):
        _export(settings, home)


def attachment(settings) -> bytes | None:
    """The armored public key to attach, or None (attach_key = no, no system key, or it cannot be exported)."""
    if not wanted(settings):
        return None
    path = cache_path(settings)
    if path not in _read:
        try:
            with open(path, "rb") as fh:
                kept = fh.read()
            _read[path] = kept if kept.rstrip().endswith(b"-----END PGP PUBLIC KEY BLOCK-----") else _reexport(settings)
        except FileNotFoundError:
            _read[path] = _reexport(settings)
        except OSError as exc:
            _say(f"cannot read {path}: {exc.strerror}; sending without the system key")
            _read[path] = None
    return _read[path]


def _reexport(settings) -> bytes | None:
    from tkalert.openpgp.home import resolve_home

    return _export(settings, resolve_home(settings.gnupg_home, None))


def _export(settings, home) -> bytes | None:
    import subprocess

    argv = ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--armor", "--export", settings.system_key]
    try:
        done = subprocess.run(argv, capture_output=True, check=False)
    except OSError as exc:
        _say(f"cannot run gpg to export the system key: {exc}")
        return None
    armored = done.stdout
    if done.returncode != 0 or b"BEGIN PGP PUBLIC KEY BLOCK" not in armored:
        _say(f"gpg could not export system key {settings.system_key} from {home}: sending without it")
        return None
    path = cache_path(settings)
    partial = f"{path}.{os.getpid()}.new"
    try:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(partial, "wb") as fh:
            fh.write(armored)
        os.replace(partial, path)  # a public key: no fsync; a file cut short by a crash is exported again
    except OSError as exc:
        _say(f"cannot keep the exported system key in {path}: {exc.strerror}")
    return armored


def _say(text: str) -> None:
    from tkalert.log import log

    log.info("%s", text)
