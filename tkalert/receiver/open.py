"""Open: a stored raw message in, an `Opened` (or `Refused` with a stable reason) out. Ingest stored it; judge
and store act on what comes out. No Django here: the worker calls it, and so can anyone with a vendor home.

Steps, cheapest first, each refusing with its own reason: the mail's shape and size (tkalert.receiver.envelope);
the armor, read in Python (tkalert.openpgp.armor); one gpg run that decrypts with the vendor key and reports the
signature (tkalert.openpgp.unseal, plaintext capped); the hardened parse and the schema (tkalert.document.reader);
the signer against the pin; the signed message id against the mail's claim (headers are not signed).

Trust is the pin, never the keyring. A signature counts only when gpg calls it good AND its primary key's
fingerprint equals `directory.pinned_key(system_id)`; gpg's `--trust-model always` and python-gnupg's `valid`
would accept any key in the keyring. So the vendor home may hold keys that trust nothing by being there, but we
still keep strangers out of it: a key a sender attaches is imported only into a scratch home of its own
(tkalert.openpgp.attached), whose keyring gpg reads next to the vendor's for a second run, and only when the first
run could not find the signer's key. First contact (nothing pinned, the attached key made the signature) returns
that key, minimal and armored, in `first_contact_key` for the store to pin; the vendor home is untouched. A key is
imported into the vendor home only once it is pinned: when a later message carries the pinned key and the home
lacks it, or when the store calls `trust_key` (`systems trust`). Later messages then need one gpg run.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from tkalert.document.reader import Limits as DocumentLimits
from tkalert.document.reader import UnsafeDocument, parse_untrusted, validate
from tkalert.openpgp.armor import PUBLIC_KEY_ENCRYPTED, SYMMETRIC_KEY_ENCRYPTED, ArmorError, dearmor
from tkalert.openpgp.armor import first_packet_tag
from tkalert.openpgp.attached import AttachedKey, import_pinned
from tkalert.openpgp.multifile import decrypt_files
from tkalert.openpgp.unseal import Opening, Signature, decrypt
from tkalert.receiver.envelope import Envelope, read_envelope
from tkalert.receiver.legacy import is_legacy, open_legacy
from tkalert.receiver.opened import Directory, Opened, Refused, fields_of, utc

__all__ = ["Directory", "Limits", "Opened", "Refused", "Sealed", "open_message", "seal_batch", "trust_key"]

# gpg's signature states that refuse a message on their own, whoever the signer is.
SIGNATURE_REFUSALS = {"bad": "bad-signature", "error": "bad-signature", "expired-key": "expired-key",
                      "revoked-key": "revoked-key", "expired-signature": "expired-signature"}
MAX_SEQUENCE = (1 << 63) - 1  # a database's BIGINT


@dataclass(frozen=True)
class Limits:
    mail_bytes: int = 10 << 20
    key_bytes: int = 256 << 10
    document: DocumentLimits = field(default_factory=DocumentLimits)
    gpg_seconds: float = 30


@dataclass(frozen=True)
class Sealed:
    """A message's envelope and OpenPGP packets, read in Python before any gpg runs; `opening` is what a batch's
    gpg run found for it when that was certain (tkalert.openpgp.multifile), else None: open runs gpg itself."""

    envelope: Envelope
    packets: bytes
    opening: Opening | None = None


def open_message(raw: bytes, *, home: Path, passphrase: str | None, directory: Directory,
                 claimed_id: str | None = None, limits: Limits = Limits(), sealed: Sealed | None = None) -> Opened:
    """Decrypt, verify against the pin, parse and validate one raw message; raise Refused for any bad input.
    The receiver's own trouble (gpg missing, the vendor home unusable, a wrong vendor passphrase) raises
    tkalert.errors.SealError instead: the message is fine, it is to be retried once that is fixed. `sealed`:
    what `seal_batch` already read of `raw`."""
    sealed = sealed or unwrap(raw, limits)
    envelope = sealed.envelope
    gpg = partial(decrypt, sealed.packets, home, passphrase=passphrase,
                  max_output=limits.document.max_bytes, timeout=limits.gpg_seconds)
    opening = _decrypted(sealed.opening or gpg(), limits)
    root = _guarded(parse_untrusted, opening.plaintext, limits.document)
    if not opening.signatures:
        if is_legacy(root):
            return _guarded(open_legacy, root, opening.plaintext, directory)
        raise Refused("unsigned", "the message is not signed (only TKalert 1.5 documents may be, for legacy "
                                  "contracts)")
    _guarded(validate, root)
    signer, first_contact_key = _trusted_signer(opening.signatures[0], root.findtext("system-id"), envelope,
                                                directory, gpg, home)
    _check_claim(root.findtext("message-id"), claimed_id, envelope)
    return _opened(root, opening.plaintext, signer, first_contact_key)


def unwrap(raw: bytes, limits: Limits = Limits()) -> Sealed:
    """The envelope and packets of one raw message, or Refused: open's first steps, no gpg yet."""
    envelope = read_envelope(raw, limits.mail_bytes, limits.key_bytes)
    return Sealed(envelope, _packets(envelope.payload))


def seal_batch(raws: list[bytes], *, home: Path, passphrase: str | None, workdir: Path,
               limits: Limits = Limits()) -> list[Sealed | Refused]:
    """A batch's messages read and decrypted with one gpg run, each for `open_message(raw, sealed=...)`, or the
    Refused that open_message would raise first. Messages gpg did not open with certainty carry no opening:
    open_message decrypts them alone, as ever, so the batch never changes a verdict."""
    unwrapped: list[Sealed | Refused] = []
    for raw in raws:
        try:
            unwrapped.append(unwrap(raw, limits))
        except Refused as refused:
            unwrapped.append(refused)
    ready = [sealed for sealed in unwrapped if isinstance(sealed, Sealed)]
    openings = iter(decrypt_files([sealed.packets for sealed in ready], home, workdir, passphrase=passphrase,
                                  max_output=limits.document.max_bytes, timeout=limits.gpg_seconds))
    return [replace(sealed, opening=next(openings)) if isinstance(sealed, Sealed) else sealed
            for sealed in unwrapped]


def trust_key(home: Path, armored_key: bytes | str) -> None:
    """Import a pinned key (an `Opened.first_contact_key`, or one an admin registers) into the vendor home."""
    import_pinned(home, armored_key.encode("ascii") if isinstance(armored_key, str) else armored_key)


def _packets(payload: bytes) -> bytes:
    try:
        packets = dearmor(payload)
    except ArmorError as exc:
        raise Refused(exc.reason, str(exc)) from None
    tag = first_packet_tag(packets)
    if tag == SYMMETRIC_KEY_ENCRYPTED:
        raise Refused("symmetric", "encrypted with a passphrase, not to the vendor key")
    if tag != PUBLIC_KEY_ENCRYPTED:
        raise Refused("not-encrypted", f"an OpenPGP message that is not encrypted (first packet tag {tag})")
    return packets


def _decrypted(opening: Opening, limits: Limits) -> Opening:
    if opening.over_limit:
        raise Refused("too-large", f"the plaintext passed {limits.document.max_bytes} bytes (compression bomb?)")
    if opening.timed_out:
        raise Refused("timeout", f"gpg took more than {limits.gpg_seconds:g} s over the message")
    if opening.symmetric:
        raise Refused("symmetric", "encrypted with a passphrase, not to the vendor key")
    if opening.errors:  # e.g. an unsigned plaintext next to a signed one (gpg: "multiple plaintexts seen")
        raise Refused("malformed-openpgp", f"gpg found the packets malformed: {'; '.join(opening.errors)[:200]}")
    if opening.signatures:
        _signature_state(opening.signatures)  # gpg stops before DECRYPTION_OKAY after a bad signature
    if not opening.decrypted:
        if opening.missing_keys:
            raise Refused("wrong-vendor-key", f"encrypted to key(s) {', '.join(opening.missing_keys)}, "
                                              "not to the vendor key")
        raise Refused("undecryptable", f"gpg could not decrypt the message: {opening.said or 'no reason given'}")
    return opening


def _guarded(step, *args):
    try:
        return step(*args)
    except UnsafeDocument as exc:
        raise Refused(exc.reason, str(exc)) from None


def _signature_state(signatures: tuple[Signature, ...]) -> None:
    if len(signatures) > 1:
        raise Refused("many-signatures", f"{len(signatures)} signatures; tkalert signs with the system key once")
    refusal = SIGNATURE_REFUSALS.get(signatures[0].state)
    if refusal:
        raise Refused(refusal, f"signature by {signatures[0].signer or 'an unknown key'}: {signatures[0].state}")


def _trusted_signer(signature: Signature, system_id: str, envelope: Envelope, directory: Directory, gpg,
                    home: Path) -> tuple[str, str | None]:
    """The pinned signer's fingerprint and, on first contact, the key to pin; or Refused."""
    pinned = _fingerprint(directory.pinned_key(system_id))
    if signature.state == "good" and pinned == signature.signer:
        return signature.signer, None
    if pinned and signature.signer and not _same_key(pinned, signature.signer):
        raise Refused("key-changed", f"system {system_id!r} is pinned to {pinned}, the message is signed by "
                                     f"{signature.signer}")
    if envelope.attached_key is None:
        raise Refused("unknown-signer", f"signed by {signature.signer or 'an unknown key'}, which is not "
                                        f"{'in the vendor keyring' if pinned else 'pinned'} for system "
                                        f"{system_id!r}, and no key is attached")
    return _with_attached_key(envelope.attached_key, signature, pinned, system_id, gpg, home)


def _with_attached_key(armored: bytes, signature: Signature, pinned: str | None, system_id: str, gpg,
                       home: Path) -> tuple[str, str | None]:
    try:
        with AttachedKey(armored) as attached:
            if signature.state != "good":  # the vendor home lacks the signer's key: verify with the attached one
                opening = gpg(keyring=attached.keyring)
                _signature_state(opening.signatures)
                signature = opening.signatures[0] if opening.signatures else Signature("error", "")
            signer = signature.signer
            if signature.state != "good" or signer not in attached.fingerprints:
                raise Refused("unknown-signer", f"the attached key did not make the signature (by {signer or '?'})")
            if pinned and pinned != signer:
                raise Refused("key-changed", f"system {system_id!r} is pinned to {pinned}, the message is signed "
                                             f"by {signer}")
            key = attached.export(signer)
    except subprocess.TimeoutExpired:
        raise Refused("timeout", "gpg took too long over the attached key") from None
    if pinned:  # pinned, yet the vendor home lacked the key: keep it, so later messages need one gpg run
        import_pinned(home, key)
        return signer, None
    return signer, key.decode("ascii")


def _check_claim(signed_id: str, claimed_id: str | None, envelope: Envelope) -> None:
    claims = (claimed_id,) if claimed_id is not None else envelope.claimed_ids
    if len(claims) != 1 or claims[0] != signed_id:
        said = ", ".join(repr(c) for c in claims) or "none"
        raise Refused("id-mismatch", f"the signed message id {signed_id} is not the one the mail claims ({said})")


def _opened(root, document: bytes, signer: str, first_contact_key: str | None) -> Opened:
    events = root.find("events")
    embedded = ()
    if events is not None:
        embedded = tuple(_opened(event, _serialised(event), signer, first_contact_key)
                         for event in events if isinstance(event.tag, str))
        _check_digest(root, events, embedded)
    sequence = int(root.findtext("sequence"))
    if sequence > MAX_SEQUENCE:
        raise Refused("schema", f"sequence {sequence} does not fit a 64-bit counter")
    try:
        signed_at = utc(root.findtext("timestamp"))
    except (ValueError, OverflowError):
        raise Refused("schema", f"timestamp {root.findtext('timestamp')} is out of range") from None
    return Opened(document_type=root.tag, legacy=False, auth_key=root.findtext("authkey", "").strip(),
                  system_id=root.findtext("system-id"), message_id=root.findtext("message-id"), sequence=sequence,
                  signed_at=signed_at, signer=signer, first_contact_key=first_contact_key, fields=fields_of(root),
                  events=embedded, document=document)


def _check_digest(root, events, embedded: tuple[Opened, ...]) -> None:
    system_id = root.findtext("system-id")
    strangers = {e.system_id for e in embedded} - {system_id}
    if strangers:
        raise Refused("digest-mismatch", f"a digest of system {system_id!r} embeds events of {sorted(strangers)}")
    if int(events.get("count")) != len(embedded):
        raise Refused("digest-mismatch", f"the digest says {events.get('count')} events and holds {len(embedded)}")


def _serialised(element) -> bytes:
    from lxml import etree

    return etree.tostring(element, encoding="UTF-8", xml_declaration=True, with_tail=False)


def _fingerprint(value: str | None) -> str | None:
    return "".join(value.split()).upper() if value else None


def _same_key(pinned: str, named: str) -> bool:
    """gpg names an unknown signer by fingerprint or by long key id (the fingerprint's last 16 digits)."""
    return pinned == named or (len(named) == 16 and pinned.endswith(named))
