"""Make keys and explain why one cannot be used: the keyring that seal (sign + encrypt) works from.

Making keys sits before the pipeline: `tkalert keygen` creates this system's signing key, `tkalert demo` (and the
tests) create a vendor key and a system key, exchange the public halves and stop each home's gpg-agent afterwards.
Diagnosing sits inside seal: `vendor_key_problem` / `system_key_problem` are looked up only after gpg refused, so
the hook pays nothing on success. Homes are isolated GnuPG homes, keys are named by full fingerprint.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tkalert.errors import SealError

# No passphrase (tkalert signs unattended) and never a pinentry dialog.
_UNATTENDED = ["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""]


def gpg(home: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run gpg unattended in `home`; a failure raises SealError naming the command and gpg's last word."""
    done = subprocess.run(["gpg", "--homedir", str(home), *_UNATTENDED, *args], input=input, capture_output=True,
                          check=False)
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SealError(f"gpg {' '.join(a for a in args if a.startswith('--'))} failed in {home}: "
                        f"{said[-1] if said else f'exit code {done.returncode}'}")
    return done


def generate_key(home: Path, uid: str, algorithm: str = "future-default", usage: str = "default",
                 expire: str = "1y", faked_time: str | None = None) -> str:
    """Create a key without passphrase in `home` (created 0700 if missing); return its fingerprint.

    algorithm/usage/expire are gpg --quick-gen-key's (e.g. "ed25519", "sign", "0" for never); faked_time (e.g.
    "20200101T000000") makes the key as if it were then, so a short expiry yields an already expired key.
    """
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    faked = ["--faked-system-time", faked_time] if faked_time else []
    try:
        gpg(home, *faked, "--quick-gen-key", uid, algorithm, usage, expire)
    except SealError as exc:
        raise SealError(f"gpg could not create the key '{uid}' in {home}: {str(exc).split(': ', 1)[-1]}") from None
    lines = gpg(home, "--with-colons", "--list-secret-keys", uid).stdout.decode().splitlines()
    # the newest key with this uid: the fpr line right after its last "sec" line
    last = max(i for i, line in enumerate(lines) if line.startswith("sec:"))
    return next(line for line in lines[last:] if line.startswith("fpr:")).split(":")[9]


def generate_system_key(home: Path, name: str) -> str:
    """Create this system's Ed25519 signing key (never expires) for host `name`; return its fingerprint."""
    return generate_key(home, f"tkalert system key <tkalert@{name}>", "ed25519", "sign", "0")


def add_encryption_subkey(home: Path, fingerprint: str, algorithm: str = "cv25519", expire: str = "0") -> None:
    """Give a (signing-only) key an encryption subkey, so messages can be encrypted to it."""
    gpg(home, "--quick-add-key", fingerprint, algorithm, "encr", expire)


def export_public(home: Path, fingerprint: str) -> bytes:
    """The ASCII-armored public key, as sent to the other side."""
    return gpg(home, "--armor", "--export", fingerprint).stdout


def import_keys(home: Path, data: bytes) -> None:
    """Import keys (armored or binary) into `home`'s keyring."""
    gpg(home, "--import", input=data)


def kill_agent(home: Path) -> None:
    """Stop the gpg-agent (and other daemons) gpg started for `home`, before the home is removed."""
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False)


def vendor_key_problem(gpg, fingerprint: str, home, now: float | None = None) -> str | None:
    """Return the problem with one vendor (encryption) key, or None when gpg should accept it."""
    keys = gpg.list_keys()
    key = _find(keys, fingerprint)
    if key is None:
        meant = probable_key(keys, fingerprint)
        if meant:
            return f"vendor key {fingerprint} is not in the keyring {home}, {meant}"
        return (f"vendor key {fingerprint} is not in the keyring {home}: "
                f"import it with 'gpg --homedir {home} --import vendor-key.asc'")
    problem = _validity(key, fingerprint, now, "vendor key")
    if problem:
        return problem + f": import the vendor's renewed key into {home}"
    if "E" not in key.get("cap", ""):
        return (f"vendor key {fingerprint} has no usable encryption subkey (expired or revoked): "
                f"import the vendor's renewed key into {home}")
    return None


def system_key_problem(gpg, fingerprint: str, home, now: float | None = None) -> str | None:
    """Return the problem with this system's signing key, or None."""
    keys = gpg.list_keys(True)
    key = _find(keys, fingerprint)
    if key is None:
        meant = probable_key(keys, fingerprint)
        if meant:
            return f"no secret key for system key {fingerprint} in {home}, {meant}"
        return (f"no secret key for system key {fingerprint} in {home}: create one with 'tkalert keygen' "
                f"or fix [gnupg] system_key in the config")
    problem = _validity(key, fingerprint, now, "system key")
    if problem:
        return problem + ": create a new one with 'tkalert keygen' and send its public key to the vendor"
    return None


def probable_key(keys, value: str) -> str | None:
    """For a key name that matches no key: the key it most likely meant, as "but it probably means FPR (uid): ..."
    (a fingerprint one or two hex digits off, or a 16-digit long key id of a key or subkey), or None."""
    wanted = "".join(value.split()).upper().removeprefix("0X")
    candidates = []
    for key in keys:
        fpr = key.get("fingerprint", "").upper()
        subkeys = [(sub[0] or "").upper() for sub in key.get("subkeys", [])]
        if len(wanted) == 16 and (fpr.endswith(wanted) or wanted in subkeys):
            candidates.append(key)
        elif len(wanted) == len(fpr) == 40 and 0 < sum(a != b for a, b in zip(wanted, fpr, strict=True)) <= 2:
            candidates.append(key)
    if len(candidates) != 1:
        return None
    fpr = candidates[0]["fingerprint"].upper()
    uid = (candidates[0].get("uids") or ["?"])[0]
    how = "that is its long key id" if len(wanted) == 16 else "one or two digits differ"
    return f"but it probably means {fpr} ({uid}) ({how}): write that full fingerprint in the config"


def _find(keys, fingerprint: str):
    for key in keys:
        if key.get("fingerprint", "").upper() == fingerprint:
            return key
    return None


def _validity(key, fingerprint: str, now: float | None, what: str) -> str | None:
    if key.get("trust") == "r":
        return f"{what} {fingerprint} is revoked"
    expires = key.get("expires") or ""
    if expires.isdigit() and int(expires) <= (now if now is not None else time.time()):
        day = time.strftime("%Y-%m-%d", time.gmtime(int(expires)))
        return f"{what} {fingerprint} expired on {day}"
    return None
