"""The monitoring system's health in the heartbeat: read from Nagios' status.dat (a real-format file), the Icinga 2
API's and Zabbix API's answers summarised; a failure to read is reported inside the heartbeat and never blocks
it; a heartbeat without health is still a 1.5 heartbeat; switched-off categories are named in it."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cast.config import write_config
from cast.plugins import ROOT, run_tkalert
from tkalert.config.settings import load_settings
from tkalert.document.reader import parse_valid
from tkalert.sender.health import check_health, read_health
from tkalert.sender.health.icinga2 import summarize as icinga2_summary
from tkalert.sender.health.nagios import parse_status, summarize
from tkalert.sender.health.zabbix import summarize as zabbix_summary

STATUS = Path(__file__).with_name("status.dat")
NOW = 1764750000.0


def config_with(tmp_path, keys, sections) -> Path:
    return write_config(tmp_path / "tkalert.conf", keys, 25, tmp_path / "state", sections=sections)


def heartbeat(config: Path):
    done = run_tkalert("--config", str(config), "--dump-xml=-")
    assert done.returncode == 0, done.stderr
    return parse_valid(done.stdout)


def test_nagios_status_dat_is_summarised():
    health = summarize(parse_status(STATUS.read_text()), NOW)
    assert health.hosts == {"up": 1, "down": 1, "unreachable": 0}
    assert health.services == {"ok": 2, "warning": 1, "critical": 1, "unknown": 0}
    assert health.unhandled_problems == 1  # db01 is acknowledged, Swap Usage in a downtime
    assert health.newest_check_age == 5.0
    assert (health.notifications_enabled, health.active_checks_enabled) == (True, True)
    assert health.program_start == 1764740000 and health.version == "4.4.6"
    assert health.average_latency == pytest.approx(0.612 / 5)


def test_the_heartbeat_carries_nagios_health_and_stays_valid(tmp_path, keys):
    cache = tmp_path / "objects.cache"
    cache.write_text("define host {\n\thost_name\tlocalhost\n\t}\n")
    config = config_with(tmp_path, keys, {"health": {"source": "nagios", "status_file": str(STATUS),
                                                     "config_file": str(cache)}})
    root = heartbeat(config)
    health = root.find("health")
    assert health.get("source") == "nagios" and health.get("version") == "4.4.6"
    assert dict(health.find("services").attrib) == {"ok": "2", "warning": "1", "critical": "1", "unknown": "0"}
    assert health.findtext("unhandled-problems") == "1"
    assert health.findtext("notifications-enabled") == "true"
    assert health.findtext("program-start") == "2025-12-03T05:33:20Z"
    assert health.findtext("config-checksum") == hashlib.sha256(cache.read_bytes()).hexdigest()
    assert float(health.findtext("newest-check-age")) > 0
    assert root.find("error") is None and health.find("error") is None


def test_a_heartbeat_without_health_is_a_15_heartbeat(tmp_path, keys):
    root = heartbeat(config_with(tmp_path, keys, {}))
    assert [child.tag for child in root][:4] == ["authkey", "date", "contact-name", "contact-mail"]
    assert root.find("health") is None and root.find("switched-off") is None


@pytest.mark.parametrize("health, expected", [
    ({"source": "nagios", "status_file": "/nonexistent/status.dat"}, "cannot read /nonexistent/status.dat"),
    ({"source": "icinga2", "url": "https://127.0.0.1:{refused}", "user": "tkalert",
      "password_file": "{password}"}, "Connection refused"),
    ({"source": "icinga2", "url": "https://127.0.0.1:{silent}", "user": "tkalert", "password_file": "{password}",
      "timeout": "1"}, "no answer within timeout = 1s"),
    ({"source": "icinga2"}, "needs user and password_file"),
    ({"source": "zabbix", "url": "http://127.0.0.1:{refused}/api_jsonrpc.php", "token_file": "{password}"},
     "cannot reach the Zabbix API"),
    ({"source": "nagios", "bogus": "1"}, "unknown key 'bogus' in [health]"),
])
def test_a_failure_to_read_is_reported_inside_the_heartbeat(tmp_path, keys, refused_port, health, expected):
    password = tmp_path / "api.pw"
    password.write_text("secret\n")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts the connection into its backlog, never answers the TLS handshake
    values = {k: v.format(refused=refused_port, silent=silent.getsockname()[1], password=password)
              for k, v in health.items()}
    try:
        started = time.monotonic()
        root = heartbeat(config_with(tmp_path, keys, {"health": values}))
        assert time.monotonic() - started < 30
    finally:
        silent.close()
    assert expected in root.find("health").findtext("error")
    assert root.findtext("authkey") == "0123456789a"


def test_check_health_is_strict_for_tkalert_test(tmp_path, keys):
    from tkalert.errors import ConfigError

    settings = load_settings(config_with(tmp_path, keys, {"health": {"source": "nagio"}}))
    with pytest.raises(ConfigError, match="source must be one of"):
        check_health(settings)
    assert read_health(settings).error.endswith("not 'nagio'")
    assert read_health(load_settings(config_with(tmp_path, keys, {}))) is None


def test_switched_off_categories_are_named_in_the_heartbeat(tmp_path, keys):
    root = heartbeat(config_with(tmp_path, keys, {"categories": {"report": "off", "alerts": "on", "health": "off"},
                                                  "health": {"source": "nagios", "status_file": str(STATUS)}}))
    assert [c.text for c in root.find("switched-off")] == ["report", "health"]
    assert root.find("health") is None  # health is off: not read


def test_icinga2_and_zabbix_answers_are_summarised():
    cib = {"num_hosts_up": 3, "num_hosts_down": 1, "num_hosts_unreachable": 0, "num_hosts_problem": 1,
           "num_hosts_handled": 1, "num_services_ok": 10, "num_services_warning": 2, "num_services_critical": 1,
           "num_services_unknown": 0, "num_services_problem": 3, "num_services_handled": 1, "avg_latency": 0.05}
    app = {"enable_notifications": True, "enable_host_checks": True, "enable_service_checks": False,
           "program_start": 1764740000.5, "version": "r2.13.6-1"}
    health = icinga2_summary(cib, app, [1764749990.0, None, 1764749999.5], NOW)
    assert health.hosts == {"up": 3, "down": 1, "unreachable": 0}
    assert health.unhandled_problems == 2 and health.newest_check_age == 0.5
    assert (health.notifications_enabled, health.active_checks_enabled) == (True, False)
    health = zabbix_summary([{"severity": "4"}, {"severity": "4"}, {"severity": "2"}], "2", "5", "1", "6.0.14")
    assert health.services["high"] == 2 and health.services["warning"] == 1
    assert (health.unhandled_problems, health.hosts) == (2, {"monitored": 5, "unmonitored": 1})


def test_icinga2_config_checksum_covers_every_file_under_the_config_dir(tmp_path):
    from tkalert.sender.health.icinga2 import config_checksum

    def tree(root: Path) -> Path:
        (root / "conf.d").mkdir(parents=True)
        (root / "features-available").mkdir()
        (root / "features-enabled").mkdir()
        (root / "icinga2.conf").write_text('include_recursive "conf.d"\n')
        (root / "conf.d" / "hosts.conf").write_text('object Host "web01" { address = "10.0.0.1" }\n')
        (root / "features-available" / "api.conf").write_text('object ApiListener "api" { }\n')
        (root / "features-enabled" / "api.conf").symlink_to("../features-available/api.conf")
        (root / "conf.d" / "loop").symlink_to("..")  # a link back up: walked once, never forever
        return root

    one, other = tree(tmp_path / "one"), tree(tmp_path / "other")
    first = config_checksum(one)
    assert len(first) == 64 and first == config_checksum(other)  # the same files elsewhere: the same checksum
    (other / "features-available" / "api.conf").write_text('object ApiListener "api" { bind_port = 5666 }\n')
    assert config_checksum(other) != first  # changed through the enabled feature's link
    (one / "conf.d" / "new.conf").write_text("")
    assert config_checksum(one) not in (first, config_checksum(other))
    (one / "conf.d" / "new.conf").unlink()
    assert config_checksum(one) == first
    assert config_checksum(tmp_path / "absent") is None


def test_an_alert_never_imports_the_health_readers(tmp_path, keys):
    config = config_with(tmp_path, keys, {"health": {"source": "nagios", "status_file": str(STATUS)}})
    code = ("import sys; from tkalert.cli import main; "
            f"main(['--config', {str(config)!r}, '--type=service', '--host=h', '--service=s', "
            "'--service-status=CRITICAL', '--dump-xml=/dev/null']); "
            "print(sorted(m for m in sys.modules if m.startswith('tkalert.sender.health')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_tkalert_test_shows_what_is_off_and_the_health(tmp_path, keys):
    config = config_with(tmp_path, keys, {"categories": {"report": "off", "report.snmpd": "off"},
                                          "health": {"source": "nagios", "status_file": str(STATUS)}})
    out = run_tkalert("test", "--config", str(config)).stdout.decode()
    assert "PASS  categories" in out and "off: report, report.snmpd (said in every heartbeat)" in out
    assert "source nagios: 2 hosts, services 2 ok, 1 warning, 1 critical, 0 unknown, 1 unhandled problems" in out
    broken = config_with(tmp_path, keys, {"health": {"source": "nagios", "status_file": "/nonexistent"}})
    out = run_tkalert("test", "--config", str(broken)).stdout.decode()
    assert "FAIL  health nagios" in out and "cannot read /nonexistent" in out
    typo = config_with(tmp_path, keys, {"categories": {"reprot": "off"}})
    out = run_tkalert("test", "--config", str(typo)).stdout.decode()
    assert "FAIL  categories" in out and "did you mean 'report'?" in out
