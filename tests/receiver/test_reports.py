"""The daily report reaches the receiver (#15's last "must show"): the real sender seals reports of real files with
real gpg, each mail goes through the receiver's `ingest` and a worker, and `systems files` shows every file's full
current content rebuilt from the stored contents and diffs, a removed file removed, and a lost report detected
(needs-full) until a `--full` report fixes it. The planted secrets never reach the receiver's database."""

from __future__ import annotations

import hashlib

import pytest
from cast.receiver import SYSTEM_ID
from report.site import SECRETS, allowed_files, build_site, site_config
from tkalert.config.settings import load_settings
from tkalert.sender.deliver.mail import payload_of
from tkalert.sender.pipeline import SendOptions, send_report

MANY_HOSTS = "".join(f'object Host "web{n:02d}" {{ address = "10.0.0.{n}" }}\n' for n in range(1, 40))


@pytest.fixture
def reporting(tmp_path, keys, smtp_sink, make_site, database_url):
    """(etc, sender config, receiver site on SQLite and PostgreSQL); hosts.conf and icinga2.conf long enough that a
    change is a diff."""
    etc = build_site(tmp_path)
    for name in ("icinga2/conf.d/hosts.conf", "icinga2/icinga2.conf"):
        (etc / name).write_text((etc / name).read_text() + MANY_HOSTS)
    config = site_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, tmp_path / "state", etc)
    return etc, config, make_site(database_url)


def send(config, keys, inbox, full: bool = False):
    """Seal and send one report; the report's files as the vendor decrypts them: {path: <file> element}."""
    from tkalert.document.reader import parse_valid

    count = len(inbox.mails)
    outcome = send_report(load_settings(config), SendOptions(gnupg_home=keys.sender_home), full)
    assert outcome.state == "sent", outcome.reason
    assert len(inbox.mails) == count + 1
    plaintext, _ = keys.decrypt(payload_of(inbox.mails[-1].message()))
    return {f.get("path"): f for f in parse_valid(plaintext).find("files")}


def deliver(receiver, inbox, which: int = -1) -> None:
    """The last mail (or `which`) through the MTA pipe into the receiver, and a worker judges it."""
    done = receiver.run("ingest", input=inbox.mails[which].content)
    assert done.returncode == 0, done.stderr
    assert receiver.ok("work", "--once").strip() == "1 messages judged"


def listing(receiver) -> dict[str, list[str]]:
    lines = receiver.ok("systems", "files", SYSTEM_ID).splitlines()
    assert lines[0].split() == ["PATH", "SIZE", "SHA256", "STATE", "CHANGED", "VERSIONS"]
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}


def shown(receiver, path, *args: str) -> str:
    return receiver.ok("systems", "files", SYSTEM_ID, str(path), *args)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_first_report_shows_every_file_as_the_sender_redacted_it(reporting, keys, smtp_sink):
    etc, config, receiver = reporting
    sent = send(config, keys, smtp_sink)
    deliver(receiver, smtp_sink)
    files = listing(receiver)
    texts = {path: f for path, f in sent.items() if f.get("kind") == "text"}
    assert set(texts) == allowed_files(etc) and len(texts) > 5
    for path, element in texts.items():
        assert files[path][1:3] == [element.get("sha256"), "current"], path
        assert shown(receiver, path) == element.findtext("content"), path
    plain = etc / "nagios4/nagios.cfg"  # nothing to redact in it: the receiver's copy is the file
    assert shown(receiver, plain) == plain.read_text()
    assert "[redacted: " in shown(receiver, etc / "icinga2/conf.d/api-users.conf")
    link = str(etc / "icinga2/conf.d/evil.conf")
    assert files[link][2] == "listed"  # a symbolic link: listed, never its target's content
    failed = receiver.run("systems", "files", SYSTEM_ID, link)
    assert failed.returncode == 2 and b"has no content: listed" in failed.stderr


def test_a_diff_rebuilds_the_new_content_and_a_removed_file_shows_removed(reporting, keys, smtp_sink):
    etc, config, receiver = reporting
    first = send(config, keys, smtp_sink)
    deliver(receiver, smtp_sink)
    main = etc / "icinga2/icinga2.conf"
    before = main.read_text()
    main.write_text(before.replace('"10.0.0.17"', '"10.0.1.17"') + 'object Host "web40" {}')  # no last newline
    hosts = etc / "icinga2/conf.d/hosts.conf"
    hosts.write_text(hosts.read_text().replace('"10.0.0.5"', '"10.0.9.5"'))
    (etc / "nagios4/nagios.cfg").unlink()

    second = send(config, keys, smtp_sink)
    assert second[str(main)].find("diff") is not None and second[str(main)].find("content") is None
    assert second[str(hosts)].find("diff") is not None
    deliver(receiver, smtp_sink)
    assert shown(receiver, main) == main.read_text()
    new_hosts = shown(receiver, hosts)
    assert sha(new_hosts) == second[str(hosts)].get("sha256") and '"10.0.9.5"' in new_hosts
    assert "[redacted: " in new_hosts
    assert shown(receiver, main, "--version", "1") == before == first[str(main)].findtext("content")
    files = listing(receiver)
    assert files[str(main)][2:] == ["current", *files[str(main)][3:5], "2"]
    removed = files[str(etc / "nagios4/nagios.cfg")]
    assert removed[2] == "removed" and removed[-1] == "2"
    failed = receiver.run("systems", "files", SYSTEM_ID, str(etc / "nagios4/nagios.cfg"))
    assert failed.returncode == 2 and b"has no content: removed" in failed.stderr
    assert shown(receiver, etc / "nagios4/nagios.cfg", "--version", "1").startswith("log_file=")
    unchanged = etc / "zabbix/zabbix_agentd.conf"
    assert files[str(unchanged)][-1] == "1"  # an unchanged file gets no new version


def test_a_lost_report_is_detected_and_the_next_full_report_fixes_it(reporting, keys, smtp_sink):
    etc, config, receiver = reporting
    send(config, keys, smtp_sink)
    deliver(receiver, smtp_sink)
    main = etc / "icinga2/icinga2.conf"
    first = main.read_text()
    main.write_text(first + 'object Host "lost" {}\n')
    send(config, keys, smtp_sink)  # sent, but never reaches the receiver
    main.write_text(main.read_text() + 'object Host "after" {}\n')
    third = send(config, keys, smtp_sink)
    assert third[str(main)].find("diff") is not None
    deliver(receiver, smtp_sink)

    files = listing(receiver)
    assert files[str(main)][1:3] == [third[str(main)].get("sha256"), "needs-full"]
    failed = receiver.run("systems", "files", SYSTEM_ID, str(main))
    assert failed.returncode == 2 and b"needs-full" in failed.stderr and b"a report was lost" in failed.stderr
    assert shown(receiver, main, "--version", "1") == first  # the old version stays, nothing wrong is stored
    assert files[str(etc / "nagios4/nagios.cfg")][2] == "current"
    assert "report files: " + str(len(files)) + " (1 need a full report)" in receiver.ok("systems", "show", SYSTEM_ID)
    ((recipient, subject, body),) = receiver.rows("SELECT recipient, subject, body FROM receiver_outbox "
                                                  "WHERE purpose = 'needs-full'")
    assert recipient == "admin@acme-gmbh.de" and subject == f"tkalert: system {SYSTEM_ID} needs a full report"
    assert f"  {main}\n" in body and "tkalert report --full" in body and str(etc / "nagios4/nagios.cfg") not in body

    send(config, keys, smtp_sink, full=True)
    deliver(receiver, smtp_sink)
    assert shown(receiver, main) == main.read_text()
    assert listing(receiver)[str(main)][2:3] == ["current"]
    assert shown(receiver, main, "--version", "3") == main.read_text()
    assert len(receiver.rows("SELECT id FROM receiver_outbox WHERE purpose = 'needs-full'")) == 1  # fixed: no more


def test_an_older_report_arriving_late_changes_nothing(reporting, keys, smtp_sink):
    """Delivery retries reorder: the report sealed first but received last must not undo the newer one (the
    sender's sequence orders them, not the receiver's clock)."""
    etc, config, receiver = reporting
    send(config, keys, smtp_sink)
    deliver(receiver, smtp_sink)
    main = etc / "icinga2/icinga2.conf"
    main.write_text(main.read_text() + 'object Host "older" {}\n')
    older = send(config, keys, smtp_sink, full=True)  # held up in a spool
    main.write_text(main.read_text() + 'object Host "newer" {}\n')
    send(config, keys, smtp_sink, full=True)
    deliver(receiver, smtp_sink)
    deliver(receiver, smtp_sink, which=-2)
    assert older[str(main)].get("sha256") != sha(main.read_text())
    assert shown(receiver, main) == main.read_text()
    assert listing(receiver)[str(main)][1:3] == [sha(main.read_text()), "current"]


def test_secrets_never_reach_what_the_receiver_stores(reporting, keys, smtp_sink):
    etc, config, receiver = reporting
    send(config, keys, smtp_sink)
    deliver(receiver, smtp_sink)
    api = etc / "icinga2/conf.d/api-users.conf"
    api.write_text(api.read_text().replace(SECRETS["icinga2 ApiUser"], "Changed-Api-Pa55"))
    send(config, keys, smtp_sink, full=True)
    deliver(receiver, smtp_sink)
    stored = receiver.rows("SELECT f.path, f.content, v.content FROM receiver_reportfile f "
                           "JOIN receiver_reportfileversion v ON v.file_id = f.id")
    assert len(stored) > 10
    text = "".join(f"{path}\n{current or ''}\n{version or ''}" for path, current, version in stored)
    for what, secret in [*SECRETS.items(), ("changed password", "Changed-Api-Pa55")]:
        assert secret not in text, what
    assert text.count("[redacted: icinga2-password") >= 2
    for path in (receiver.root / "state").rglob("*"):  # nor anywhere else in its state (the auth key aside)
        if path.is_file():
            data = path.read_bytes()
            assert not [what for what, secret in SECRETS.items() if secret.encode() in data
                        and what != "tkalert auth key"], path
