"""The daily system report end to end: real files, real gpg, a real SMTP server; the vendor decrypts each mail.

First report: every allowed file; second without change: the manifest only; a change travels as a diff that
rebuilds the file; a removed file is reported removed; --full sends all; a report that was never delivered is
covered by the next one. Secrets planted in each product's config never reach the sealed plaintext nor the state.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from cast.plugins import run_tkalert
from report.site import DECOYS, SECRETS, allowed_files, build_site, site_config
from tkalert.config.settings import load_settings
from tkalert.document.reader import parse_valid
from tkalert.document.report import apply_diff
from tkalert.sender.deliver.mail import payload_of
from tkalert.sender.pipeline import SendOptions, preview_report, send_report


@pytest.fixture
def site(tmp_path, keys, smtp_sink):
    etc = build_site(tmp_path)
    config = site_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, tmp_path / "state", etc)
    return etc, config


def send(config: Path, keys, full: bool = False):
    settings = load_settings(config)
    return send_report(settings, SendOptions(gnupg_home=keys.sender_home), full)


def received(inbox, keys):
    """The last mail, opened as the vendor opens it: (plaintext, root element)."""
    plaintext, signer = keys.decrypt(payload_of(inbox.mails[-1].message()))
    assert signer == keys.system
    return plaintext, parse_valid(plaintext)


def files_of(root) -> dict[str, object]:
    return {f.get("path"): f for f in root.find("files")}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_first_report_holds_every_allowed_file_and_the_second_only_the_manifest(site, keys, smtp_sink):
    etc, config = site
    first = send(config, keys)
    assert first.state == "sent", first.reason
    plaintext, root = received(smtp_sink, keys)
    files = files_of(root)
    texts = {path: f for path, f in files.items() if f.get("kind") == "text"}
    assert set(texts) == allowed_files(etc)
    for element in texts.values():
        assert element.get("status") == "new"
        assert sha(element.findtext("content")) == element.get("sha256")
    link = files[str(etc / "icinga2/conf.d/evil.conf")]
    assert (link.get("kind"), link.get("target"), link.find("content")) == ("symlink", str(etc / "shadow"), None)
    assert root.find("system/hostname").text and root.findtext("tool").startswith("tkalert/")
    assert not {str(etc / name) for name in DECOYS} & set(files)

    second = send(config, keys)
    assert second.state == "sent", second.reason
    _, root = received(smtp_sink, keys)
    assert root.find("files").get("sent") == "0"
    assert {f.get("status") for f in root.find("files")} == {"unchanged"}
    assert root.find("files").get("count") == str(len(files))


def test_a_change_travels_as_a_diff_that_rebuilds_the_file_and_a_removed_file_is_reported(site, keys, smtp_sink):
    etc, config = site
    hosts = etc / "icinga2/conf.d/hosts.conf"
    hosts.write_text(hosts.read_text() + "".join(f'object Host "web{n:02d}" {{ address = "10.0.0.{n}" }}\n'
                                                 for n in range(1, 40)))
    assert send(config, keys).state == "sent"
    _, root = received(smtp_sink, keys)
    vendor_copy = {path: f.findtext("content") for path, f in files_of(root).items() if f.get("kind") == "text"}
    hosts.write_text(hosts.read_text().replace('"10.0.0.17"', '"10.0.1.17"') + 'object Host "web40" {}')
    api = etc / "icinga2/conf.d/api-users.conf"
    api.write_text(api.read_text().replace(SECRETS["icinga2 ApiUser"], "Changed-Api-Pa55"))
    (etc / "nagios4/nagios.cfg").unlink()

    assert send(config, keys).state == "sent"
    plaintext, root = received(smtp_sink, keys)
    files = files_of(root)
    changed = files[str(hosts)]
    assert changed.get("status") == "changed" and changed.find("content") is None
    diff = changed.find("diff")
    assert diff.get("base-sha256") == sha(vendor_copy[str(hosts)])
    rebuilt = apply_diff(vendor_copy[str(hosts)], diff.text)
    assert sha(rebuilt) == changed.get("sha256")
    assert rebuilt.endswith('object Host "web40" {}') and '"10.0.1.17"' in rebuilt  # no newline at the end
    # a changed password shows as a changed line, its value still redacted
    password_change = files[str(api)]
    assert password_change.get("status") == "changed"
    assert "Changed-Api-Pa55" not in plaintext.decode()
    assert files[str(etc / "nagios4/nagios.cfg")].get("status") == "removed"

    assert send(config, keys, full=True).state == "sent"
    _, root = received(smtp_sink, keys)
    assert root.get("full") == "true"
    texts = [f for f in root.find("files") if f.get("kind") == "text"]
    assert texts and all(f.find("content") is not None for f in texts)
    assert sha(texts[0].findtext("content")) == texts[0].get("sha256")


def test_a_report_that_was_never_delivered_is_covered_by_the_next(site, keys, smtp_sink, tmp_path, refused_port):
    etc, config = site
    assert send(config, keys).state == "sent"
    _, root = received(smtp_sink, keys)
    delivered = files_of(root)
    zabbix = etc / "zabbix/zabbix_server.conf"
    zabbix.write_text(zabbix.read_text() + "StartPollers=10\n")
    down = site_config(tmp_path / "down.conf", keys, refused_port, tmp_path / "state", etc)
    lost = send(down, keys)
    assert lost.state == "queued"
    shutil.rmtree(tmp_path / "state" / "spool" / "outbox")  # the queued report never arrives
    count = len(smtp_sink.mails)

    assert send(config, keys).state == "sent"
    assert len(smtp_sink.mails) == count + 1
    _, root = received(smtp_sink, keys)
    element = files_of(root)[str(zabbix)]
    assert element.get("status") == "changed"
    base = element.find("diff").get("base-sha256") if element.find("diff") is not None else None
    assert base in (None, delivered[str(zabbix)].get("sha256"))
    shown = element.findtext("diff") or element.findtext("content")
    assert "StartPollers=10" in shown


def test_secrets_never_reach_the_sealed_plaintext_nor_the_state(site, keys, smtp_sink, tmp_path):
    etc, config = site
    assert send(config, keys, full=True).state == "sent"
    plaintext, root = received(smtp_sink, keys)
    files_part = plaintext.decode().split("<files", 1)[1]
    for what, secret in SECRETS.items():
        assert secret not in files_part, what
    assert all(secret not in plaintext.decode() for what, secret in SECRETS.items() if what != "tkalert auth key")
    text = "".join(f.findtext("content") or "" for f in root.find("files"))
    for rule in ("icinga2-password", "icinga2-ticketsalt", "nagios-user-macro", "zabbix-dbpassword",
                 "zabbix-tlspsk", "zabbix-psk-file", "snmp-community", "snmp-com2sec", "snmp-usm-passphrase",
                 "ticket", "tkalert-secret"):
        assert re.search(rf"\[redacted: {re.escape(rule)} [0-9a-f]{{8}}\]", text), rule
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaked = [what for what, secret in SECRETS.items() if secret.encode() in data
                      and not (what == "tkalert auth key" and b"authkey" in data)]
            assert not leaked, (path, leaked)
    baseline = (tmp_path / "state" / "report" / "delivered.json").read_text()
    assert "[redacted: icinga2-password" in baseline and SECRETS["icinga2 ApiUser"] not in baseline


OPENED: list[list[str]] = []  # the recording of the running test; an audit hook cannot be removed, so it stays


def _record_opens(event, args):
    if event == "open" and OPENED and isinstance(args[0], (str, bytes, Path)):
        OPENED[-1].append(os.fsdecode(args[0]))


def test_nothing_outside_the_allow_list_is_ever_opened(site, keys):
    """Every open of this process, seen by an audit hook (PEP 578) while the report is built: under the site's
    /etc only the allowed files, never a decoy, never the target of a link."""
    etc, config = site
    settings = load_settings(config)
    if not getattr(sys, "_tkalert_open_audit", False):
        sys.addaudithook(_record_opens)
        sys._tkalert_open_audit = True
    OPENED.append([])
    try:
        document = preview_report(settings)
    finally:
        opened = OPENED.pop()
    assert b"<report" in document and opened
    seen = {path for path in opened if path.startswith(str(etc))}
    assert seen == allowed_files(etc)


def test_preview_prints_what_would_be_sealed_and_sends_nothing(site, keys, smtp_sink):
    etc, config = site
    done = run_tkalert("report", "--config", str(config), "--preview")
    assert done.returncode == 0, done.stderr
    root = parse_valid(done.stdout)
    assert root.tag == "report" and len(smtp_sink.mails) == 0
    assert {f.get("status") for f in root.find("files")} == {"new"}
    assert all(secret.encode() not in done.stdout for what, secret in SECRETS.items() if what != "tkalert auth key")
    sent = run_tkalert("--type=report", "--config", str(config))
    assert sent.returncode == 0, sent.stderr
    assert smtp_sink.wait(1)
    plaintext, _ = keys.decrypt(payload_of(smtp_sink.mails[-1].message()))
    strip = re.compile(rb"<(message-id|sequence|timestamp|date)>[^<]*</\1>")
    assert strip.sub(b"", plaintext) == strip.sub(b"", done.stdout)


def test_a_report_is_never_sent_in_clear_and_a_switched_off_report_is_skipped(site, keys, tmp_path, smtp_sink):
    etc, config = site
    done = run_tkalert("--type=report", "--config", str(config), "--disable-gpg-encryption")
    assert done.returncode == 2 and "never sent unencrypted" in done.stderr.decode()
    off = site_config(tmp_path / "off.conf", keys, smtp_sink.port, tmp_path / "state", etc)
    off.write_text(off.read_text() + "\n[categories]\nreport = off\n")
    result = send(off, keys)
    assert (result.state, result.reason) == ("skipped", "report is switched off in [categories]")
    assert smtp_sink.mails == []


def test_a_file_group_switched_off_is_neither_opened_nor_reported(site, keys, tmp_path, smtp_sink):
    etc, config = site
    off = site_config(tmp_path / "groups.conf", keys, smtp_sink.port, tmp_path / "state", etc)
    off.write_text(off.read_text() + "\n[categories]\nreport.snmpd = off\n")
    root = parse_valid(preview_report(load_settings(off)))
    groups = {f.get("group") for f in root.find("files")}
    assert groups == {"icinga2", "nagios4", "zabbix6"}


def test_only_changed_files_are_redacted_again_unless_the_rules_changed(site, keys, smtp_sink, monkeypatch):
    from tkalert.sender.report.redact import Redactor

    etc, config = site
    assert send(config, keys).state == "sent"
    redacted: list[str] = []
    original = Redactor.redact
    monkeypatch.setattr(Redactor, "redact", lambda self, path, text: redacted.append(path) or
                        original(self, path, text))
    nagios = etc / "nagios4/resource.cfg"
    nagios.write_text(nagios.read_text() + "$USER4$=another-secret\n")
    first_plain = preview_report(load_settings(config))
    assert redacted == [str(nagios)]
    assert b"another-secret" not in first_plain
    config.write_text(config.read_text() + "pattern.more = Server room\n")  # [redact] is the last section
    redacted.clear()
    assert b"Server room" not in preview_report(load_settings(config))
    assert len(redacted) == len(allowed_files(etc))
