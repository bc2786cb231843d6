"""Every message's way reaches syslog with its id: accepted, sent, failed (a real datagram socket as the daemon)."""

from __future__ import annotations

import socket

import pytest

from cast.config import write_config
from cast.plugins import run_tkalert

ALERT = ("--type=service", "--host=db01", "--service=RAID", "--service-status=CRITICAL")


@pytest.fixture
def syslog_socket(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "log"
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, path
    sock.close()


def received(sock) -> list[str]:
    lines = []
    sock.settimeout(0.5)
    try:
        while True:
            lines.append(sock.recv(4096).decode("utf-8"))
    except TimeoutError:
        return lines


def configured(tmp_path, keys, port: int, syslog: str):
    config = write_config(tmp_path / "tkalert.conf", keys, port, tmp_path / "state")
    text = config.read_text("utf-8").replace("destinations = vendor\n", f"destinations = vendor\nsyslog = {syslog}\n")
    config.write_text(text, "utf-8")
    return config


def test_an_alert_is_logged_when_queued_and_when_sent(tmp_path, keys, smtp_sink, syslog_socket):
    sock, path = syslog_socket
    config = configured(tmp_path, keys, smtp_sink.port, str(path))
    assert run_tkalert(f"--config={config}", *ALERT).returncode == 0
    [message_id] = smtp_sink.accepted
    lines = received(sock)
    assert [line.split(": ", 1)[0].split("[")[0] for line in lines] == ["<30>tkalert"] * 2, lines
    assert lines[0].endswith(f"{message_id} alert db01/RAID CRITICAL: queued")
    assert lines[1].endswith(f"{message_id} alert db01/RAID CRITICAL: sent: via vendor")


def test_a_refused_message_is_logged_as_a_warning_with_the_reason(tmp_path, keys, smtp_sink, syslog_socket):
    sock, path = syslog_socket
    smtp_sink.mode = "permfail"
    config = configured(tmp_path, keys, smtp_sink.port, str(path))
    assert run_tkalert(f"--config={config}", *ALERT).returncode == 1
    failed = [line for line in received(sock) if ": failed: " in line]
    assert len(failed) == 1 and failed[0].startswith("<28>tkalert[") and "554" in failed[0], failed


def test_syslog_off_logs_nothing_and_no_listener_is_no_error(tmp_path, keys, smtp_sink, syslog_socket):
    sock, path = syslog_socket
    config = configured(tmp_path, keys, smtp_sink.port, "off")
    assert run_tkalert(f"--config={config}", *ALERT).returncode == 0
    assert received(sock) == []
    config = configured(tmp_path, keys, smtp_sink.port, str(tmp_path / "nobody-listens"))
    done = run_tkalert(f"--config={config}", *ALERT[:2], "--service=NTP", ALERT[3])
    assert done.returncode == 0 and done.stderr == b"", done.stderr
