"""Open, the happy paths: every mail shape and document type, the pin, first contact, with the real gpg."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cast import mails
from cast.mails import AUTH_KEY, SYSTEM_ID, MemoryDirectory, sealed_mail
from tkalert.document.reader import parse_valid
from tkalert.openpgp.keys import gpg
from tkalert.receiver.open import Refused, open_message

SHAPES = ("pgpmime", "inline", "https")


@pytest.fixture
def pins(keys) -> MemoryDirectory:
    return MemoryDirectory({SYSTEM_ID: keys.system})


def opened(keys, raw: bytes, directory, home=None, **kwargs):
    return open_message(raw, home=home or keys.vendor_home, passphrase=None, directory=directory, **kwargs)


@pytest.mark.parametrize("attach", (False, True), ids=("bare", "key-attached"))
@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_opens_to_the_signed_document(keys, pins, shape, attach):
    doc = mails.document("service", sequence=7)
    result = opened(keys, sealed_mail(keys, doc, shape, attach), pins)
    assert result.document == doc
    assert (result.document_type, result.legacy, result.signer) == ("alert", False, keys.system)
    assert (result.system_id, result.message_id, result.sequence) == (SYSTEM_ID, mails.signed_id(doc), 7)
    assert result.auth_key == AUTH_KEY and result.first_contact_key is None and result.events == ()
    assert result.fields["service/status"] == "CRITICAL" and result.fields["host/name"] == "host1.example.com"
    assert result.fields["contact-name"] == "Testperson" and result.fields["@version"]


@pytest.mark.parametrize("kind, root", (("heartbeat", "heartbeat"), ("test", "test"), ("host", "alert")))
def test_every_document_type(keys, pins, kind, root):
    now = 1_796_290_000
    doc = mails.document(kind, now=now)
    result = opened(keys, sealed_mail(keys, doc), pins)
    assert result.document_type == root
    assert result.signed_at == datetime.fromtimestamp(now, timezone.utc)
    assert result.fields["date"] == str(now)


def test_digest_opens_each_embedded_event_on_its_own(keys, pins):
    events = [mails.document("service", sequence=3, service_status="WARNING"), mails.document("host", sequence=4),
              mails.document("heartbeat", sequence=5)]
    doc = mails.digest(events, sequence=6)
    result = opened(keys, sealed_mail(keys, doc, "inline"), pins)
    assert result.document_type == "digest" and result.sequence == 6
    assert [e.document_type for e in result.events] == ["alert", "alert", "heartbeat"]
    assert [e.sequence for e in result.events] == [3, 4, 5]
    assert [e.message_id for e in result.events] == [mails.signed_id(d) for d in events]
    assert {e.signer for e in result.events} == {keys.system}
    assert result.events[0].fields["service/status"] == "WARNING"
    for event in result.events:
        parse_valid(event.document)
    assert "events/count" not in result.fields and "authkey" in result.fields


def test_claimed_id_argument_replaces_the_header(keys, pins):
    doc = mails.document()
    raw = sealed_mail(keys, doc, "https", message_id=None)
    assert opened(keys, raw, pins, claimed_id=mails.signed_id(doc)).message_id == mails.signed_id(doc)


def test_first_contact_returns_the_attached_key_and_leaves_the_vendor_home_alone(keys):
    stranger = keys.signer("stranger")
    doc = mails.document(system_id="new-system")
    before = _vendor_keys(keys)
    result = opened(keys, sealed_mail(keys, doc, attach=True, signer=stranger), MemoryDirectory())
    assert result.signer == stranger.fingerprint
    assert result.first_contact_key.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert _fingerprints_in(keys, result.first_contact_key.encode()) == {stranger.fingerprint}
    assert _vendor_keys(keys) == before


def test_first_contact_of_a_key_the_vendor_already_holds(keys):
    result = opened(keys, sealed_mail(keys, mails.document(system_id="fresh"), attach=True), MemoryDirectory())
    assert result.signer == keys.system and result.first_contact_key


def test_pinned_key_missing_from_the_home_is_taken_from_the_attachment_once(keys, tmp_path):
    home = keys.vendor_copy(tmp_path / "vendor")
    successor = keys.signer("successor")
    directory = MemoryDirectory({"pinned-elsewhere": successor.fingerprint})
    doc = mails.document(system_id="pinned-elsewhere")
    with pytest.raises(Refused) as refused:
        opened(keys, sealed_mail(keys, doc, signer=successor), directory, home)
    assert refused.value.reason == "unknown-signer"
    result = opened(keys, sealed_mail(keys, doc, attach=True, signer=successor), directory, home)
    assert result.signer == successor.fingerprint and result.first_contact_key is None
    again = mails.document(system_id="pinned-elsewhere", sequence=2)
    assert opened(keys, sealed_mail(keys, again, signer=successor), directory, home).sequence == 2


def _vendor_keys(keys) -> str:
    return gpg(keys.vendor_home, "--with-colons", "--list-keys").stdout.decode()


def _fingerprints_in(keys, armored: bytes) -> set[str]:
    shown = gpg(keys.vendor_home, "--with-colons", "--import-options", "show-only", "--import", input=armored)
    lines = shown.stdout.decode().splitlines()
    return {lines[i + 1].split(":")[9] for i, line in enumerate(lines) if line.startswith("pub:")}


def test_trust_key_lets_later_messages_through_without_an_attachment(keys, tmp_path):
    from tkalert.receiver.open import trust_key

    home = keys.vendor_copy(tmp_path / "vendor")
    stranger = keys.signer("stranger")
    first = opened(keys, sealed_mail(keys, mails.document(system_id="tofu"), attach=True, signer=stranger),
                   MemoryDirectory(), home)
    trust_key(home, first.first_contact_key)
    pinned = MemoryDirectory({"tofu": first.signer})
    later = opened(keys, sealed_mail(keys, mails.document(system_id="tofu", sequence=2), signer=stranger), pinned,
                   home)
    assert later.signer == stranger.fingerprint and later.sequence == 2


def test_caps_act_before_the_work(keys, pins):
    from tkalert.document.reader import Limits as DocumentLimits
    from tkalert.receiver.open import Limits

    raw = sealed_mail(keys, mails.document())
    cases = ((Limits(mail_bytes=len(raw) - 1), "too-large"), (Limits(gpg_seconds=0.001), "timeout"),
             (Limits(document=DocumentLimits(max_bytes=100)), "too-large"))
    for limits, reason in cases:
        with pytest.raises(Refused) as refused:
            opened(keys, raw, pins, limits=limits)
        assert refused.value.reason == reason


def test_workers_open_in_parallel_on_one_vendor_home(keys, pins):
    from concurrent.futures import ThreadPoolExecutor

    docs = [mails.document("service", sequence=n) for n in range(1, 17)]
    raws = [sealed_mail(keys, doc, ("pgpmime", "inline", "https")[n % 3], attach=n % 2 == 0)
            for n, doc in enumerate(docs)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda raw: opened(keys, raw, pins), raws))
    assert [r.sequence for r in results] == list(range(1, 17))
    assert [r.document for r in results] == docs


def test_end_of_day_timestamp_is_the_next_midnight(keys, pins):
    doc = mails.document()
    start = doc.index(b"<timestamp>") + len(b"<timestamp>")
    doc = doc[:start] + b"2026-12-03T24:00:00Z" + doc[doc.index(b"</timestamp>"):]
    assert opened(keys, sealed_mail(keys, doc), pins).signed_at == datetime(2026, 12, 4, tzinfo=timezone.utc)
