"""`tkalert test`: the step-by-step set-up protocol, for a good set-up and for each broken one."""

from __future__ import annotations

from cast.config import write_config
from cast.plugins import run_tkalert
from cast.smtp import PASSWORD


def protocol(*args: str) -> tuple[int, list[str]]:
    done = run_tkalert("test", *args)
    assert "Traceback" not in done.stderr.decode()
    return done.returncode, done.stdout.decode().splitlines()


def failed(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def test_good_setup_passes_every_step_and_sends_nothing(config, smtp_sink, keys):
    code, lines = protocol()
    assert code == 0, lines
    assert failed(lines) == []
    names = " ".join(lines)
    for step in ("config", "system id", "auth key", "gnupg home", f"vendor key {keys.vendor}",
                 f"system key {keys.system}", "seal round trip", "state directory", "vendor: connect"):
        assert step in names
    assert lines[-1].endswith(" passed, 0 failed")
    assert smtp_sink.mails == []


def test_send_delivers_a_real_test_message(config, smtp_sink, keys):
    code, lines = protocol("--send")
    assert code == 0, lines
    assert any(line.startswith("PASS  send test message") for line in lines)
    assert len(smtp_sink.mails) == 1


def test_missing_vendor_key(tmp_path, keys, smtp_sink, monkeypatch):
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    cfg.write_text(cfg.read_text().replace(keys.vendor, "F" * 40))
    code, lines = protocol("--config", str(cfg))
    assert code == 1
    assert any(f"vendor key {'F' * 40}" in line and "is not in the keyring" in line for line in failed(lines))
    assert any("fix:" in line or "import it with" in line for line in lines)


def test_unsafe_permissions(tmp_path, keys, smtp_sink):
    home = keys.sender_copy(tmp_path / "home")
    home.chmod(0o775)
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state", home=home)
    code, lines = protocol("--config", str(cfg))
    assert code == 1
    assert failed(lines) and "unsafe permissions" in failed(lines)[0] and f"chmod 700 {home}" in failed(lines)[0]


def test_refused_connection(tmp_path, keys, refused_port):
    cfg = write_config(tmp_path / "c.conf", keys, refused_port, tmp_path / "state")
    code, lines = protocol("--config", str(cfg))
    assert code == 1
    (line,) = failed(lines)
    assert line.startswith("FAIL  vendor: connect") and "refused" in line


def test_wrong_password(tmp_path, keys, smtp_server, certificate):
    server = smtp_server(security="starttls", auth=True)
    (tmp_path / "password").write_text("not " + PASSWORD + "\n")
    extra = f"security = starttls\nusername = alice\npassword_file = password\nca_file = {certificate.ca_file}\n"
    cfg = write_config(tmp_path / "c.conf", keys, server.port, tmp_path / "state", extra=extra)
    code, lines = protocol("--config", str(cfg))
    assert code == 1
    (line,) = failed(lines)
    assert line.startswith("FAIL  vendor: authenticate") and "535" in line
    assert any(line.startswith("PASS  vendor: TLS") and "certificate SHA-256" in line for line in lines)
    (tmp_path / "password").write_text(PASSWORD + "\n")
    code, lines = protocol("--config", str(cfg))
    assert code == 0, lines
    assert server.mails == []


def test_broken_config_is_one_failed_step(tmp_path):
    cfg = tmp_path / "c.conf"
    cfg.write_text("[tkalert]\nauth_kye = x\n")
    code, lines = protocol("--config", str(cfg))
    assert code == 1
    assert lines[0].startswith("FAIL  config") and "unknown key 'auth_kye'" in lines[0]
