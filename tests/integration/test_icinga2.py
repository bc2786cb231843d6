"""contrib/icinga2 on a real Icinga 2: the daemon runs tkalert as its own user and the vendor gets the alert.

Each test builds a private Icinga 2 the way contrib/icinga2/README.md tells an admin to: the stock icinga2.conf
layout (constants.conf, features, conf.d) with the two contrib files copied into conf.d, and the constants
TkalertBinDir and TkalertConfig pointing at the installed tkalert and the site's config. Every path Icinga 2 writes
(run, state, cache, log, spool) is overridden with `-D` constants into the site's directory, so the packaged
/etc/icinga2 and /var/lib/icinga2 are never touched. Started as root, `icinga2 daemon` drops to the `nagios` user
before it reads its config, as the packaged service does; check results go in through the command pipe; the
PerfdataWriter records every check result, which is how we see the heartbeat service's state.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import ROOT, wait_until

pytestmark = pytest.mark.integration

CONTRIB = ROOT / "contrib" / "icinga2"
CONTRIB_FILES = ("tkalert-commands.conf", "tkalert-notifications.conf")
HOST = "srv1.example.com"
SERIAL = "SN-90000123"
OS_NAME = "Debian GNU/Linux 12"
AUTH_KEY = "0123456789a"  # the key tests/cast/config.py write_config puts in the site's config
OTHER_HOST = "lab.example.com"
OTHER_KEY = "lab-contract-42"

FEATURES = """\
object CheckerComponent "checker" { }
object NotificationComponent "notification" { }
object FileLogger "main-log" {
  severity = "notice"
  path = LogDir + "/icinga2.log"
}
object ExternalCommandListener "command" {
  command_path = InitRunDir + "/icinga2.cmd"
}
object PerfdataWriter "perfdata" {
  host_temp_path = SpoolDir + "/host-perfdata"
  service_temp_path = SpoolDir + "/service-perfdata"
  host_perfdata_path = SpoolDir + "/perfdata/host"
  service_perfdata_path = SpoolDir + "/perfdata/service"
  host_format_template = "$host.name$\\t-\\t$host.state$\\t$host.state_type$\\t$host.output$"
  service_format_template = "$host.name$\\t$service.name$\\t$service.state$\\t$service.state_type$\\t$service.output$"
  rotation_interval = 1s
}
"""

# The monitored server: passive results only (no active checks to race the test), and HARD at the first result.
OBJECTS = f"""\
object Host "{HOST}" {{
  check_command = "dummy"
  enable_active_checks = false
  max_check_attempts = 1
  address = "192.0.2.10"
  vars.tkalert = true
  vars.tkalert_heartbeat = true
  vars.tkalert_serial = "{SERIAL}"
  vars.tkalert_os = "{OS_NAME}"
}}

// a host of another contract: its own auth key, and no address, serial or OS to pass
object Host "{OTHER_HOST}" {{
  check_command = "dummy"
  enable_active_checks = false
  max_check_attempts = 1
  vars.tkalert = true
  vars.tkalert_auth_key = "{OTHER_KEY}"
}}

template Service "passive-service" {{
  host_name = "{HOST}"
  check_command = "dummy"
  enable_active_checks = false
  max_check_attempts = 1
}}

object Service "raid" {{
  import "passive-service"
  vars.tkalert_component_serial = "C-0815"
  vars.tkalert_component_name = "RAID controller"
}}

object Service "syslog" {{
  import "passive-service"
}}

object Service "uncut" {{
  import "passive-service"
  vars.tkalert_max_text = 1000000  // past Linux's 128 KiB per argument: shows why the commands cut
}}

object Service "local-only" {{
  import "passive-service"
  vars.tkalert = false
}}
"""


class Icinga2:
    """A private Icinga 2 in `root`: the stock config layout, its own state, log, command pipe and perfdata."""

    def __init__(self, site, bin_dir: Path, layout: str = "conf.d"):
        self.site = site
        self.root = site.root / "icinga2"
        account = pwd.getpwnam("nagios")  # Debian's Icinga 2 runs as nagios
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.etc = self.root / "etc"
        self.conf = self.etc / "icinga2.conf"
        self.dirs = {name: self.root / name for name in ("run", "data", "cache", "log", "spool")}
        self.pipe = self.dirs["run"] / "icinga2.cmd"
        self.log = self.dirs["log"] / "icinga2.log"
        self.process: subprocess.Popen | None = None
        self.stdout = None
        self._write_config(bin_dir, site.config, layout)

    def _write_config(self, bin_dir: Path, tkalert_config: Path, layout: str) -> None:
        conf_d = self.etc / "conf.d"
        (self.etc / "features-enabled").mkdir(parents=True)
        conf_d.mkdir()
        (self.etc / "constants.conf").write_text(
            f'const TkalertBinDir = "{bin_dir}"\nconst TkalertConfig = "{tkalert_config}"\n')
        (self.etc / "features-enabled" / "test.conf").write_text(FEATURES)
        (conf_d / "hosts.conf").write_text(OBJECTS)
        include = ""
        if layout == "conf.d":  # README: install -m 644 contrib/icinga2/tkalert-*.conf /etc/icinga2/conf.d/
            for name in CONTRIB_FILES:
                shutil.copy(CONTRIB / name, conf_d / name)
        else:  # README: include "/usr/local/share/doc/tkalert/contrib/icinga2/*.conf" after include "constants.conf"
            shipped = self.root / "tkalert" / "contrib" / "icinga2"
            shutil.copytree(CONTRIB, shipped)
            include = f'include "{shipped}/*.conf"\n'
        self.conf.write_text('include "constants.conf"\n' + include
                             + 'include <itl>\ninclude "features-enabled/*.conf"\ninclude_recursive "conf.d"\n')
        for path in [self.root, *self.dirs.values(), self.dirs["spool"] / "perfdata"]:
            path.mkdir(exist_ok=True)
        for path in [self.root, *self.root.rglob("*")]:
            os.chown(path, self.uid, self.gid)

    def argv(self, *extra: str) -> list[str]:
        # Icinga 2.13 derives every path it writes from these constants (PidPath, StatePath, ObjectsPath, ...).
        defines = [f"-D{name}={self.dirs[key]}" for name, key in
                   (("InitRunDir", "run"), ("DataDir", "data"), ("CacheDir", "cache"), ("LogDir", "log"),
                    ("SpoolDir", "spool"))]
        return ["icinga2", "daemon", "-c", str(self.conf), *defines, *extra]

    def validate(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv("-C"), capture_output=True, text=True, timeout=120, check=False)

    def objects(self, kind: str) -> list[str]:
        """Names of the objects of one type that the last validation created (icinga2 object list)."""
        done = subprocess.run(["icinga2", "object", "list", f"-DCacheDir={self.dirs['cache']}", "--type", kind],
                              capture_output=True, text=True, timeout=60, check=True)
        return [line.split("'")[1] for line in done.stdout.splitlines() if line.startswith("Object '")]

    def start(self) -> None:
        # as root, like the packaged service: the umbrella process drops to nagios before it reads any config
        self.stdout = (self.root / "stdout.log").open("wb")
        self.process = subprocess.Popen(self.argv(), stdout=self.stdout, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        wait_until(lambda: self.ready() or self.process.poll() is not None, 60, "Icinga 2 to start")
        assert self.process.poll() is None, (self.root / "stdout.log").read_text(errors="replace")[-3000:]

    def ready(self) -> bool:
        return self.pipe.is_fifo() and "Activated all objects" in self.log_text()

    def command(self, *fields: object) -> None:
        """One external command, e.g. command("PROCESS_SERVICE_CHECK_RESULT", HOST, "raid", 2, "output")."""
        line = f"[{int(time.time())}] " + ";".join(str(field) for field in fields) + "\n"
        with open(self.pipe, "w", encoding="utf-8") as pipe:
            pipe.write(line)

    def results(self, service: str) -> list[tuple[str, str, str]]:
        """(state, state type, output) of every check result of a service so far, oldest first.

        Only the files the PerfdataWriter has rotated (every second) are read: they are complete.
        """
        rows = []
        for path in sorted((self.dirs["spool"] / "perfdata").glob("service.*")):
            for line in path.read_text(errors="replace").splitlines():
                fields = line.split("\t", 4)
                if len(fields) == 5 and fields[:2] == [HOST, service]:
                    rows.append(tuple(fields[2:]))
        return rows

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_lines(self, text: str, at_least: int = 1) -> list[str]:
        """The log lines holding text, once there are at_least of them (the log is flushed on a timer)."""
        lines = [line for line in self.log_text().splitlines() if text in line]
        return lines if len(lines) >= at_least else []

    def stop(self) -> None:
        """SIGTERM to the umbrella process (the worker obeys only it), then make sure nothing of ours is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # anything of the group that outlived the umbrella
        except ProcessLookupError:
            pass
        self.process.wait()
        self.stdout.close()
        wait_until(lambda: not self.own_processes(), 15, "every process of the private Icinga 2 to end")

    def own_processes(self) -> list[int]:
        """Live processes started with our private config (the umbrella, the worker, the spawn helper)."""
        found = []
        for proc in Path("/proc").iterdir():
            try:
                cmdline = (proc / "cmdline").read_bytes()
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if str(self.conf).encode() in cmdline and state != "Z":
                found.append(int(proc.name))
        return found

    def users(self) -> set[int]:
        """The real uids the running daemon's processes have."""
        uids = set()
        for pid in self.own_processes():
            status = Path(f"/proc/{pid}/status").read_text()
            uids.add(int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1]))
        return uids


@pytest.fixture
def icinga(installed, site_for):
    """A running private Icinga 2 that calls home through the installed tkalert to the site's SMTP sink."""
    instance = Icinga2(site_for("nagios"), installed.bin)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


def alert_for(service: str | None, status: str, notification: str):
    """A predicate for site.wait_for: the alert about service (None: the host) in that state, of that type."""
    def matches(root) -> bool:
        return (root.tag == "alert" and root.findtext("service/name") == service
                and (root.findtext("service/status") if service else root.findtext("host/status")) == status
                and root.findtext("notification-type") == notification)
    return matches


def alerts(site) -> list[tuple]:
    """(service or None, state, notification type) of every alert received so far, in arrival order."""
    return [(root.findtext("service/name"), root.findtext("service/status") or root.findtext("host/status"),
             root.findtext("notification-type")) for root in site.documents() if root.tag == "alert"]


def host_up(icinga: Icinga2) -> None:
    icinga.command("PROCESS_HOST_CHECK_RESULT", HOST, 0, "PING OK - Packet loss = 0%")


@pytest.mark.parametrize("layout", ["conf.d", "include"])
def test_icinga2_accepts_the_contrib_files_included_as_the_readme_says(installed, site_for, layout):
    icinga = Icinga2(site_for("nagios"), installed.bin, layout)
    done = icinga.validate()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "warning/" not in done.stdout, done.stdout
    assert sorted(icinga.objects("NotificationCommand")) == ["tkalert-host-notification",
                                                            "tkalert-service-notification"]
    assert "tkalert-heartbeat" in icinga.objects("CheckCommand")
    assert sorted(icinga.objects("Notification")) == [
        f"{OTHER_HOST}!tkalert", f"{HOST}!raid!tkalert", f"{HOST}!syslog!tkalert", f"{HOST}!tkalert",
        f"{HOST}!uncut!tkalert"]
    assert f"{HOST}!tkalert-heartbeat" in icinga.objects("Service")


def test_critical_acknowledgement_and_recovery_reach_the_vendor(icinga):
    site = icinga.site
    output = """RAID CRITICAL - array md0 'degraded' "disk 2" failed, cost $5 ]]> <done>"""
    host_up(icinga)
    icinga.command("PROCESS_SERVICE_CHECK_RESULT", HOST, "raid", 2, output + "|temp=42;50;60 fan=1200rpm")

    alert = site.wait_for(alert_for("raid", "CRITICAL", "PROBLEM"), timeout=60, what="the RAID problem")
    assert {field: alert.findtext(f"host/{field}") for field in ("name", "ip", "status", "operating-system",
                                                                 "server-serial")} == {
        "name": HOST, "ip": "192.0.2.10", "status": "UP", "operating-system": OS_NAME, "server-serial": SERIAL}
    assert alert.findtext("service/plugin-output") == output
    assert alert.findtext("service/perfdata") == "temp=42;50;60 fan=1200rpm"
    assert (alert.findtext("service/component-serial"), alert.findtext("service/component-name")) == (
        "C-0815", "RAID controller")
    assert float(alert.findtext("service/duration")) >= 0

    # an acknowledgement and a custom notification are sent as what they are, never as a new problem
    icinga.command("ACKNOWLEDGE_SVC_PROBLEM", HOST, "raid", 1, 1, 0, "admin", "disk ordered")
    site.wait_for(alert_for("raid", "CRITICAL", "ACKNOWLEDGEMENT"), timeout=60, what="the acknowledgement")
    icinga.command("SEND_CUSTOM_SVC_NOTIFICATION", HOST, "raid", 0, "admin", "please call")
    site.wait_for(alert_for("raid", "CRITICAL", "CUSTOM"), timeout=60, what="the custom notification")

    icinga.command("PROCESS_SERVICE_CHECK_RESULT", HOST, "raid", 0, "RAID OK - md0 clean|temp=40;50;60")
    recovery = site.wait_for(alert_for("raid", "OK", "RECOVERY"), timeout=60, what="the RAID recovery")
    assert recovery.findtext("service/plugin-output") == "RAID OK - md0 clean"
    assert alerts(site) == [("raid", "CRITICAL", "PROBLEM"), ("raid", "CRITICAL", "ACKNOWLEDGEMENT"),
                            ("raid", "CRITICAL", "CUSTOM"), ("raid", "OK", "RECOVERY")]

    # run by the daemon as its own user, with the auth key from the config, never on the command line
    assert icinga.users() == {icinga.uid}
    written = list(site.state.rglob("*"))
    assert written and all(site.owned_by_user(path) for path in written)
    running = wait_until(lambda: icinga.log_lines("Running command", at_least=4), 30,
                         "the four notification commands in Icinga 2's log")
    assert all(AUTH_KEY not in line for line in running)


def test_heartbeat_service_sends_the_heartbeat_and_turns_ok(icinga):
    site = icinga.site
    now = int(time.time())
    icinga.command("SCHEDULE_FORCED_SVC_CHECK", HOST, "tkalert-heartbeat", now)

    heartbeat = site.wait_for(lambda root: root.tag == "heartbeat", timeout=60, what="the heartbeat")
    assert heartbeat.findtext("authkey") == AUTH_KEY
    results = wait_until(lambda: icinga.results("tkalert-heartbeat"), 30, "the heartbeat check result")
    state, _, output = results[-1]
    assert state == "OK", output
    assert "sent heartbeat" in output


def test_host_down_and_up_reach_the_vendor(icinga):
    site = icinga.site
    host_up(icinga)
    icinga.command("PROCESS_HOST_CHECK_RESULT", HOST, 1, "PING CRITICAL - Packet loss = 100%")
    down = site.wait_for(alert_for(None, "DOWN", "PROBLEM"), timeout=60, what="the host problem")
    assert (down.findtext("host/name"), down.findtext("host/server-serial")) == (HOST, SERIAL)
    assert down.findtext("host/plugin-output") == "PING CRITICAL - Packet loss = 100%"
    assert down.find("service") is None

    host_up(icinga)
    site.wait_for(alert_for(None, "UP", "RECOVERY"), timeout=60, what="the host recovery")
    assert alerts(site) == [(None, "DOWN", "PROBLEM"), (None, "UP", "RECOVERY")]


def test_a_host_key_travels_in_the_environment_and_unset_vars_are_left_out(icinga):
    site = icinga.site
    icinga.command("PROCESS_HOST_CHECK_RESULT", OTHER_HOST, 1, "PING CRITICAL - Packet loss = 100%")
    down = site.wait_for(lambda root: root.findtext("host/name") == OTHER_HOST, timeout=60, what="the lab alert")
    assert down.findtext("authkey") == OTHER_KEY
    # no ip, OS or serial set: only the name, the state and the host check's own result
    assert [element.tag for element in down.find("host")] == ["name", "status", "plugin-output", "duration"]
    assert down.findtext("host/plugin-output") == "PING CRITICAL - Packet loss = 100%"
    running = wait_until(lambda: [line for line in icinga.log_lines("Running command") if OTHER_HOST in line], 30,
                         "the lab notification command in Icinga 2's log")
    assert OTHER_KEY not in running[0] and "--ip" not in running[0] and "--serial" not in running[0]


def test_200_kib_of_plugin_output_still_calls_home(icinga):
    site = icinga.site
    head = """syslog CRITICAL $HOSTNAME$ "quoted" 'single' ]]> """
    output = head + "x" * (200 * 1024)
    host_up(icinga)
    icinga.command("PROCESS_SERVICE_CHECK_RESULT", HOST, "syslog", 2, output)
    icinga.command("PROCESS_SERVICE_CHECK_RESULT", HOST, "uncut", 2, output)

    alert = site.wait_for(alert_for("syslog", "CRITICAL", "PROBLEM"), timeout=60, what="the long-output alert")
    text = alert.findtext("service/plugin-output")
    assert text.startswith(head) and text.endswith(" bytes cut]")
    assert len(text) <= 65536

    # without the cut, Linux refuses the 200 KiB argument: the command never runs, nothing reaches the vendor
    refused = wait_until(lambda: icinga.log_lines("Argument list too long"), 30, "the uncut command to fail")
    assert f"'{HOST}!uncut'" in refused[0]
    assert not [root for root in site.documents() if root.findtext("service/name") == "uncut"]


def test_health_is_read_from_the_running_icinga2_api(installed, site_for):
    """The heartbeat's health, read through the REST API of a private Icinga 2 (tkalert.sender.health.icinga2):
    its own CA and node certificate (trustme), an ApiListener on a free localhost port, an ApiUser allowed
    status/query and objects/query only."""
    import trustme
    from cast.ports import free_port
    from tkalert.config.settings import Settings
    from tkalert.sender.health import check_health
    from tkalert.sender.health.icinga2 import config_checksum

    icinga = Icinga2(site_for("nagios"), installed.bin)
    node, port = "icinga-health.test", free_port()
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    leaf = ca.issue_cert(node, common_name=node, key_type=trustme.KeyType.RSA)
    certs = icinga.dirs["data"] / "certs"
    certs.mkdir()
    leaf.private_key_pem.write_to_path(str(certs / f"{node}.key"))
    leaf.cert_chain_pems[0].write_to_path(str(certs / f"{node}.crt"))
    ca.cert_pem.write_to_path(str(certs / "ca.crt"))
    with (icinga.etc / "constants.conf").open("a") as constants:
        constants.write(f'const NodeName = "{node}"\nconst ZoneName = "master"\n')
    (icinga.etc / "features-enabled" / "api.conf").write_text(
        f'object Endpoint NodeName {{ }}\nobject Zone ZoneName {{ endpoints = [ NodeName ] }}\n'
        f'object ApiListener "api" {{\n  bind_host = "127.0.0.1"\n  bind_port = {port}\n}}\n'
        'object ApiUser "tkalert" {\n  password = "health-pw"\n'
        '  permissions = [ "status/query", "objects/query/Host", "objects/query/Service" ]\n}\n')
    password = icinga.root / "api.pw"
    password.write_text("health-pw\n")
    for path in [certs, *certs.iterdir(), icinga.etc / "features-enabled" / "api.conf"]:
        os.chown(path, icinga.uid, icinga.gid)
    settings = Settings(sections={"health": {"source": "icinga2", "url": f"https://127.0.0.1:{port}",
                                             "user": "tkalert", "password_file": str(password),
                                             "ca_file": str(certs / "ca.crt"), "config_dir": str(icinga.etc),
                                             "timeout": "10"}})
    try:
        icinga.start()
        host_up(icinga)
        icinga.command("PROCESS_SERVICE_CHECK_RESULT", HOST, "raid", 2, "RAID degraded")

        def read():
            found = check_health(settings)
            return found if found.error is None and found.services.get("critical") else None

        health = wait_until(read, 60, "the Icinga 2 API to report the CRITICAL service")
    finally:
        icinga.stop()
    assert health.version.startswith("r2.13") and health.notifications_enabled is True
    assert health.hosts["up"] >= 1 and health.unhandled_problems >= 1
    assert 0 <= health.newest_check_age < 120 and abs(health.program_start - time.time()) < 300
    assert health.average_latency is not None
    assert health.config_checksum == config_checksum(icinga.etc) and len(health.config_checksum) == 64
