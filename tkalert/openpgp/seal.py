"""Sign and encrypt one document with python-gnupg; check the outcome explicitly.

Recipients are given by full fingerprint only, so a decoy key carrying the vendor's user id is never used. GnuPG
>= 2.1 prints warnings on stderr on perfectly good runs (TKalert 1.5 failed every send on them): success is what
gpg's status lines say (`result.ok`), never an empty stderr. On failure we ask the keyring why, so the message
names the fix.
"""

from __future__ import annotations

from pathlib import Path

from tkalert.errors import SealError
from tkalert.openpgp.home import checked_home
from tkalert.openpgp.keys import system_key_problem, vendor_key_problem

# --no-auto-key-retrieve/-locate: never go to the network for a key; the keyring is the whole truth.
GPG_OPTIONS = ["--no-auto-key-retrieve", "--auto-key-locate", "local", "--no-permission-warning"]


def open_keyring(home: Path):
    checked_home(home)
    gnupg = quiet_gnupg()
    try:
        return gnupg.GPG(gnupghome=str(home), options=list(GPG_OPTIONS))
    except (OSError, ValueError, RuntimeError) as exc:
        raise SealError(f"cannot run gpg with home {home}: {exc} (install gnupg: apt-get install gnupg)") from None


def quiet_gnupg():
    """python-gnupg, its logger silenced unless tkalert logs debug lines (--verbose): its `[WARNING] gpg returned a
    non-zero error code: 2` (and a traceback when gpg is missing) would come before tkalert's own line, and
    Icinga 2 merges stderr into the plugin output. Our SealError says what went wrong, in one line. gpg missing
    from PATH is said before python-gnupg tries to run it."""
    import logging
    import os
    import shutil

    if not logging.getLogger("tkalert").isEnabledFor(logging.DEBUG):
        logging.getLogger("gnupg").setLevel(logging.CRITICAL + 1)
    if shutil.which("gpg") is None:
        raise SealError(f"gpg not found: install gnupg (apt-get install gnupg) or put gpg on the PATH "
                        f"(PATH={os.environ.get('PATH', '')})")
    import gnupg

    return gnupg


def seal_document(document: bytes, home: Path, vendor_keys: tuple[str, ...], system_key: str | None) -> bytes:
    """Return the ASCII-armored message: encrypted to every vendor key, signed by the system key if given."""
    if not vendor_keys:
        raise SealError(
            "no vendor key configured: set vendor_keys (the vendor key's 40-digit fingerprint) in [gnupg] "
            "of the config, or use --disable-gpg-encryption for a test"
        )
    gpg = open_keyring(home)
    # --local-user FPR! signs with exactly that key; python-gnupg's sign=FPR passes --default-key, which gpg
    # silently replaces by another secret key when FPR has none.
    signer = ["--local-user", f"{system_key}!"] if system_key else []
    result = gpg.encrypt(document, list(vendor_keys), sign=bool(system_key), always_trust=True, armor=True,
                         extra_args=signer)
    if result.ok and result.data:
        return bytes(result.data)
    raise SealError(_explain(gpg, home, vendor_keys, system_key, result))


def _explain(gpg, home: Path, vendor_keys, system_key, result) -> str:
    for fingerprint in vendor_keys:
        problem = vendor_key_problem(gpg, fingerprint, home)
        if problem:
            return problem
    if system_key:
        problem = system_key_problem(gpg, system_key, home)
        if problem:
            return problem
    detail = _last_error_line(result.stderr or "") or result.status or "no output"
    if system_key and ("passphrase" in detail.lower() or "pinentry" in detail.lower()):
        return (f"gpg could not use system key {system_key}: it needs a passphrase; tkalert signs unattended, "
                "so create a key without one ('tkalert keygen')")
    return f"gpg failed to sign/encrypt in {home}: {detail}"


def _last_error_line(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith("[GNUPG:]")]
    return lines[-1] if lines else ""
