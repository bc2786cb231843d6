"""A maintenance window the customer declares (#13): `tkalert maintenance` sends a heartbeat carrying
`<maintenance until=...>`, sealed and delivered like any other; the receiver turns it into a window that holds stages
and tickets (tests/receiver/test_escalate.py proves what a window holds), capped at `maintenance_max`, and
`--end` closes it."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from cast.config import write_config
from cast.plugins import run_tkalert
from cast.smtp import smtp_server
from tkalert.document.reader import parse_valid
from tkalert.sender.deliver.mail import payload_of


@pytest.fixture
def declare(tmp_path, keys, monkeypatch):
    """declare(*args) -> (the decrypted document, the mail's bytes) of one `tkalert maintenance` run."""
    inbox = smtp_server()
    path = write_config(tmp_path / "tkalert.conf", keys, inbox.port, tmp_path / "state")
    monkeypatch.setenv("TKALERT_CONFIG", str(path))

    def run(*args: str):
        done = run_tkalert("maintenance", *args)
        assert done.returncode == 0, done.stderr
        mail = inbox.mails[-1]
        plaintext, _ = keys.decrypt(payload_of(mail.message()))
        return parse_valid(plaintext), mail.content, done.stdout.decode()

    yield run
    inbox.stop()


def epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def test_the_heartbeat_carries_the_window_and_stays_valid(declare):
    before = time.time()
    root, _, said = declare("--until", "4h", "--reason", "disk swap <RAID 1>")
    element = root.find("maintenance")
    assert root.tag == "heartbeat" and element.text == "disk swap <RAID 1>"
    assert before + 4 * 3600 - 1 <= epoch(element.get("until")) <= time.time() + 4 * 3600
    assert said.startswith("maintenance until ") and " UTC: heartbeat " in said and said.strip().endswith("sent")
    root, _, said = declare("--until", "2030-01-02T03:04")
    assert root.find("maintenance").get("until") == "2030-01-02T03:04:00Z" and root.find("maintenance").text is None
    root, _, said = declare("--end")
    assert abs(epoch(root.find("maintenance").get("until")) - time.time()) < 60 and said.startswith("maintenance ended")


@pytest.mark.parametrize("args, said", [
    ((), "give --until TIME"),
    (("--until", "4h", "--end"), "give --until TIME"),
    (("--until", "soon"), "--until must be a UTC time (2026-12-24T08:00) or a duration (4h), not 'soon'"),
    (("--until", "2020-01-01"), "--until 2020-01-01 is not in the future"),
])
def test_a_wrong_window_is_one_usage_line_and_sends_nothing(tmp_path, keys, monkeypatch, args, said):
    path = write_config(tmp_path / "tkalert.conf", keys, 1, tmp_path / "state")
    monkeypatch.setenv("TKALERT_CONFIG", str(path))
    done = run_tkalert("maintenance", *args)
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and said in lines[0], done.stderr
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").rglob("*.json"))


def test_the_receiver_opens_caps_and_ends_the_window(declare, make_site):
    site = make_site(None)

    def deliver(content: bytes) -> None:
        assert site.run("ingest", input=content).returncode == 0
        assert site.ok("work", "--once").strip() == "1 messages judged"

    def windows() -> list[tuple[float, str]]:
        rows = site.rows("SELECT until, reason FROM receiver_maintenance ORDER BY id")
        return [(until.timestamp() if hasattr(until, "timestamp") else
                 datetime.fromisoformat(until).replace(tzinfo=timezone.utc).timestamp(), reason)
                for until, reason in rows]

    _, mail, _ = declare("--until", "4h", "--reason", "disk swap")
    deliver(mail)
    ((until, reason),) = windows()
    assert reason == "disk swap" and abs(until - (time.time() + 4 * 3600)) < 120
    assert site.rows("SELECT verdict FROM receiver_message") == [("accepted",)]
    assert "\nmaintenance: until 20" in site.ok("systems", "show", "test-system")

    _, mail, _ = declare("--until", "30d")  # more than maintenance_max (7d): capped
    deliver(mail)
    until, reason = windows()[1]
    assert reason == "declared by the system" and abs(until - (time.time() + 7 * 86400)) < 120

    _, mail, _ = declare("--end")
    deliver(mail)
    assert all(until <= time.time() + 1 for until, _ in windows())
    assert "\nmaintenance: none\n" in site.ok("systems", "show", "test-system")
