"""Open a sealed message as the vendor does: the receiving end of the pipeline, after deliver.

`unseal` decrypts a payload with the secret key in the vendor's GnuPG home and names the signer: the fingerprint of
the key that made a valid signature, or None when there is none (unsigned, unknown key, bad signature). `tkalert
demo` reads what arrives at its inbox with it, and so do the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tkalert.errors import SealError


@dataclass(frozen=True)
class Unsealed:
    plaintext: bytes
    signer: str | None  # fingerprint of the valid signature's key, None when no valid signature


def unseal(payload: bytes, home: Path) -> Unsealed:
    """Decrypt `payload` with the keys in `home`; raise SealError in one line when it does not decrypt."""
    from tkalert.openpgp.seal import quiet_gnupg

    result = quiet_gnupg().GPG(gnupghome=str(home)).decrypt(payload, always_trust=True)
    if not result.ok:
        said = [line for line in (result.stderr or "").splitlines() if line and not line.startswith("[GNUPG:]")]
        raise SealError(f"cannot decrypt the message with the keys in {home}: "
                        f"{said[-1] if said else result.status or 'gpg failed'}")
    return Unsealed(bytes(result.data), result.pubkey_fingerprint if result.valid else None)
