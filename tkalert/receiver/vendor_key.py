"""The vendor key pair in the receiver's GnuPG home: generated once by `init` (or imported), found again after.

Senders encrypt to its public half (their `vendor_keys`); the receiver decrypts with the secret half, protected by
the passphrase in `passphrase_file` when there is one (gpg is always run unattended: loopback pinentry).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tkalert.errors import SealError
from tkalert.openpgp.keys import export_public, gpg

BASE = ["--batch", "--yes", "--pinentry-mode", "loopback"]


def secret_fingerprints(home: Path) -> list[str]:
    listed = gpg(home, "--list-secret-keys", "--with-colons").stdout.decode("utf-8", "replace")
    lines = listed.splitlines()
    return [line.split(":")[9] for previous, line in zip(lines, lines[1:], strict=False)
            if previous.startswith("sec:") and line.startswith("fpr:")]


def ensure_vendor_key(home: Path, passphrase: str | None, uid: str,
                      import_file: Path | None = None) -> tuple[str, bytes]:
    """(fingerprint, armored public key) of the vendor key; imports or generates one when the home has none."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.chmod(0o700)
    if import_file is not None:
        _gpg_with_passphrase(home, passphrase, "--import", str(import_file))
    found = secret_fingerprints(home)
    if not found:
        _gpg_with_passphrase(home, passphrase, "--quick-generate-key", uid, "future-default", "default", "0")
        found = secret_fingerprints(home)
    if not found:
        raise SealError(f"no vendor secret key in {home} after generating one (see gpg's log)")
    return found[0], export_public(home, found[0])


def _gpg_with_passphrase(home: Path, passphrase: str | None, *args: str) -> None:
    done = subprocess.run(["gpg", "--homedir", str(home), *BASE, "--passphrase-fd", "0", *args],
                          input=(passphrase or "").encode("utf-8"), capture_output=True, check=False)
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SealError(f"gpg {args[0]} failed in {home}: {said[-1] if said else done.returncode}")
