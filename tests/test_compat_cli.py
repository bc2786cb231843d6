"""TKalert 1.5's reference command lines (shared/DESIGN.md) work unchanged and give valid documents."""

from __future__ import annotations


from cast.plugins import run_tkalert
from tkalert.document.reader import parse_valid

IPMI_PERF = (
    "'System Temp'=28.00 'Peripheral Temp'=36.00 'FAN 1'=1725.00 'Vcore'=0.78\n"
    "'3.3VCC'=3.38 '12V'=11.93 'VDIMM'=1.53 '5VCC'=5.09 '-12V'=-12.09 'VBAT'=3.14 'VSB'=3.34\n'AVCC'=3.38"
)
IPMI_OUTPUT = "Critical [PS 1 Status = 'Presence detected' 'Power Supply Failure detected']"


def test_manual_heartbeat_dump(tmp_path, config):
    dump = tmp_path / "dump-heartbeat.xml"
    done = run_tkalert('--type=heartbeat', '--auth-key=0123456789a', '--contact-person=Testperson',
                       '--contact-mail=test@example.com', '--verbose', '--dump', str(dump))
    assert done.returncode == 0, done.stderr
    root = parse_valid(dump.read_bytes())
    assert root.tag == "heartbeat"
    assert [c.tag for c in root][:4] == ["authkey", "date", "contact-name", "contact-mail"]
    assert root.findtext("authkey") == "0123456789a"
    assert root.find("authkey").get("category") == "Monitoring"
    assert root.findtext("contact-name") == "Testperson"
    log = done.stderr.decode()
    for step in ("[DEBUG] Starting up", "[INFO] Creating heartbeat object", "[INFO] Set --date switch to NOW",
                 f"[DEBUG] Dump xml to file ({dump})"):
        assert step in log
    assert log.splitlines()[0][:4].isdigit()  # timestamped lines, as 1.5 printed them


def test_manual_alert_dump(tmp_path, config):
    dump = tmp_path / "dump-service.xml"
    done = run_tkalert(
        '--type=service', '--auth-key=0123456789a', '--contact-person=Testperson',
        '--contact-mail=test@example.com', '--host=host1.example.com', '--host-status=UP', '--ip=127.0.0.200',
        '--os=Ubuntu 16.04.3 LTS', '--serial=90000xxxxx', '--service=IPMI Sensors', '--service-status=CRITICAL',
        f'--output={IPMI_OUTPUT}', f'--perf={IPMI_PERF}', '--duration=3600', '--component-serial=012345',
        '--component-name=IPMI', '--verbose', '--dump', str(dump))
    assert done.returncode == 0, done.stderr
    root = parse_valid(dump.read_bytes())
    assert root.tag == "alert"
    assert [c.tag for c in root][:6] == ["authkey", "date", "contact-name", "contact-mail", "host", "service"]
    host, service = root.find("host"), root.find("service")
    assert [c.tag for c in host] == ["name", "ip", "status", "operating-system", "server-serial"]
    assert host.findtext("name") == "host1.example.com"
    assert host.findtext("server-serial") == "90000xxxxx"
    assert service.findtext("name") == "IPMI Sensors"
    assert service.findtext("status") == "CRITICAL"
    assert service.findtext("plugin-output") == IPMI_OUTPUT
    assert service.findtext("perfdata") == IPMI_PERF
    assert service.findtext("duration") == "3600"
    assert service.findtext("component-name") == "IPMI"


def tkmon_line(enabled: str) -> list[str]:
    """TKmon's notify-service-by-thomaskrenn after macro expansion (unset macros expand to nothing)."""
    return [
        f'--enabled={enabled}', '--type=service', '--auth-key=0123456789a', '--contact-person=Testperson',
        '--contact-mail=admin@acme-gmbh.de', '--host=web01', '--host-status=UP', '--ip=2001:db8::10',
        '--os=', '--serial=S123', '--service=RAID', '--service-status=WARNING', '--output=degraded',
        '--perf=', '--component-serial=NOT_SET', '--component-name=NOT_SET', '--duration=12.5',
        '--date=1700000000.75', '--dump-xml=-',
    ]


def test_tkmon_notification_line(config):
    done = run_tkalert(*tkmon_line("1"))
    assert done.returncode == 0, done.stderr
    root = parse_valid(done.stdout)
    assert root.findtext("date") == "1700000000"
    assert root.findtext("host/ip") == "2001:db8::10"
    assert root.findtext("service/duration") == "12.5"
    # absent and NOT_SET fields are left out, not filled with placeholders
    assert root.find("host/operating-system") is None
    assert root.find("service/perfdata") is None
    assert root.find("service/component-serial") is None
    assert b"NOT_SET" not in done.stdout


def test_unset_macros_fall_back_to_the_config(config):
    """NOT_SET, or a macro Nagios left unexpanded because its custom variable is not defined, means "not given":
    the config's auth key and contact fill in, and optional fields are left out."""
    done = run_tkalert("--type=service", "--auth-key=NOT_SET", "--contact-person=$_HOSTTKMON_CONTACTPERSON$",
                       "--contact-mail=NOT_SET", "--host=web01", "--service=RAID", "--service-status=CRITICAL",
                       "--serial=$_HOSTTK_SERIAL$", "--os=$_HOSTOS$", "--output=costs $5$", "--dump-xml=-")
    assert done.returncode == 0, done.stderr
    root = parse_valid(done.stdout)
    assert (root.findtext("authkey"), root.findtext("contact-name")) == ("0123456789a", "Testperson")
    assert root.find("host/server-serial") is None and root.find("host/operating-system") is None
    assert root.findtext("service/plugin-output") == "costs $5$"


def test_enabled_zero_exits_with_15_message(config):
    done = run_tkalert(*tkmon_line("0"))
    assert done.returncode == 0
    assert done.stdout == b"tkalert not enabled, exit.\n"


def test_empty_enabled_macro_means_enabled(config):
    done = run_tkalert(*tkmon_line(""))
    assert done.returncode == 0, done.stderr
    parse_valid(done.stdout)


def test_icinga1_heartbeat_check_line(config, smtp_sink):
    done = run_tkalert('--type=heartbeat', '--auth-key=0123456789a', '--contact-person=Testperson',
                       '--contact-mail=admin@acme-gmbh.de', '--check')
    assert done.returncode == 0, done.stderr
    line = done.stdout.decode()
    assert line.startswith("tkalert/") and " sent heartbeat - OK|runtime=" in line and line.endswith("s\n")
    assert len(smtp_sink.mails) == 1


def test_invalid_utf8_bytes_in_real_argv(config):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "tkalert", *BASE_SERVICE, b"--output=caf\xe9 \xff\xfe ok",
                           "--dump-xml=-"], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert parse_valid(done.stdout).findtext("service/plugin-output") == "caf\ufffd \ufffd\ufffd ok"


BASE_SERVICE = ["--type=service", "--auth-key=k", "--host=h", "--service=s", "--service-status=CRITICAL"]


def test_host_alert_carries_the_host_checks_result(config):
    done = run_tkalert("--type=host", "--host=gw01", "--host-status=DOWN", "--ip=2001:db8::1", "--serial=S9",
                       "--output=PING CRITICAL - Packet loss = 100%", "--perf=rta=0.000ms;3000;5000;0 pl=100%",
                       "--duration=61.25", "--notification-type=PROBLEM", "--dump-xml=-")
    assert done.returncode == 0, done.stderr
    root = parse_valid(done.stdout)
    host = root.find("host")
    assert [child.tag for child in host] == ["name", "ip", "status", "server-serial", "plugin-output", "perfdata",
                                             "duration"]
    assert host.findtext("plugin-output") == "PING CRITICAL - Packet loss = 100%"
    assert host.findtext("duration") == "61.25" and root.find("service") is None


def test_an_acknowledgement_carries_its_author_and_comment(config):
    done = run_tkalert("--type=service", "--host=db01", "--service=RAID", "--service-status=CRITICAL",
                       "--notification-type=ACKNOWLEDGEMENT", "--notification-author=alice",
                       "--notification-comment=disk ordered, <swap> at 14:00", "--dump-xml=-")
    assert done.returncode == 0, done.stderr
    root = parse_valid(done.stdout)
    assert (root.findtext("notification-author"), root.findtext("notification-comment")) == (
        "alice", "disk ordered, <swap> at 14:00")
    plain = run_tkalert("--type=service", "--host=db01", "--service=RAID", "--service-status=CRITICAL",
                        "--notification-author=", "--dump-xml=-")
    assert parse_valid(plain.stdout).find("notification-author") is None
