"""End to end: the real command, real gpg, a real SMTP server on a free port; the vendor decrypts the mail."""

from __future__ import annotations

from cast.config import write_config
from cast.plugins import run_tkalert
from cast.ports import refused_port
from cast.smtp import smtp_server
from tkalert.document.reader import parse_valid
from tkalert.sender.deliver.mail import payload_of

ALERT = ["--type=service", "--host=web01", "--service=HTTP", "--service-status=CRITICAL",
         "--output=connection refused", "--serial=S-42", "--os=Debian 12"]


def vendor_reads(keys, mail) -> tuple:
    payload = payload_of(mail)
    plaintext, signer = keys.decrypt(payload)
    return parse_valid(plaintext), signer


def test_alert_arrives_once_and_decrypts_to_the_document(config, keys, smtp_sink):
    done = run_tkalert(*ALERT)
    assert done.returncode == 0, done.stderr
    assert len(smtp_sink.mails) == 1
    (mail,) = smtp_sink.emails()
    root, signer = vendor_reads(keys, mail)
    assert signer == keys.system
    assert root.tag == "alert"
    assert root.findtext("host/name") == "web01"
    assert root.findtext("service/status") == "CRITICAL"
    assert root.findtext("host/server-serial") == "S-42"
    assert mail["X-Tkalert-Message-Id"] == root.findtext("message-id")
    assert smtp_sink.mails[0].rcpt_tos == ["callhome@vendor.test"]


def test_no_personal_data_in_plaintext_headers(config, keys, smtp_sink):
    assert run_tkalert(*ALERT).returncode == 0
    raw = smtp_sink.mails[0].content
    for secret in (b"Testperson", b"web01", b"HTTP", b"0123456789a", b"acme-gmbh"):
        assert secret not in raw


def test_sequence_numbers_increase(config, keys, smtp_sink):
    for _ in range(3):
        assert run_tkalert("--type=heartbeat").returncode == 0
    sequences = [int(vendor_reads(keys, m)[0].findtext("sequence")) for m in smtp_sink.emails()]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3


def test_override_target_mail(config, smtp_sink):
    assert run_tkalert("--type=test", "--override-target-mail=other@vendor.test").returncode == 0
    assert smtp_sink.mails[0].rcpt_tos == ["other@vendor.test"]


def test_refused_server_queues_and_flush_delivers_later(tmp_path, keys, monkeypatch):
    with refused_port() as port:
        cfg = write_config(tmp_path / "c.conf", keys, port, tmp_path / "state")
        monkeypatch.setenv("TKALERT_CONFIG", str(cfg))
        done = run_tkalert(*ALERT)
        assert done.returncode == 0, done.stderr
        assert "queued" in done.stderr.decode() and "refused" in done.stderr.decode()
        check = run_tkalert(*ALERT[:3], "--service-status=WARNING", "--check")
        assert check.returncode == 1
        assert "queued alert for retry" in check.stdout.decode() and "- WARNING|runtime=" in check.stdout.decode()
    sink = smtp_server(port=port)  # the server comes back on the port the config names
    try:
        flushed = run_tkalert("flush", "--now")
        assert flushed.returncode == 0, flushed.stderr
        assert len(sink.mails) == 2
        states = {vendor_reads(keys, m)[0].findtext("service/status") for m in sink.emails()}
        assert states == {"CRITICAL", "WARNING"}
        assert b"sent" in run_tkalert("log").stdout
    finally:
        sink.stop()


def test_placeholder_contact_is_sent_but_check_warns(config, keys, smtp_sink):
    done = run_tkalert("--type=heartbeat", "--contact-mail=test@example.com", "--check")
    assert done.returncode == 1
    assert "sent heartbeat: contact mail test@example.com is a placeholder" in done.stdout.decode()
    assert "- WARNING|runtime=" in done.stdout.decode()
    assert len(smtp_sink.mails) == 1


def test_disable_gpg_encryption_sends_plain_document_with_warning(config, smtp_sink):
    done = run_tkalert("--type=heartbeat", "--disable-gpg-encryption")
    assert done.returncode == 0
    assert "unencrypted" in done.stderr.decode()
    parse_valid(payload_of(smtp_sink.emails()[0]))


def test_notification_types(config, keys, smtp_sink):
    for kind in ("PROBLEM", "Recovery", "ACKNOWLEDGEMENT", "CUSTOM"):
        status = "OK" if kind == "Recovery" else "CRITICAL"
        assert run_tkalert(*ALERT[:3], f"--service-status={status}", f"--notification-type={kind}").returncode == 0
    for kind in ("FLAPPINGSTART", "DowntimeStart", "DOWNTIMEEND"):
        done = run_tkalert(*ALERT, f"--notification-type={kind}")
        assert done.returncode == 0 and b"not sent" in done.stderr
    types = [vendor_reads(keys, m)[0].findtext("notification-type") for m in smtp_sink.emails()]
    assert types == ["PROBLEM", "RECOVERY", "ACKNOWLEDGEMENT", "CUSTOM"]


def test_auth_key_from_file_and_environment_never_argv(tmp_path, keys, smtp_sink, monkeypatch):
    (tmp_path / "auth_key").write_text("KEY-FROM-FILE\n")
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    cfg.write_text(cfg.read_text().replace("auth_key = 0123456789a", "auth_key_file = auth_key"))
    monkeypatch.setenv("TKALERT_CONFIG", str(cfg))
    assert run_tkalert("--type=heartbeat").returncode == 0
    monkeypatch.setenv("TKALERT_AUTH_KEY", "KEY-FROM-ENV")
    assert run_tkalert("--type=heartbeat").returncode == 0
    keys_seen = [vendor_reads(keys, m)[0].findtext("authkey") for m in smtp_sink.emails()]
    assert keys_seen == ["KEY-FROM-FILE", "KEY-FROM-ENV"]


def test_gnupg_config_names_the_home_as_in_15(tmp_path, keys, smtp_sink, monkeypatch):
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    cfg.write_text(cfg.read_text().replace(f"home = {keys.sender_home}\n", ""))
    monkeypatch.setenv("TKALERT_CONFIG", str(cfg))
    done = run_tkalert("--type=heartbeat", f"--gnupg-config={keys.sender_home / 'gnupg.conf'}", "--verbose")
    assert done.returncode == 0, done.stderr
    assert f"setting --gnupg-config={keys.sender_home / 'gnupg.conf'}" in done.stderr.decode()
    assert keys.decrypt(payload_of(smtp_sink.emails()[0]))[1] == keys.system


def fingerprints_in(tmp_path, armored: bytes) -> list[str]:
    import subprocess

    home = tmp_path / "show-keys"
    home.mkdir(mode=0o700, exist_ok=True)
    listed = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--with-colons", "--show-keys"],
                            input=armored, capture_output=True, check=True).stdout.decode()
    return [line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr:")]


def test_the_system_public_key_travels_with_every_message(config, keys, smtp_sink, tmp_path):
    """RFC 3156 section 7: multipart/mixed, the sealed multipart/encrypted first, this system's key second, so the
    receiver can pin it on first contact; exported once into state_dir, not per event."""
    from tkalert.sender.deliver.mail import attached_key

    for _ in range(2):
        assert run_tkalert(*ALERT).returncode == 0
    for mail in smtp_sink.emails():
        assert mail.get_content_type() == "multipart/mixed"
        assert [p.get_content_type() for p in mail.iter_parts()] == ["multipart/encrypted", "application/pgp-keys"]
        key = attached_key(mail)
        assert b"PRIVATE" not in key and fingerprints_in(tmp_path, key)[0] == keys.system
        assert vendor_reads(keys, mail)[1] == keys.system
    (kept,) = (tmp_path / "state").glob("system-key-*.asc")
    assert kept.name == f"system-key-{keys.system}.asc"


def test_attach_key_no_sends_the_plain_rfc_3156_mail(config, keys, smtp_sink):
    config.write_text(config.read_text().replace("[tkalert]\n", "[tkalert]\nattach_key = no\n", 1))
    assert run_tkalert(*ALERT).returncode == 0
    (mail,) = smtp_sink.emails()
    assert mail.get_content_type() == "multipart/encrypted"
    assert vendor_reads(keys, mail)[1] == keys.system


def test_inline_format_with_the_key(config, keys, smtp_sink):
    from tkalert.sender.deliver.mail import attached_key

    config.write_text(config.read_text().replace("timeout = ", "format = inline\ntimeout = ", 1))
    assert run_tkalert(*ALERT).returncode == 0
    (mail,) = smtp_sink.emails()
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "application/pgp-keys"]
    assert attached_key(mail) and vendor_reads(keys, mail)[1] == keys.system
