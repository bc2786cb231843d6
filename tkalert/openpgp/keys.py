"""Explain why a key cannot be used: looked up only after gpg refused, so the hook pays nothing on success."""

from __future__ import annotations

import time


def vendor_key_problem(gpg, fingerprint: str, home, now: float | None = None) -> str | None:
    """Return the problem with one vendor (encryption) key, or None when gpg should accept it."""
    key = _find(gpg.list_keys(), fingerprint)
    if key is None:
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
    key = _find(gpg.list_keys(True), fingerprint)
    if key is None:
        return (f"no secret key for system key {fingerprint} in {home}: create one with 'tkalert keygen' "
                f"or fix [gnupg] system_key in the config")
    problem = _validity(key, fingerprint, now, "system key")
    if problem:
        return problem + ": create a new one with 'tkalert keygen' and send its public key to the vendor"
    return None


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
