"""`tkalert test`, the admin conveniences: RCPT TO probed, the pin line for an untrusted certificate, a missing
config file named, spool/state files owned by the running user, and an auth key given on the command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cast.config import write_config
from cast.plugins import run_tkalert
from tkalert.config.settings import DEFAULT_CONFIG
from tkalert.sender.deliver.tls import pretty


def protocol(*args: str, env: dict | None = None) -> tuple[int, list[str]]:
    done = run_tkalert("test", *args, env=env)
    assert "Traceback" not in done.stderr.decode()
    return done.returncode, done.stdout.decode().splitlines()


def failed(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def test_recipient_is_probed_and_a_550_fails(tmp_path, keys, smtp_server):
    server = smtp_server(reply="550 5.1.1 <callhome@vendor.test>: no such user")
    cfg = write_config(tmp_path / "c.conf", keys, server.port, tmp_path / "state")
    code, lines = protocol("--config", str(cfg))
    assert code == 1
    (line,) = failed(lines)
    assert line.startswith("FAIL  vendor: recipient") and "550" in line and "no such user" in line
    assert server.mails == []


def test_accepted_recipient_passes_and_sends_nothing(config, smtp_sink):
    code, lines = protocol()
    assert code == 0, lines
    assert any(line.startswith("PASS  vendor: recipient") and "callhome@vendor.test" in line for line in lines)
    assert smtp_sink.mails == []


@pytest.mark.parametrize("security", ["starttls", "smtps"])
def test_untrusted_certificate_prints_the_pin_line(tmp_path, keys, smtp_server, certificate, security):
    server = smtp_server(security=security)
    cfg = write_config(tmp_path / "c.conf", keys, server.port, tmp_path / "state", extra=f"security = {security}\n")
    code, lines = protocol("--config", str(cfg))
    assert code == 1
    assert failed(lines)[0].startswith("FAIL  vendor: TLS") and "certificate refused" in failed(lines)[0]
    pin_line = f"pin_sha256 = {pretty(certificate.sha256)}"
    assert any(pin_line in line for line in lines), lines
    # pasting it makes the test pass
    cfg.write_text(cfg.read_text() + pin_line + "\n")
    code, lines = protocol("--config", str(cfg))
    assert code == 0, "\n".join(lines)


@pytest.mark.skipif(os.path.exists(DEFAULT_CONFIG), reason="this machine has a real default config")
def test_missing_default_config_is_named(keys):
    env = {k: v for k, v in os.environ.items() if k != "TKALERT_CONFIG"}
    code, lines = protocol(env=env)
    assert code == 1
    assert lines[0].startswith("FAIL  config") and f"config file {DEFAULT_CONFIG} does not exist" in lines[0]
    assert "--config" in lines[1]


def test_missing_named_config_is_named(tmp_path):
    code, lines = protocol("--config", str(tmp_path / "nope.conf"))
    assert code == 1 and f"config file {tmp_path / 'nope.conf'} does not exist" in lines[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_spool_file_of_another_user_fails_naming_file_owner_and_fix(tmp_path, keys, smtp_sink):
    import pwd

    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    spool = tmp_path / "state" / "spool" / "outbox"
    spool.mkdir(parents=True)
    stray = spool / "0000.json"
    stray.write_text("{}")
    os.chown(stray, 65534, 65534)
    code, lines = protocol("--config", str(cfg))
    assert code == 1
    assert len(failed(lines)) == 1, "\n".join(lines)
    (line,) = failed(lines)
    other, me = pwd.getpwuid(65534).pw_name, pwd.getpwuid(os.geteuid()).pw_name
    assert line.startswith("FAIL  spool files") and str(stray) in line and f"belongs to {other}" in line
    assert any(f"chown -R {me} {tmp_path / 'state' / 'spool'}" in line for line in lines)
    assert any(line.startswith("PASS  state files") for line in lines)


def test_unwritable_state_file_fails(tmp_path, keys, smtp_sink):
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    (tmp_path / "state").mkdir()
    frozen = tmp_path / "state" / "sequence"
    frozen.write_text("1")
    frozen.chmod(0o400)
    if os.access(frozen, os.W_OK):
        pytest.skip("root writes any file: only ownership is checked then")
    code, lines = protocol("--config", str(cfg))
    assert any(str(frozen) in line and "not writable" in line for line in failed(lines))


def test_auth_key_on_the_command_line(tmp_path, keys, smtp_sink, monkeypatch):
    monkeypatch.delenv("TKALERT_AUTH_KEY", raising=False)
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    cfg.write_text(cfg.read_text().replace("auth_key = 0123456789a\n", ""))
    code, lines = protocol("--config", str(cfg))
    assert code == 1 and any("no auth key configured" in line for line in failed(lines))
    code, lines = protocol("--config", str(cfg), "--auth-key", "tkmon-key-4711")
    assert code == 0, lines
    assert any(line.startswith("PASS  auth key") and "...4711" in line and "--auth-key" in line for line in lines)
    assert Path(cfg).read_text().count("4711") == 0
