"""The key cast, in real GnuPG homes made with tkalert's own key functions (tkalert.openpgp.keys).

The *vendor* (holds the secret key messages are encrypted to), the *system* (this machine's signing key, kept in
the sender's home next to the vendor's public key), a *decoy* (another key carrying the vendor's user id, planted
in the sender's keyring) and an *expired* vendor key. `decrypt` opens a payload as the vendor does
(tkalert.openpgp.unseal); `sender_copy` gives a test a private copy of the sender's home to damage.

For the receiver, made on first use (each costs a key generation): `signer(name)` gives other senders, each in a
home of its own holding the vendor's public key: "stranger" and "successor" (valid keys the vendor never saw),
"expired" (a key that expired in 2020; it signs as of then) and "revoked" (signs with the key, while its public
half carries the revocation). `legacy_vendor()` is TKalert 1.5's vendor key: RSA, protected by
LEGACY_PASSPHRASE, in the vendor's home. `vendor_copy` gives a test a private copy of the vendor's home.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tkalert.openpgp.keys import export_public, generate_key, gpg, import_keys, kill_agent
from tkalert.openpgp.seal import seal_document
from tkalert.openpgp.unseal import unseal

__all__ = ["Keys", "LEGACY_PASSPHRASE", "SYSTEM_UID", "Signer", "VENDOR_UID", "gpg", "make_keys"]

VENDOR_UID = "Vendor Support <callhome@vendor.test>"
SYSTEM_UID = "tkalert system <tkalert@customer.test>"
LEGACY_PASSPHRASE = "tkalert 1.5 vendor passphrase"
EXPIRED_TIME = "20200101T000000"  # the expired signer's key is made then, valid for a day


@dataclass
class Signer:
    """A sender's signing key in a home of its own that also holds the vendor's public key."""

    home: Path
    fingerprint: str
    public_home: Path | None = None  # where its public half is exported from, when that differs (revoked)
    faked_time: str | None = None  # signs as of then (expired)

    def public(self) -> bytes:
        return export_public(self.public_home or self.home, self.fingerprint)

    def seal(self, document: bytes, vendor: str) -> bytes:
        """Sign with this key and encrypt to `vendor`, armored, as tkalert's seal step does."""
        if self.faked_time is None:
            return seal_document(document, self.home, (vendor,), self.fingerprint)
        # --ignore-valid-from: as of then, the vendor key is not made yet
        return gpg(self.home, "--faked-system-time", self.faked_time, "--ignore-time-conflict", "--ignore-valid-from",
                   "--trust-model", "always", "--armor", "--encrypt", "--recipient", vendor, "--sign", "--local-user",
                   f"{self.fingerprint}!", input=document).stdout


@dataclass
class Keys:
    vendor_home: Path
    sender_home: Path
    vendor: str
    system: str
    decoy: str
    expired: str
    homes: list[Path] = field(default_factory=list)
    signers: dict[str, Signer] = field(default_factory=dict)
    legacy: str | None = None

    def decrypt(self, payload: bytes) -> tuple[bytes, str | None]:
        """Decrypt as the vendor: (plaintext, fingerprint of the valid signer or None)."""
        opened = unseal(payload, self.vendor_home)
        return opened.plaintext, opened.signer

    def sender_copy(self, path: Path, home: Path | None = None) -> Path:
        """A private copy of the sender's home (or `home`), for tests that damage it."""
        shutil.copytree(home or self.sender_home, path, ignore=shutil.ignore_patterns("S.*", "*.lock"))
        path.chmod(0o700)
        self.homes.append(path)
        return path

    def vendor_copy(self, path: Path) -> Path:
        """A private copy of the vendor's home (its own gpg-agent), for tests that change it."""
        return self.sender_copy(path, self.vendor_home)

    def signer(self, name: str) -> Signer:
        """"stranger", "successor", "expired" or "revoked": made on first use, then kept for the session."""
        if name not in self.signers:
            self.signers[name] = _make_signer(self, name)
        return self.signers[name]

    def legacy_vendor(self) -> str:
        """TKalert 1.5's vendor key (RSA 2048, LEGACY_PASSPHRASE) in the vendor's home; its fingerprint."""
        if self.legacy is None:
            self.legacy = _generate_protected(self.vendor_home, "Vendor Legacy <legacy@vendor.test>")
            sender = self.homes[0].parent / "legacy-sender"
            sender.mkdir(mode=0o700)
            import_keys(sender, export_public(self.vendor_home, self.legacy))
            self.homes.append(sender)
        return self.legacy

    def legacy_seal(self, document: bytes) -> bytes:
        """Encrypt as TKalert 1.5 did: `gpg --encrypt -a -r KEY` to the legacy vendor key, no signature."""
        fingerprint = self.legacy_vendor()
        return gpg(self.homes[0].parent / "legacy-sender", "--trust-model", "always", "--encrypt", "-a", "-r",
                   fingerprint, input=document).stdout

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


def _make_signer(keys: Keys, name: str) -> Signer:
    base = keys.homes[0].parent
    home = base / f"signer-{name}"
    uid = f"tkalert {name} <tkalert@{name}.test>"
    if name == "expired":
        fingerprint = generate_key(home, uid, "ed25519", "sign", "1d", faked_time=EXPIRED_TIME)
    else:
        fingerprint = generate_key(home, uid, "ed25519", "sign", "0")
    import_keys(home, export_public(keys.vendor_home, keys.vendor))
    keys.homes.append(home)
    if name == "expired":
        return Signer(home, fingerprint, faked_time="20200101T120000")
    if name == "revoked":
        revoked = keys.sender_copy(base / "signer-revoked-public", home)
        certificate = (home / "openpgp-revocs.d" / f"{fingerprint}.rev").read_bytes()
        import_keys(revoked, certificate.replace(b":-----BEGIN", b"-----BEGIN"))
        return Signer(home, fingerprint, public_home=revoked)
    return Signer(home, fingerprint)


def _generate_protected(home: Path, uid: str) -> str:
    """An RSA key with a passphrase, as vendors made them for TKalert 1.5; its fingerprint."""
    protected = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase",
                 LEGACY_PASSPHRASE]
    subprocess.run([*protected, "--quick-gen-key", uid, "rsa2048", "cert,sign", "0"], capture_output=True, check=True)
    lines = gpg(home, "--with-colons", "--list-secret-keys", uid).stdout.decode().splitlines()
    fingerprint = next(line for line in lines if line.startswith("fpr:")).split(":")[9]
    subprocess.run([*protected, "--quick-add-key", fingerprint, "rsa2048", "encr", "0"], capture_output=True,
                   check=True)
    return fingerprint
