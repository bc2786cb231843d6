"""Open, TKalert 1.5's documents: unsigned, inline armored, encrypted to a passphrase-protected RSA key, accepted
only for contracts marked legacy. Built with gpg as 1.5 did (`gpg --encrypt -a -r KEY`, no signature)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cast import mails
from cast.keys import LEGACY_PASSPHRASE
from cast.mails import LEGACY_AUTH_KEY, MemoryDirectory
from tkalert.errors import SealError
from tkalert.receiver.open import Refused, open_message

LEGACY = MemoryDirectory(legacy={LEGACY_AUTH_KEY})


def legacy_mail(keys, doc: bytes) -> bytes:
    return mails.mail(keys.legacy_seal(doc), None, "inline")


def open_legacy(keys, raw: bytes, directory=LEGACY, home=None, passphrase=LEGACY_PASSPHRASE):
    return open_message(raw, home=home or keys.vendor_home, passphrase=passphrase, directory=directory)


def test_legacy_alert_opens_with_its_fields(keys):
    doc = mails.legacy_document("alert")
    result = open_legacy(keys, legacy_mail(keys, doc))
    assert (result.document_type, result.legacy, result.auth_key) == ("alert", True, LEGACY_AUTH_KEY)
    assert (result.system_id, result.message_id, result.sequence, result.signer) == (None, None, None, None)
    assert result.signed_at == datetime(2012, 10, 11, 16, 54, 34, tzinfo=timezone.utc)
    assert result.fields["service/duration"] == "1.196 seconds"
    assert result.fields["service/component-serial"] == "" and "contact-name" not in result.fields
    assert result.fields["@version"] == "1.5" and result.document == doc


@pytest.mark.parametrize("version", ("0.1-dev", "1.5"))
def test_legacy_heartbeat_of_every_version(keys, version):
    result = open_legacy(keys, legacy_mail(keys, mails.legacy_document("heartbeat", version=version)))
    assert result.document_type == "heartbeat" and result.fields["@version"] == version


def test_legacy_epoch_date(keys):
    result = open_legacy(keys, legacy_mail(keys, mails.legacy_document("heartbeat", date="1349974474")))
    assert result.signed_at == datetime(2012, 10, 11, 16, 54, 34, tzinfo=timezone.utc)


def test_legacy_document_for_a_contract_not_marked_legacy(keys):
    with pytest.raises(Refused) as refused:
        open_legacy(keys, legacy_mail(keys, mails.legacy_document()), MemoryDirectory())
    assert refused.value.reason == "legacy-not-allowed"
    assert LEGACY_AUTH_KEY in refused.value.detail


def test_unsigned_tkalert_document_is_no_legacy_document(keys):
    with pytest.raises(Refused) as refused:
        open_legacy(keys, legacy_mail(keys, mails.document(auth_key=LEGACY_AUTH_KEY)))
    assert refused.value.reason == "unsigned"


def test_wrong_vendor_passphrase_is_the_receivers_trouble_not_the_messages(keys, tmp_path):
    keys.legacy_vendor()
    home = keys.vendor_copy(tmp_path / "vendor")  # its own gpg-agent: no passphrase cached
    with pytest.raises(SealError, match="passphrase, and the one given is wrong"):
        open_legacy(keys, legacy_mail(keys, mails.legacy_document()), home=home, passphrase="not it")
    with pytest.raises(SealError, match="passphrase, and the one given is missing"):
        open_legacy(keys, legacy_mail(keys, mails.legacy_document()), home=home, passphrase=None)
