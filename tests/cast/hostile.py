"""The hostile corpus: raw messages the vendor's receiver must refuse, each with the one reason it must give.

`hostile_cases(keys)` builds every case from the key cast (real gpg keys, real signatures); each `Hostile` is raw
RFC 822 bytes as ingest stores them plus the expected reason. Most are refused by the open step
(tkalert.receiver.open: `Refused.reason`); the cases marked `judge` open fine and are the judge's to refuse
("replay", "sequence-backwards", "unknown-auth-key"), after the messages in `before` were accepted.

The receiver under test is set up as `setup(keys)` says: the vendor's home (keys.vendor_home, with the legacy key
made: its passphrase is LEGACY_PASSPHRASE), `pins` (system id -> pinned fingerprint) and `contracts` (auth key ->
marked legacy?). Every case that is not about the signature is signed by the pinned system key and claims its own
message id, so the one defect it carries is the one refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cast import mails
from cast.keys import LEGACY_PASSPHRASE, gpg
from cast.mails import AUTH_KEY, LEGACY_AUTH_KEY, SYSTEM_ID, UNKNOWN_AUTH_KEY, mail, sealed_mail, signed_id
from tkalert.openpgp.keys import export_public
from tkalert.openpgp.seal import seal_document

JUDGE_REPLAY_SYSTEM = "judge-replay"
JUDGE_SEQUENCE_SYSTEM = "judge-sequence"
MIB = 1 << 20


@dataclass(frozen=True)
class Hostile:
    name: str
    raw: bytes
    reason: str
    judge: bool = False  # opens fine; the judge refuses it
    before: tuple[bytes, ...] = ()  # accepted first, in this order (judge cases)


@dataclass(frozen=True)
class Setup:
    passphrase: str
    pins: dict[str, str]  # system id -> pinned fingerprint
    contracts: dict[str, bool]  # auth key -> marked legacy


def setup(keys) -> Setup:
    keys.legacy_vendor()
    pins = {system: keys.system for system in (SYSTEM_ID, JUDGE_REPLAY_SYSTEM, JUDGE_SEQUENCE_SYSTEM)}
    return Setup(LEGACY_PASSPHRASE, pins, {AUTH_KEY: False, LEGACY_AUTH_KEY: True})


def hostile_cases(keys) -> list[Hostile]:
    setup(keys)
    cases = [*_envelopes(keys), *_openpgp(keys), *_signatures(keys), *_documents(keys), *_legacy(keys),
             *_judged(keys)]
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "hostile case names must be unique"
    return cases


def _envelopes(keys) -> list[Hostile]:
    good = sealed_mail(keys, mails.document())
    return [
        Hostile("20-mib-message", good + b"\r\n" + b"A" * (20 * MIB), "too-large"),
        Hostile("1000-mime-parts", _many_parts(1000), "too-many-parts"),
        Hostile("nested-multipart-bomb", _nested_multipart(5000), "too-many-parts"),
        Hostile("three-part-pgp-mime", _many_parts(3, "encrypted"), "too-many-parts"),
        Hostile("empty-body", _plain(b""), "empty-body"),
        Hostile("non-utf8-body", _plain(b"-----BEGIN PGP MESSAGE-----\r\n\r\n\xff\xfe\xe4\xf6\r\n"), "not-utf8"),
        Hostile("plain-xml-body", _plain(mails.document(), "text/xml"), "not-encrypted"),
        Hostile("plain-xml-in-text-plain", _plain(mails.document()), "not-encrypted"),
        Hostile("image-body", _plain(b"\x89PNG\r\n", "image/png"), "not-a-tkalert-message"),
        Hostile("key-attachment-without-key", _with_part(good, b"not a key"), "bad-key-attachment"),
        Hostile("garbage-armor", _plain(b"-----BEGIN PGP MESSAGE-----\r\n\r\n!!! not base64 ***\r\n"
                                        b"-----END PGP MESSAGE-----\r\n"), "garbage-armor"),
        Hostile("no-armor-at-all", _plain(b"Hello, this is not OpenPGP.\r\n"), "garbage-armor"),
        Hostile("truncated-armor", _truncated(good), "truncated-armor"),
    ]


def _openpgp(keys) -> list[Hostile]:
    doc = mails.document()
    signed_only = gpg(keys.sender_home, "--armor", "--sign", "--local-user", f"{keys.system}!", input=doc).stdout
    clear = gpg(keys.sender_home, "--clearsign", "--local-user", f"{keys.system}!", input=doc).stdout
    symmetric = gpg(keys.sender_home, "--passphrase", "guess", "--armor", "--symmetric", input=doc).stdout
    bomb = mails.document()
    bomb = bomb.replace(b"<contact-name>", b"<contact-name>" + b" " * (24 * MIB))
    return [
        Hostile("wrong-vendor-key", mail(seal_document(doc, keys.sender_home, (keys.decoy,), keys.system),
                                         signed_id(doc)), "wrong-vendor-key"),
        Hostile("signed-not-encrypted", mail(signed_only, signed_id(doc), "inline"), "not-encrypted"),
        Hostile("clear-signed", mail(clear, signed_id(doc), "inline"), "not-encrypted"),
        Hostile("symmetric-encryption", mail(symmetric, signed_id(doc)), "symmetric"),
        Hostile("compression-bomb", sealed_mail(keys, bomb), "too-large"),
        Hostile("unsigned-plaintext-before-signed", _smuggled(keys, doc), "malformed-openpgp"),
    ]


def _signatures(keys) -> list[Hostile]:
    stranger, successor = keys.signer("stranger"), keys.signer("successor")
    new = mails.document(system_id="never-seen")
    ours = mails.document()
    return [
        Hostile("unsigned", mail(seal_document(ours, keys.sender_home, (keys.vendor,), None), signed_id(ours)),
                "unsigned"),
        Hostile("unknown-signer", sealed_mail(keys, new, signer=stranger), "unknown-signer"),
        Hostile("attached-key-not-the-signers", mail(stranger.seal(new, keys.vendor), signed_id(new),
                                                     attach=successor.public()), "unknown-signer"),
        Hostile("other-key-than-pinned", sealed_mail(keys, ours, signer=stranger, attach=True), "key-changed"),
        Hostile("other-key-than-pinned-no-attachment", sealed_mail(keys, ours, signer=stranger), "key-changed"),
        Hostile("expired-key", sealed_mail(keys, mails.document(system_id="expired-system"), attach=True,
                                           signer=keys.signer("expired")), "expired-key"),
        Hostile("revoked-key", sealed_mail(keys, mails.document(system_id="revoked-system"), attach=True,
                                           signer=keys.signer("revoked")), "revoked-key"),
        Hostile("bad-signature", _tampered(keys, ours), "bad-signature"),
        Hostile("two-signatures", _two_signatures(keys, ours), "many-signatures"),
        Hostile("message-id-differs-from-header",
                sealed_mail(keys, ours, message_id="00000000-0000-4000-8000-000000000000"), "id-mismatch"),
        Hostile("message-id-header-missing", sealed_mail(keys, ours, message_id=None), "id-mismatch"),
    ]


def _documents(keys) -> list[Hostile]:
    laughs = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    xml_cases = [
        ("malformed-xml", lambda d: d.replace(b"</contact-name>", b"</contact-nam>"), "malformed-xml"),
        ("doctype-file-xxe", _doctype('<!ENTITY xxe SYSTEM "file:///etc/passwd">', "&xxe;"), "doctype"),
        ("doctype-network-xxe", _doctype('<!ENTITY xxe SYSTEM "http://127.0.0.1:9/evil">', "&xxe;"), "doctype"),
        ("external-dtd", lambda d: _after_declaration(d, b'<!DOCTYPE heartbeat SYSTEM "http://127.0.0.1:9/x.dtd">'),
         "doctype"),
        ("parameter-entity", _doctype('<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;', "x"), "doctype"),
        ("billion-laughs", _doctype('<!ENTITY lol0 "lol">' + laughs, "&lol9;"), "doctype"),
        ("quadratic-blowup", _doctype(f'<!ENTITY a "{"a" * 50_000}">', "&a;" * 50_000), "doctype"),
        ("deep-nesting", lambda d: _contact(d, "<a>" * 10_000 + "</a>" * 10_000), "too-deep"),
        ("huge-text-node", lambda d: _contact(d, "x" * (2 * MIB)), "text-too-long"),
        ("latin1-document", lambda d: d.replace(b"Testperson", "Testpers\u00f6n".encode("latin-1")), "not-utf8"),
        ("declared-latin1", lambda d: d.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"'), "not-utf8"),
        ("utf16-document", lambda d: d.replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode().encode("utf-16"),
         "not-utf8"),
        ("wrong-schema-root", lambda d: d.replace(b"<heartbeat ", b"<heartbeet ").replace(b"</heartbeat>",
                                                                                           b"</heartbeet>"), "schema"),
        ("wrong-schema-field", lambda d: d.replace(b"<sequence>1</sequence>", b"<sequence>-1</sequence>"), "schema"),
        ("sequence-past-64-bits", lambda d: d.replace(b"<sequence>1</sequence>", b"<sequence>9" + b"0" * 19
                                                      + b"</sequence>"), "schema"),
        ("timestamp-past-year-9999", lambda d: re.sub(rb"<timestamp>[^<]*", b"<timestamp>9999-12-31T24:00:00Z", d),
         "schema"),
        ("xinclude", lambda d: _contact(d, '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                                           'href="file:///etc/passwd" parse="text"/>'), "schema"),
    ]
    cases = []
    for name, damage, reason in xml_cases:
        doc = mails.document()
        cases.append(Hostile(name, mail(seal_document(damage(doc), keys.sender_home, (keys.vendor,), keys.system),
                                        signed_id(doc)), reason))
    foreign = mails.digest([mails.document(system_id="someone-else")])
    cases.append(Hostile("digest-of-another-systems-events", sealed_mail(keys, foreign), "digest-mismatch"))
    return cases


def _legacy(keys) -> list[Hostile]:
    return [
        Hostile("legacy-document-for-non-legacy-contract",
                mail(keys.legacy_seal(mails.legacy_document(auth_key=AUTH_KEY)), None, "inline"),
                "legacy-not-allowed"),
        Hostile("legacy-document-unknown-version",
                mail(keys.legacy_seal(mails.legacy_document(version="2.0")), None, "inline"), "schema"),
    ]


def _judged(keys) -> list[Hostile]:
    first = sealed_mail(keys, mails.document(system_id=JUDGE_REPLAY_SYSTEM, sequence=1))
    tenth = sealed_mail(keys, mails.document(system_id=JUDGE_SEQUENCE_SYSTEM, sequence=10))
    fifth = sealed_mail(keys, mails.document(system_id=JUDGE_SEQUENCE_SYSTEM, sequence=5))
    return [
        Hostile("replay", first, "replay", judge=True, before=(first,)),
        Hostile("sequence-backwards", fifth, "sequence-backwards", judge=True, before=(tenth,)),
        Hostile("unknown-auth-key", sealed_mail(keys, mails.document(auth_key=UNKNOWN_AUTH_KEY)),
                "unknown-auth-key", judge=True),
    ]


# --- builders ---------------------------------------------------------------------------------------------------


def _plain(body: bytes, content_type: str = "text/plain") -> bytes:
    return (f"From: x@customer.test\r\nTo: callhome@vendor.test\r\nSubject: tkalert heartbeat\r\n"
            f"Content-Type: {content_type}\r\nX-Tkalert-Message-Id: 00000000-0000-4000-8000-000000000001\r\n"
            "\r\n").encode() + body


def _many_parts(count: int, subtype: str = "mixed") -> bytes:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npart\r\n" for _ in range(count))
    return (f"Content-Type: multipart/{subtype}; boundary=b; protocol=\"application/pgp-encrypted\"\r\n\r\n"
            .encode() + parts + b"--b--\r\n")


def _nested_multipart(depth: int) -> bytes:
    heads = b"".join(f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n".encode() for i in range(depth))
    return heads + b"Content-Type: text/plain\r\n\r\nx\r\n"


def _with_part(raw: bytes, content: bytes) -> bytes:
    return mails._attached(raw, content)  # the shape of RFC 3156 section 7, a part that is no key


def _truncated(raw: bytes) -> bytes:
    return raw[:raw.index(b"-----BEGIN PGP MESSAGE-----") + 400]


def _doctype(declarations: str, contact: str):
    def damage(doc: bytes) -> bytes:
        return _contact(_after_declaration(doc, f"<!DOCTYPE heartbeat [{declarations}]>".encode()), contact)
    return damage


def _after_declaration(doc: bytes, text: bytes) -> bytes:
    end = doc.index(b"?>") + 2
    return doc[:end] + b"\n" + text + doc[end:]


def _contact(doc: bytes, text: str) -> bytes:
    return re.sub(rb"<contact-name>[^<]*</contact-name>", b"<contact-name>" + text.encode() + b"</contact-name>",
                  doc)


def _tampered(keys, doc: bytes) -> bytes:
    """A signature by the pinned key over other bytes: the signed packets changed, then encrypted as they are."""
    signed = bytearray(gpg(keys.sender_home, "-z", "0", "--sign", "--local-user", f"{keys.system}!", input=doc).stdout)
    at = signed.find(b"Testperson")
    signed[at:at + 10] = b"Evilperson"
    return mail(_encrypt_packets(keys, bytes(signed)), signed_id(doc))


def _smuggled(keys, doc: bytes) -> bytes:
    """An unsigned plaintext ahead of a signed one, inside one encryption (gpg: "multiple plaintexts seen")."""
    evil = gpg(keys.sender_home, "-z", "0", "--store", input=doc.replace(b"Testperson", b"Evilperson")).stdout
    signed = gpg(keys.sender_home, "-z", "0", "--sign", "--local-user", f"{keys.system}!", input=doc).stdout
    return mail(_encrypt_packets(keys, evil + signed), signed_id(doc))


def _encrypt_packets(keys, packets: bytes) -> bytes:
    # --no-literal: encrypt these packets as they are, not wrapped in a literal packet of their own
    return gpg(keys.sender_home, "--trust-model", "always", "--no-literal", "--armor", "--encrypt", "--recipient",
               keys.vendor, input=packets).stdout


def _two_signatures(keys, doc: bytes) -> bytes:
    """Signed by the pinned key and by a stranger, whose secret key sits in a copy of the sender's home."""
    stranger = keys.signer("stranger")
    home = keys.homes[0].parent / "two-signers"
    if not home.exists():
        keys.sender_copy(home)
        secret = gpg(stranger.home, "--armor", "--export-secret-keys", stranger.fingerprint).stdout
        gpg(home, "--import", input=secret + export_public(stranger.home, stranger.fingerprint))
    armored = gpg(home, "--trust-model", "always", "--armor", "--encrypt", "--recipient", keys.vendor, "--sign",
                  "--local-user", f"{keys.system}!", "--local-user", f"{stranger.fingerprint}!", input=doc).stdout
    return mail(armored, signed_id(doc))
