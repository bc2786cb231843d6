"""Alert episodes through the real judge and act steps: one ticket per problem, updates on a changed state only,
closed on recovery, nothing twice for a message delivered twice; through the mail sink (a real SMTP server) and
the webhook sink (a real HTTP server that checks the signature)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .act_cast import at, clean, contract, alert, heartbeat, outbox, receive, settings, system

TICKETS = "rt@rt.example"
RESOLVE = "rt-resolve@rt.example"


@pytest.fixture
def acting(db):
    clean()
    yield settings(db, ticket_sink="mail", ticket_mail=TICKETS, ticket_close_mail=RESOLVE)
    clean()


def test_an_episode_is_one_ticket_its_changes_updates_and_its_recovery_the_close(acting, smtp_sink):
    from tkalert.receiver.models import Episode
    from tkalert.receiver.relay import deliver_due

    acme = contract()
    system("sys-1", acme)
    first = alert(acting, acme, "sys-1", at(0), "WARNING")
    alert(acting, acme, "sys-1", at(1), "WARNING")
    assert [o.purpose for o in outbox()] == ["ticket-open"]
    assert outbox()[0].subject == "90000xxxxx-IPMI Sensors-WARNING- Service: Valid"
    alert(acting, acme, "sys-1", at(2), "CRITICAL")
    assert [o.purpose for o in outbox()] == ["ticket-open", "ticket-change"]
    alert(acting, acme, "sys-1", at(3), "CRITICAL", service="RAID")  # another service: its own episode
    again = alert(acting, acme, "sys-1", at(4), "WARNING", message_id=first.message_id)  # a spool's resend
    assert again.verdict == "duplicate"
    alert(acting, acme, "sys-1", at(5), "OK")
    assert [(o.purpose, o.recipient) for o in outbox()] == [
        ("ticket-open", TICKETS), ("ticket-change", TICKETS), ("ticket-open", TICKETS), ("ticket-close", RESOLVE)]
    episode = Episode.objects.get(service="IPMI Sensors")
    assert (episode.state, episode.closed_at, episode.changes, episode.repeats) == ("OK", at(5), 1, 1)
    alert(acting, acme, "sys-1", at(6), "OK")  # nothing open: nothing to do
    assert len(outbox()) == 4
    relay = settings(acting, smtp_sink.port)
    assert deliver_due(relay, at(7)) == 2  # the openings; updates wait for the ticket system's reply
    assert deliver_due(relay, at(7) + timedelta(minutes=9)) == 0
    assert deliver_due(relay, at(7) + timedelta(minutes=11)) == 2  # no reply came: they go with References
    mails = [mail.message() for mail in smtp_sink.mails]
    opening = mails[0]["Message-ID"]
    assert mails[2]["References"] == opening and mails[3]["References"] == opening
    assert [m["Subject"] for m in mails][2] == "90000xxxxx-IPMI Sensors-CRITICAL- Service: Valid"


def test_a_reply_teaches_the_ticket_tag_and_updates_carry_it(acting, smtp_sink):
    from tkalert.receiver.relay import deliver_due
    from tkalert.receiver.tickets.mail import learn_reply

    acme = contract()
    system("sys-1", acme)
    alert(acting, acme, "sys-1", at(0), "CRITICAL")
    deliver_due(settings(acting, smtp_sink.port), at(0))
    opening = smtp_sink.mails[0].message()
    reply = (f"From: rt@rt.example\r\nSubject: [rt.example #42] AutoReply: {opening['Subject']}\r\n"
             f"In-Reply-To: {opening['Message-ID']}\r\nReferences: {opening['Message-ID']}\r\n\r\nthanks\r\n")
    episode = learn_reply(reply.encode(), acting.act.ticket_tag)
    assert episode is not None and episode.ticket_ref == "[rt.example #42]"
    assert learn_reply(b"Subject: [rt.example #43] unrelated\r\n\r\n", acting.act.ticket_tag) is None
    alert(acting, acme, "sys-1", at(1), "WARNING")
    deliver_due(settings(acting, smtp_sink.port), at(1))
    assert smtp_sink.mails[1].message()["Subject"] == "[rt.example #42] 90000xxxxx-IPMI Sensors-WARNING- Service: Valid"


def test_a_revoked_contract_is_service_invalid_in_the_subject(acting):
    acme = contract(revoked_at=at(-1))
    system("sys-1", acme)
    alert(acting, acme, "sys-1", at(0), "CRITICAL")
    assert outbox()[0].subject.endswith("- Service: Invalid")


def test_an_episode_opened_in_maintenance_makes_no_ticket(acting):
    from tkalert.receiver.models import Maintenance

    acme = contract()
    sys1 = system("sys-1", acme)
    Maintenance.objects.create(system=sys1, starts_at=at(-1), until=at(2))
    alert(acting, acme, "sys-1", at(0), "CRITICAL")
    alert(acting, acme, "sys-1", at(1), "OK")
    alert(acting, acme, "sys-1", at(3), "CRITICAL")
    assert [o.purpose for o in outbox()] == ["ticket-open"]


def test_a_batch_reads_an_episode_once_and_reads_it_again_when_another_worker_changed_it(acting):
    """A worker's batch keeps the open episode it read (a storm's alerts for one service cost one SELECT); when
    another worker changed that episode meanwhile, the compare-and-set loses and the episode is read again, so a
    recovery still closes it and its ticket."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from tkalert.receiver.judge import Batch
    from tkalert.receiver.models import Episode

    acme = contract()
    system("sys-1", acme)
    alert(acting, acme, "sys-1", at(0), "WARNING")
    with transaction.atomic():
        batch = Batch()
        with CaptureQueriesContext(connection) as queries:
            for minute in range(1, 6):
                alert(acting, acme, "sys-1", at(minute / 60), "WARNING", batch=batch)
        assert sum("FROM \"receiver_episode\"" in q["sql"] for q in queries.captured_queries) == 1
        # another worker's change, committed between this batch's read and its next alert
        Episode.objects.filter(service="IPMI Sensors").update(state="CRITICAL", changes=1)
        alert(acting, acme, "sys-1", at(0.2), "OK", batch=batch)
        batch.flush()
    episode = Episode.objects.get(service="IPMI Sensors")
    assert (episode.state, episode.closed_at, episode.changes) == ("OK", at(0.2), 1)
    assert [o.purpose for o in outbox()] == ["ticket-open", "ticket-close"]
    with transaction.atomic():
        batch = Batch()
        alert(acting, acme, "sys-1", at(1), "CRITICAL", batch=batch)  # a new episode, kept by the batch
        alert(acting, acme, "sys-1", at(1.1), "CRITICAL", batch=batch)
        alert(acting, acme, "sys-1", at(1.2), "OK", batch=batch)
        alert(acting, acme, "sys-1", at(1.3), "OK", batch=batch)  # closed: nothing open any more
        batch.flush()
    assert [o.purpose for o in outbox()] == ["ticket-open", "ticket-close", "ticket-open", "ticket-close"]
    reopened = Episode.objects.get(opened_at=at(1))
    assert (reopened.state, reopened.closed_at, reopened.repeats) == ("OK", at(1.2), 1)


class Hook(BaseHTTPRequestHandler):
    received: list = []
    secret = b"webhook secret"

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(expected, self.headers["X-Tkalert-Signature"])
        self.received.append((self.headers["Idempotency-Key"], json.loads(body), good))
        answer = json.dumps({"ticket": "T-1"}).encode()
        self.send_response(201 if good else 401)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_webhook_sink_posts_signed_events_once_each(db, webhook, tmp_path):
    from tkalert.receiver.models import Episode
    from tkalert.receiver.relay import deliver_due

    clean()
    secret = tmp_path / "webhook.secret"
    secret.write_bytes(Hook.secret)
    secret.chmod(0o600)
    url = f"http://127.0.0.1:{webhook.server_port}/tickets"
    config = settings(db, ticket_sink="webhook", webhook_url=url, webhook_secret_file=secret)
    acme = contract()
    system("sys-1", acme)
    first = alert(config, acme, "sys-1", at(0), "CRITICAL")
    alert(config, acme, "sys-1", at(1), "CRITICAL")
    alert(config, acme, "sys-1", at(2), "WARNING", message_id=first.message_id)
    alert(config, acme, "sys-1", at(3), "WARNING")
    alert(config, acme, "sys-1", at(4), "OK")
    assert deliver_due(config, at(5)) == 3
    assert deliver_due(config, at(6)) == 0
    episode = Episode.objects.get()
    assert [(key, body["event"], body["state"], good) for key, body, good in Hook.received] == [
        (f"episode:{episode.pk}:open", "open", "CRITICAL", True),
        (f"episode:{episode.pk}:change:1", "change", "WARNING", True),
        (f"episode:{episode.pk}:close", "close", "OK", True)]
    assert episode.ticket_ref == "T-1"
    clean()


def test_a_test_message_gets_one_receipt_signed_by_the_vendor_key(db, keys, smtp_sink, tmp_path):
    import shutil
    import subprocess
    from dataclasses import replace

    from tkalert.receiver.relay import deliver_due

    clean()
    home = tmp_path / "vendor-home"
    shutil.copytree(keys.vendor_home, home, ignore=shutil.ignore_patterns("S.*", "*.lock"))
    config = replace(settings(db, smtp_sink.port), gnupg_home=home)
    acme = contract()
    system("sys-1", acme)
    test = receive(config, "test", acme, "sys-1", at(0))
    receive(config, "test", acme, "sys-1", at(1), message_id=test.message_id)  # the same test again
    assert [o.purpose for o in outbox()] == ["receipt"]
    assert deliver_due(config, at(2)) == 1
    text = smtp_sink.mails[0].message().get_content()
    assert test.message_id in text and "BEGIN PGP SIGNED MESSAGE" in text
    checked = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--verify"], input=text.encode(),
                             capture_output=True, check=False)
    assert checked.returncode == 0, checked.stderr
    heartbeat(config, acme, "sys-1", at(3))
    assert len(outbox()) == 1
    clean()
    from tkalert.openpgp.keys import kill_agent

    kill_agent(home)


def test_a_report_gets_a_receipt_only_where_the_contract_asks_for_one(acting):
    plain, asking = contract("plain-1"), contract("asking-1", receipts=True)
    system("sys-1", plain)
    system("sys-2", asking)
    receive(acting, "report", plain, "sys-1", at(0))
    report = receive(acting, "report", asking, "sys-2", at(0))
    assert [(o.purpose, o.subject) for o in outbox()] == [
        ("receipt", f"tkalert: report {report.message_id} received")]
