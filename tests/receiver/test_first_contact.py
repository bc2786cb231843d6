"""Trust on first use through the whole receiver: the first mail that carries its key (RFC 3156 section 7) pins
it, later mails need not carry it (the key went into the vendor home), another key is "key-changed" until an admin
forgets the old one; and the vendor's own trouble (a wrong passphrase) quarantines nothing."""

from __future__ import annotations

from cast import mails


def test_first_contact_pins_the_attached_key_and_later_mails_need_none(make_site, keys, database_url):
    site = make_site(database_url, trust=False)
    first = mails.sealed_mail(keys, mails.document(sequence=1), attach=True)
    later = mails.sealed_mail(keys, mails.document("service", sequence=2))
    stranger = keys.signer("stranger")
    other = mails.sealed_mail(keys, mails.document(sequence=3), attach=True, signer=stranger)
    for raw in (first, later, other):
        assert site.run("ingest", input=raw).returncode == 0
    site.ok("work", "--once")
    assert [(v, r) for v, r, _ in site.rows()] == [("accepted", ""), ("accepted", ""), ("quarantined", "key-changed")]
    assert site.rows("SELECT pinned_key FROM receiver_system") == [(keys.system,)]

    site.ok("systems", "forget-key", "test-system")
    site.ok("quarantine", "retry", "--reason", "key-changed")
    site.ok("work", "--once")
    assert site.rows()[-1][:2] == ("accepted", "")
    assert site.rows("SELECT pinned_key FROM receiver_system") == [(stranger.fingerprint,)]


def test_a_wrong_vendor_passphrase_leaves_the_message_stored_not_quarantined(tmp_path, make_site, keys,
                                                                             database_url):
    """The legacy vendor key needs its passphrase; a wrong one is the receiver's fault, never the message's."""
    keys.legacy_vendor()
    wrong = tmp_path / "passphrase"
    wrong.write_text("not the passphrase")
    site = make_site(database_url, extra=f"passphrase_file = {wrong}\n")
    site.ok("contracts", "add", mails.LEGACY_AUTH_KEY, "--legacy")
    legacy = mails.mail(keys.legacy_seal(mails.legacy_document()), None, "inline")
    assert site.run("ingest", input=legacy).returncode == 0
    done = site.run("work", "--once")
    assert done.returncode == 0
    assert site.rows("SELECT state, verdict FROM receiver_message") == [("stored", "")]
    assert b"cannot open messages" in done.stderr
