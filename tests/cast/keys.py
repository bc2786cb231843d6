"""The key cast, in real GnuPG homes made with tkalert's own key functions (tkalert.openpgp.keys).

The *vendor* (holds the secret key messages are encrypted to), the *system* (this machine's signing key, kept in
the sender's home next to the vendor's public key), a *decoy* (another key carrying the vendor's user id, planted
in the sender's keyring) and an *expired* vendor key. `decrypt` opens a payload as the vendor does
(tkalert.openpgp.unseal); `sender_copy` gives a test a private copy of the sender's home to damage.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tkalert.openpgp.keys import export_public, generate_key, gpg, import_keys, kill_agent
from tkalert.openpgp.unseal import unseal

__all__ = ["Keys", "SYSTEM_UID", "VENDOR_UID", "gpg", "make_keys"]

VENDOR_UID = "Vendor Support <callhome@vendor.test>"
SYSTEM_UID = "tkalert system <tkalert@customer.test>"


@dataclass
class Keys:
    vendor_home: Path
    sender_home: Path
    vendor: str
    system: str
    decoy: str
    expired: str
    homes: list[Path] = field(default_factory=list)

    def decrypt(self, payload: bytes) -> tuple[bytes, str | None]:
        """Decrypt as the vendor: (plaintext, fingerprint of the valid signer or None)."""
        opened = unseal(payload, self.vendor_home)
        return opened.plaintext, opened.signer

    def sender_copy(self, path: Path) -> Path:
        """A private copy of the sender's home, for tests that damage it."""
        shutil.copytree(self.sender_home, path, ignore=shutil.ignore_patterns("S.*", "*.lock"))
        path.chmod(0o700)
        self.homes.append(path)
        return path

    def close(self) -> None:
        """Stop the gpg-agent of every home, copies included."""
        for home in self.homes:
            kill_agent(home)


def make_keys(base: Path) -> Keys:
    """The whole cast in homes under base: vendor/, sender/ and decoy/."""
    vendor_home, sender_home, decoy_home = base / "vendor", base / "sender", base / "decoy"
    vendor = generate_key(vendor_home, VENDOR_UID)
    expired = generate_key(vendor_home, "Vendor Old <old@vendor.test>", expire="1d", faked_time="20200101T000000")
    decoy = generate_key(decoy_home, VENDOR_UID)
    system = generate_key(sender_home, SYSTEM_UID)
    for home, fingerprint in ((vendor_home, vendor), (vendor_home, expired), (decoy_home, decoy)):
        import_keys(sender_home, export_public(home, fingerprint))
    import_keys(vendor_home, export_public(sender_home, system))
    return Keys(vendor_home, sender_home, vendor, system, decoy, expired, [vendor_home, sender_home, decoy_home])
