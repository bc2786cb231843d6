"""plugins/check_tkalert_heartbeat, run as a monitoring daemon runs it: each run sends one heartbeat, and the state
says what became of it - OK sent, WARNING queued or sent with a warning, CRITICAL failing, UNKNOWN misused."""

from __future__ import annotations

from cast.config import write_config
from cast.plugins import run_plugin
from tkalert.document.reader import parse_valid
from tkalert.sender.deliver.mail import payload_of


def check(config, *args):
    return run_plugin("check_tkalert_heartbeat", config, *args)  # a daemon's bare environment: no HOME


def test_sent_heartbeat_is_ok_with_perfdata_and_opens_at_the_vendor(tmp_path, keys, smtp_sink):
    config = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    code, output = check(config)
    assert code == 0, output
    assert output.startswith("TKALERT HEARTBEAT OK - sent heartbeat ")
    assert "runtime=" in output and "queued=0;;;0" in output and "failed=0;;;0" in output
    [mail] = smtp_sink.emails()
    plaintext, signer = keys.decrypt(payload_of(mail))
    assert signer == keys.system
    root = parse_valid(plaintext)
    assert root.tag == "heartbeat" and root.findtext("message-id") in output


def test_server_down_is_warning_queued_and_the_heartbeat_waits_in_the_spool(tmp_path, keys, refused_port):
    config = write_config(tmp_path / "c.conf", keys, refused_port, tmp_path / "state")
    code, output = check(config)
    assert code == 1, output
    assert output.startswith("TKALERT HEARTBEAT WARNING - queued for retry heartbeat")
    assert "cannot connect" in output and "queued=1;;;0" in output


def test_placeholder_contact_is_sent_but_warning(tmp_path, keys, smtp_sink):
    config = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    config.write_text(config.read_text().replace("admin@acme-gmbh.de", "root@example.com"))
    code, output = check(config)
    assert code == 1 and "placeholder address" in output, output
    assert len(smtp_sink.mails) == 1


def test_sealing_failure_is_critical_with_the_reason(tmp_path, keys, smtp_sink):
    config = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    config.write_text(config.read_text().replace(keys.vendor, "A" * 40))
    code, output = check(config)
    assert code == 2, output
    assert output.startswith("TKALERT HEARTBEAT CRITICAL - could not send heartbeat ") and "A" * 40 in output
    assert "not sealed" in output and "kept in the spool" in output
    assert smtp_sink.mails == []


def test_broken_config_is_unknown_in_one_line(tmp_path):
    bad = tmp_path / "c.conf"
    bad.write_text("[tkalert]\nauth_kee = x\n")
    code, output = check(bad)
    assert code == 3 and "unknown key 'auth_kee'" in output and "Traceback" not in output
    assert len(output.splitlines()) == 1
