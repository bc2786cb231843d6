"""The act/escalate commands against a real site (SQLite): an alert sent as the sender sends it is worked, becomes
a ticket mail in the outbox and `sweep` delivers it through the [relay]; a test message gets a signed receipt;
`contracts stages|sink`, `systems maintenance`, `tickets reply` and the config's checks, each failure one line."""

from __future__ import annotations

import pytest
from cast.receiver import AUTH_KEY, SYSTEM_ID, make_receiver, sealed_mail


@pytest.fixture
def acting_site(tmp_path, keys, smtp_sink):
    extra = ("ticket_sink = mail\nticket_mail = rt@rt.example\nsupport_mail = support@vendor.test\n"
             f"mail_from = callhome@vendor.test\n[relay]\nhost = 127.0.0.1\nport = {smtp_sink.port}\n")
    made = make_receiver(tmp_path / "receiver", keys, extra=extra)
    yield made
    made.stop()


def test_an_alert_through_ingest_and_work_is_one_ticket_mail_sent_by_sweep(acting_site, keys, smtp_sink):
    for sequence in (1, 2):  # the same state twice: one ticket
        _, mail = sealed_mail(keys, sequence, event_type="service")
        assert acting_site.run("ingest", input=mail).returncode == 0
    _, mail = sealed_mail(keys, 3, event_type="test")
    acting_site.run("ingest", input=mail)
    acting_site.ok("work", "--once")
    assert acting_site.rows("SELECT purpose, state FROM receiver_outbox ORDER BY id") == [
        ("ticket-open", "pending"), ("receipt", "pending")]
    said = acting_site.ok("sweep")
    assert "2 outgoing messages sent" in said
    subjects = sorted(" ".join(str(m.message()["Subject"]).split()) for m in smtp_sink.mails)
    assert subjects[0] == f"{SYSTEM_ID}-HTTP-CRITICAL- Service: Valid"
    assert subjects[1].startswith("tkalert Setup OK: test message")
    assert "0 outgoing messages sent" in acting_site.ok("sweep") and len(smtp_sink.mails) == 2


def test_contract_stages_and_sink_commands(acting_site):
    said = acting_site.ok("contracts", "stages", AUTH_KEY, "2h:customer", "3h:support/1h")
    assert "2h:customer 3h:support/1h" in said
    assert acting_site.rows("SELECT position, notify, after, repeat IS NOT NULL FROM receiver_stage "
                            "ORDER BY position")[0][:2] == (1, "customer")
    for bad in (["2x:boss"], ["3h:support", "2h:customer"]):
        done = acting_site.run("contracts", "stages", AUTH_KEY, *bad)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    acting_site.ok("contracts", "stages", AUTH_KEY)
    assert acting_site.rows("SELECT count(*) FROM receiver_stage") == [(0,)]
    acting_site.ok("contracts", "sink", AUTH_KEY, "webhook", "https://tickets.example/hook")
    assert acting_site.rows("SELECT sink, sink_target FROM receiver_contract") == [
        ("webhook", "https://tickets.example/hook")]
    assert acting_site.run("contracts", "sink", AUTH_KEY, "mail").returncode == 2


def test_new_stages_are_judged_at_the_next_sweep_not_after_the_old_first_stage(acting_site, keys):
    _, mail = sealed_mail(keys, 1)
    assert acting_site.run("ingest", input=mail).returncode == 0
    acting_site.ok("work", "--once")
    due = "SELECT count(*) FROM receiver_duetime WHERE due_at <= datetime('now', '+1 hour')"
    assert acting_site.rows(due) == [(0,)]  # the heartbeat's look: one first stage (50 h) away
    # registered by `systems trust` before its first contact, the system takes its contract from the heartbeat
    assert acting_site.rows("SELECT count(*) FROM receiver_system WHERE contract_id IS NOT NULL") == [(1,)]
    acting_site.ok("contracts", "stages", AUTH_KEY, "2h:customer", "3h:support")
    assert acting_site.rows(due) == [(1,)]
    assert "1 systems due" in acting_site.ok("sweep")
    assert acting_site.rows(due) == [(0,)]  # looked at, and scheduled by the new stages


def test_maintenance_and_tickets_reply_commands(acting_site):
    said = acting_site.ok("systems", "maintenance", SYSTEM_ID, "--until", "4h", "--reason", "disk swap")
    assert f"system {SYSTEM_ID}: maintenance until" in said
    assert acting_site.rows("SELECT reason FROM receiver_maintenance") == [("disk swap",)]
    for until in ("2000-01-01", "tomorrow"):
        done = acting_site.run("systems", "maintenance", SYSTEM_ID, "--until", until)
        assert done.returncode == 2 and b"Traceback" not in done.stderr
    assert acting_site.run("systems", "maintenance", "nope", "--until", "4h").returncode == 2
    said = acting_site.ok("tickets", "reply", input=b"Subject: [rt.example #7] hello\r\n\r\nhi\r\n")
    assert "no episode matched" in said


@pytest.mark.parametrize("extra, word", [("ticket_sink = mail\n", "ticket_mail"),
                                          ("ticket_sink = fax\n", "ticket_sink"),
                                          ("warn_after = 80h\n", "alarm_after"),
                                          ("site_share = 2\n", "site_share"),
                                          ("ticket_tag = [\n", "ticket_tag")])
def test_a_bad_act_setting_is_one_config_error(acting_site, extra, word):
    text = acting_site.config.read_text().replace("ticket_sink = mail\nticket_mail = rt@rt.example\n", "")
    acting_site.config.write_text(text.replace("[receiver]\n", f"[receiver]\n{extra}", 1))
    done = acting_site.run("sweep")
    assert done.returncode == 78 and word.encode() in done.stderr and len(done.stderr.splitlines()) == 1


def test_serve_runs_one_sweeper_beside_its_workers(acting_site):
    from tkalert.receiver.config import load_config
    from tkalert.receiver.serve import child_commands

    commands = [command[5:] for command in child_commands(load_config(acting_site.config))]
    assert commands.count(["sweep", "--loop"]) == 1 and ["work"] not in commands  # the site runs 0 workers
