"""The admin commands against a real site: contracts, systems, quarantine (retry after the cause is fixed),
messages; every failure one line with its sysexits code, never a traceback."""

from __future__ import annotations

from cast.keys import SYSTEM_UID
from cast.receiver import AUTH_KEY, sealed_mail

from tkalert.openpgp.keys import export_public


def test_contracts_add_list_show_revoke_legacy(site):
    site.ok("contracts", "add", "K-2", "--customer", "Beta AG", "--valid-until", "2030-01-31", "--legacy")
    listed = site.ok("contracts", "list")
    assert "K-2" in listed and "Beta AG" in listed and "2030-01-31 23:59:59Z" in listed
    again = site.run("contracts", "add", "K-2")
    assert again.returncode == 2 and b"exists already" in again.stderr
    site.ok("contracts", "revoke", "K-2")
    shown = site.ok("contracts", "show", "K-2")
    assert "service: invalid" in shown and "legacy: yes" in shown
    site.ok("contracts", "legacy", "K-2", "no")
    assert "legacy: no" in site.ok("contracts", "show", "K-2")
    assert site.run("contracts", "show", "nope").returncode == 2


def test_unknown_auth_key_is_quarantined_then_accepted_after_the_contract_is_added(site, keys):
    message_id, mail = sealed_mail(keys, 1, auth_key="K-NEW")
    assert site.run("ingest", input=mail).returncode == 0
    site.ok("work", "--once")
    listed = site.ok("quarantine", "list")
    assert "unknown-auth-key" in listed and message_id in listed
    assert "reason: unknown-auth-key" in site.ok("quarantine", "show", "1")
    assert "0 messages queued again" in site.ok("quarantine", "retry", "--reason", "no-such-reason")
    site.ok("contracts", "add", "K-NEW")
    assert "1 messages queued again" in site.ok("quarantine", "retry", "--reason", "unknown-auth-key")
    site.ok("work", "--once")
    assert site.rows() == [("accepted", "", message_id)]
    assert site.ok("quarantine", "list").strip().startswith("ID") and message_id not in site.ok("quarantine", "list")


def test_messages_show_the_raw_mail_and_the_plaintext(site, keys):
    message_id, mail = sealed_mail(keys, 1)
    site.run("ingest", input=mail)
    site.ok("work", "--once")
    assert site.run("messages", "show", "1", "--raw").stdout == mail
    plaintext = site.run("messages", "show", "1", "--plaintext").stdout
    assert plaintext.startswith(b"<?xml") and message_id.encode() in plaintext
    shown = site.ok("messages", "show", "1")
    assert "verdict: accepted" in shown and "contact-mail: admin@acme-gmbh.de" in shown
    missing = site.run("messages", "show", "99")
    assert missing.returncode == 2 and missing.stderr.count(b"\n") == 1


def test_systems_trust_before_first_contact_and_forget_key(site, keys, tmp_path):
    key_file = tmp_path / "system.asc"
    key_file.write_bytes(export_public(keys.sender_home, keys.system))
    assert keys.system in site.ok("systems", "trust", "test-system", str(key_file))
    assert keys.system in site.ok("systems", "list")
    _, mail = sealed_mail(keys, 1)
    site.run("ingest", input=mail)
    site.ok("work", "--once")
    shown = site.ok("systems", "show", "test-system")
    assert f"pinned key: {keys.system}" in shown and SYSTEM_UID not in shown and "last seen: 20" in shown
    site.ok("systems", "forget-key", "test-system")
    assert "pinned key: -" in site.ok("systems", "show", "test-system")
    assert site.run("systems", "show", "nope").returncode == 2


def test_quarantine_drop_and_a_usage_error(site, keys):
    _, mail = sealed_mail(keys, 1, auth_key="K-NONE")
    site.run("ingest", input=mail)
    site.ok("work", "--once")
    assert "1 messages dropped" in site.ok("quarantine", "drop", "1")
    assert site.rows() == []
    bare = site.run("quarantine", "retry")
    assert bare.returncode == 2 and b"--all" in bare.stderr


def test_a_database_that_cannot_be_opened_is_exit_69_in_one_line(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "receiver.conf"
    config.write_text(f"[receiver]\nstate_dir = {tmp_path}\ndatabase = sqlite:{tmp_path / 'no' / 'such' / 'db'}\n")
    done = subprocess.run([sys.executable, "-m", "tkalert.receiver", "--config", str(config), "contracts", "list"],
                          capture_output=True, check=False)
    assert done.returncode == 69
    assert done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr
    assert done.stderr.startswith(b"tkalert-receiver: database unavailable:")


def test_the_contract_of_the_cast_is_there(site):
    assert AUTH_KEY in site.ok("contracts", "list")
