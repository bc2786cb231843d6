"""A public key a sender attached to its message (RFC 3156 section 7), looked at in a scratch home of its own.

The receiver's open step needs the attached key only to verify a first contact (nothing pinned yet) or to learn
the material of a key pinned by fingerprint alone. Importing a stranger's key into the vendor's home would let
anyone who can send a mail grow the vendor's keyring, so the key goes into a throw-away GnuPG home instead (no
agent is started: a secret key hidden in the attachment is dropped, not stored), whose keyring file gpg then
reads next to the vendor's with `--keyring`. Only a key that is pinned is ever imported into the vendor's home,
and then only that one key, minimal (`import_pinned`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tkalert.errors import SealError

SCRATCH = ["--batch", "--no-tty", "--no-autostart", "--no-permission-warning", "--trust-model", "always"]


class AttachedKey:
    """A scratch home holding what the attachment carried; use as a context manager (the home is removed)."""

    def __init__(self, armored: bytes):
        self.home = Path(tempfile.mkdtemp(prefix="tkalert-attached-"))
        _run(self.home, "--import-options", "import-minimal", "--import", input=armored)
        listing = _run(self.home, "--with-colons", "--list-keys").stdout.decode("ascii", "replace").splitlines()
        self.fingerprints = tuple(_primary_fingerprints(listing))

    @property
    def keyring(self) -> Path:
        return self.home / "pubring.kbx"

    def export(self, fingerprint: str) -> bytes:
        """That one key, armored and minimal (no third-party signatures), as the receiver pins it."""
        return _run(self.home, "--armor", "--export-options", "export-minimal", "--export", fingerprint).stdout

    def __enter__(self) -> AttachedKey:
        return self

    def __exit__(self, *_exc) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def import_pinned(home: Path, key: bytes) -> None:
    """Import one pinned key (as `AttachedKey.export` gives it) into the vendor's home, for later messages."""
    done = _run(home, "--import", input=key, check=False)
    if done.returncode not in (0, 2):  # 2: "some keys were not changed" still imported what was new
        raise SealError(f"cannot import a pinned key into {home}: {done.stderr.decode('utf-8', 'replace')[-200:]}")


def _primary_fingerprints(listing: list[str]):
    wanted = False
    for line in listing:
        if line.startswith("pub:"):
            wanted = True
        elif line.startswith("fpr:") and wanted:
            yield line.split(":")[9].upper()
            wanted = False
        elif line.startswith("sub:"):
            wanted = False


def _run(home: Path, *args: str, input: bytes | None = None, check: bool = False) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["gpg", "--homedir", str(home), *SCRATCH, *args], input=input, capture_output=True,
                              check=check, timeout=30)
    except OSError as exc:
        raise SealError(f"cannot run gpg: {exc.strerror} (install gnupg: apt-get install gnupg)") from None
    except subprocess.TimeoutExpired:
        raise SealError("gpg took more than 30 s over an attached key") from None
