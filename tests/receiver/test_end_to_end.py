"""End to end with real gpg keys: the real sender (`python -m tkalert`) -> SMTP listener / MTA pipe / HTTPS ->
the receiver's store -> a worker opens and judges -> the database holds the verdict; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from cast.config import write_config
from cast.plugins import run_tkalert
from cast.smtp import smtp_server

ALERT = ["--type=service", "--host=web01", "--service=HTTP", "--service-status=CRITICAL",
         "--output=connection refused", "--serial=S-42", "--os=Debian 12"]


def send(*args: str) -> None:
    done = run_tkalert(*args)
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def flush() -> None:
    """What a hook left in its spool (its time budget ran out on a loaded machine) goes now, as the timer would."""
    done = run_tkalert("flush", "--now", "-q")
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def test_heartbeat_and_alert_through_the_smtp_listener_are_accepted(site, sender, keys):
    site.serve()
    send("--type=heartbeat")
    send(*ALERT)
    flush()
    assert site.ok("work", "--once").strip() == "2 messages judged"
    rows = site.rows()
    assert [(verdict, reason) for verdict, reason, _ in rows] == [("accepted", ""), ("accepted", "")]
    (system,) = site.rows("SELECT system_id, pinned_key, last_seen IS NOT NULL, contact_name, contact_mail "
                          "FROM receiver_system")
    assert system == ("test-system", keys.system, True, "Testperson", "admin@acme-gmbh.de")
    (alert,) = site.rows("SELECT document_type, channel FROM receiver_message WHERE document_type = 'alert'")
    assert alert == ("alert", "smtp")
    shown = site.ok("messages", "show", "2")
    assert "verdict: accepted" in shown and "host/name: web01" in shown


def test_the_same_mail_three_times_is_accepted_once_and_twice_a_duplicate(site, sender):
    site.serve()
    send("--type=heartbeat")
    flush()
    (stored,) = list((site.store_dir / "new").iterdir())  # not yet imported: no worker runs
    for _ in range(2):  # as a sender's spool resends after a kill -9 between SMTP's 250 and its own bookkeeping
        assert site.run("ingest", input=stored.read_bytes()).returncode == 0
    site.ok("work", "--once")
    rows = site.rows()
    assert [verdict for verdict, _, _ in rows] == ["accepted", "duplicate", "duplicate"]
    assert len({message_id for _, _, message_id in rows}) == 1


def test_the_mta_pipe_stores_and_the_worker_accepts(site, keys, tmp_path, monkeypatch):
    inbox = smtp_server()
    try:
        path = write_config(tmp_path / "pipe.conf", keys, inbox.port, tmp_path / "pipe-state")
        monkeypatch.setenv("TKALERT_CONFIG", str(path))
        send(*ALERT)
    finally:
        inbox.stop()
    (mail,) = inbox.mails
    done = site.run("ingest", input=mail.content)
    assert done.returncode == 0, done.stderr
    site.ok("work", "--once")
    ((verdict, reason, message_id),) = site.rows()
    assert (verdict, reason) == ("accepted", "")
    assert message_id in mail.content.decode()
    assert site.rows("SELECT channel FROM receiver_message") == [("pipe",)]


def test_https_with_the_senders_pin(tmp_path, make_site, keys, certificate, database_url, monkeypatch):
    site = make_site(database_url, certificate=certificate)
    try:
        site.serve()
        extra = (f"url = https://127.0.0.1:{site.https_port}/ingest\npin_sha256 = {certificate.sha256}\n")
        path = write_config(tmp_path / "https.conf", keys, 1, tmp_path / "https-state", extra=extra)
        text = path.read_text().replace("transport = smtp", "transport = https")
        text = "\n".join(line for line in text.splitlines()
                         if not line.startswith(("host =", "port =", "mail_to =", "mail_from =")))
        path.write_text(text + "\n")
        monkeypatch.setenv("TKALERT_CONFIG", str(path))
        send("--type=heartbeat")
        send(*ALERT)
        flush()
        site.ok("work", "--once")
        assert [(v, r) for v, r, _ in site.rows()] == [("accepted", ""), ("accepted", "")]
        assert site.rows("SELECT DISTINCT channel FROM receiver_message") == [("https",)]
    finally:
        site.stop()


def test_a_storm_digest_is_stored_event_by_event(site, keys):
    from cast import mails

    alone = mails.document("service", sequence=1, host="web1")
    folded = [mails.document("service", sequence=n, host=f"web{n}") for n in (2, 3, 4)]
    site.run("ingest", input=mails.sealed_mail(keys, alone))
    site.run("ingest", input=mails.sealed_mail(keys, mails.digest([alone, *folded], sequence=5)))
    site.ok("work", "--once")
    assert [v for v, _, _ in site.rows()] == ["accepted", "accepted"]
    events = site.rows("SELECT verdict, fields FROM receiver_message WHERE parent_id IS NOT NULL ORDER BY id")
    assert [verdict for verdict, _ in events] == ["duplicate", "accepted", "accepted", "accepted"]
    hosts = [(json.loads(fields) if isinstance(fields, str) else fields)["host/name"] for _, fields in events]
    assert hosts == ["web1", "web2", "web3", "web4"]
