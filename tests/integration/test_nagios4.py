"""A real Nagios 4 runs contrib/nagios/tkalert.cfg: its notifications reach the vendor as sealed, XSD-valid alerts.

Each test starts a private Nagios 4 whose every file (logs, status, the external command pipe, the query socket,
check results) lives under the site's root. It includes the shipped config the way contrib/nagios/README.md says
(`cfg_file=` plus `$USER9$` in resource.cfg), drops from root to the nagios user, and runs tkalert as nagios with
only the environment a packaged daemon has (TKALERT_CONFIG points at the site's config, as a systemd drop-in
would). Check results go in through the command pipe, as a passive check or NSCA would deliver them; what Nagios
notifies arrives at the site's SMTP server, is decrypted with the vendor key and validated against the XSD.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import ROOT, scratch_dir, wait_until

NAGIOS = "/usr/sbin/nagios4"
PLUGINS = "/usr/lib/nagios/plugins"  # monitoring-plugins-basic: check_dummy
CONTRIB = ROOT / "contrib" / "nagios" / "tkalert.cfg"
# Debian's nagios.cfg value: Nagios strips these from plugin output and perfdata in notification commands.
DEBIAN_ILLEGAL_OUTPUT_CHARS = "`~$&|'\"<>"
# The debug level at which Nagios 4.4 logs create_job()/destroy_job(N=NOTIFY): the only trace it leaves that a
# notification command has *ended* (nagios.log records the start, and an exit code only when it is not 0).
JOB_DEBUG_LEVEL = 16384

# What a customer writes: their own generic templates (with their own admin contact), and hosts that put the
# shipped tkalert templates first in `use`, as the README says.
OBJECTS = """
define command {
    command_name    check-test-up
    command_line    $USER1$/check_dummy 0 up
}
define command {
    command_name    notify-test-admin
    command_line    /bin/true
}
define contact {
    contact_name                    admin
    service_notification_period     tkalert-24x7
    host_notification_period        tkalert-24x7
    service_notification_options    w,u,c,r
    host_notification_options       d,u,r
    service_notification_commands   notify-test-admin
    host_notification_commands      notify-test-admin
}
define host {
    name                        test-host
    check_command               check-test-up
    max_check_attempts          1
    check_period                tkalert-24x7
    notification_period         tkalert-24x7
    notification_interval       0
    first_notification_delay    0
    active_checks_enabled       0
    passive_checks_enabled      1
    contacts                    admin
    register                    0
}
define service {
    name                        test-service
    check_command               check-test-up
    max_check_attempts          1
    check_interval              5
    retry_interval              1
    check_period                tkalert-24x7
    notification_period         tkalert-24x7
    notification_interval       0
    first_notification_delay    0
    active_checks_enabled       0
    passive_checks_enabled      1
    contacts                    admin
    register                    0
}

define host {
    use             tkalert-host,test-host
    host_name       srv-tk
    alias           Storage server 1
    address         2001:db8::10
    _TK_SERIAL      90000123
    _TK_OS          Debian GNU/Linux 12 (bookworm)
}
define service {
    use                     tkalert-service,test-service
    host_name               srv-tk
    service_description     IPMI Sensors
    _TK_COMPONENT_SERIAL    PSU-0815
    _TK_COMPONENT_NAME      Power Supply 1
}

define host {
    use                     tkalert-tkmon-host,test-host
    host_name               srv-tkmon
    alias                   srv-tkmon.kunde.example
    address                 192.0.2.20
    _TKMON_ENABLED_FLAG     1
    _TKMON_AUTHKEY          TKMON-AUTH-4711
    _TKMON_CONTACTPERSON    Erika Mustermann
    _TKMON_CONTACTEMAIL     erika@kunde.de
    _SERIAL                 90000456
    _OS                     Ubuntu 22.04.3 LTS
}
define service {
    use                     tkalert-tkmon-service,test-service
    host_name               srv-tkmon
    service_description     RAID
}
define service {
    use                     tkalert-heartbeat,test-service
    host_name               srv-tkmon
    service_description     TKmon heartbeat
    check_command           check-thomaskrenn-heartbeat
}
define host {
    use                     tkalert-tkmon-host,test-host
    host_name               srv-tkmon-off
    address                 192.0.2.21
    _TKMON_ENABLED_FLAG     0
    _TKMON_AUTHKEY          TKMON-AUTH-4712
    _SERIAL                 90000789
}
define service {
    use                     tkalert-tkmon-service,test-service
    host_name               srv-tkmon-off
    service_description     RAID
}

define host {
    use             test-host
    host_name       monitor
    address         127.0.0.1
}
define service {
    use             tkalert-heartbeat,test-service
    host_name       monitor
}
"""


def main_config(root: Path) -> str:
    """A nagios.cfg with every path private to this instance; notifications fire on the first HARD state."""
    return f"""
cfg_file={root}/tkalert.cfg
cfg_file={root}/objects.cfg
resource_file={root}/resource.cfg
log_file={root}/nagios.log
debug_file={root}/debug.log
debug_level={JOB_DEBUG_LEVEL}
debug_verbosity=0
status_file={root}/status.dat
status_update_interval=1
object_cache_file={root}/objects.cache
precached_object_file={root}/objects.precache
temp_file={root}/nagios.tmp
temp_path={root}
lock_file={root}/nagios.pid
check_result_path={root}/checkresults
state_retention_file={root}/retention.dat
retain_state_information=0
query_socket={root}/nagios.qh
command_file={root}/rw/nagios.cmd
check_external_commands=1
nagios_user=nagios
nagios_group=nagios
check_workers=2
use_syslog=0
log_notifications=1
log_passive_checks=1
log_initial_states=0
enable_notifications=1
enable_flap_detection=0
execute_service_checks=1
accept_passive_service_checks=1
accept_passive_host_checks=1
check_for_updates=0
interval_length=60
notification_timeout=30
illegal_object_name_chars=`~!$%^&*|'"<>?,()=
illegal_macro_output_chars={DEBIAN_ILLEGAL_OUTPUT_CHARS}
"""


class Nagios:
    """One private Nagios 4: config under `root`, driven through its external command pipe."""

    def __init__(self, root: Path, bin_dir: Path):
        self.root, self.bin_dir = root, bin_dir
        self.cfg = root / "nagios.cfg"
        self.pipe = root / "rw" / "nagios.cmd"
        self.log = root / "nagios.log"
        (root / "rw").mkdir(parents=True)
        (root / "checkresults").mkdir()
        # The README's way in: a copy of the shipped file next to nagios.cfg, a cfg_file= line, $USER9$.
        shutil.copy(CONTRIB, root / "tkalert.cfg")
        (root / "objects.cfg").write_text(OBJECTS, encoding="utf-8")
        (root / "resource.cfg").write_text(f"$USER1$={PLUGINS}\n$USER9$={bin_dir}\n", encoding="utf-8")
        self.cfg.write_text(main_config(root), encoding="utf-8")
        for path in [root, *root.rglob("*")]:
            shutil.chown(path, "nagios", "nagios")
        self.pid: int | None = None

    def verify(self) -> subprocess.CompletedProcess:
        return subprocess.run([NAGIOS, "-v", str(self.cfg)], capture_output=True, text=True, timeout=60, check=False)

    def start(self, env: dict) -> "Nagios":
        done = subprocess.run([NAGIOS, "-d", str(self.cfg)], env=env, capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 0, f"nagios4 -d failed:\n{done.stdout}{done.stderr}"
        self.pid = int(wait_until(lambda: read_text(self.root / "nagios.pid").strip(), 30, "nagios4's pid file"))
        wait_until(self._pipe_open, 30, "nagios4 to open its external command pipe")
        return self

    def command(self, line: str) -> None:
        """Write one external command, as `echo "[time] CMD;args" > nagios.cmd` would."""
        fd = os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, f"[{int(time.time())}] {line}\n".encode())
        finally:
            os.close(fd)

    def service_result(self, host: str, service: str, code: int, output: str) -> None:
        self.command(f"PROCESS_SERVICE_CHECK_RESULT;{host};{service};{code};{output}")

    def host_result(self, host: str, code: int, output: str) -> None:
        self.command(f"PROCESS_HOST_CHECK_RESULT;{host};{code};{output}")

    def notifications_ended(self) -> bool:
        """Every notification command Nagios has started so far has exited."""
        started = len(re.findall(r"^\[\d+\] (?:SERVICE|HOST) NOTIFICATION: ", read_text(self.log), re.M))
        ended = len(re.findall(r"destroy_job\(\d+=NOTIFY\)", read_text(self.root / "debug.log")))
        return started > 0 and ended >= started

    def service_status(self, host: str, service: str) -> dict:
        """The servicestatus block of status.dat for one service ({} until Nagios has written it)."""
        for block in re.findall(r"servicestatus \{\n(.*?)\n\s*\}", read_text(self.root / "status.dat"), re.S):
            fields = dict(line.strip().split("=", 1) for line in block.splitlines() if "=" in line)
            if (fields.get("host_name"), fields.get("service_description")) == (host, service):
                return fields
        return {}

    def stop(self) -> None:
        """SIGTERM the daemon; make sure neither it, its workers nor a tkalert it started is left running."""
        if self.pid and _alive(self.pid):
            os.kill(self.pid, signal.SIGTERM)

        def leftovers() -> list[int]:  # found by our private paths, so nothing of anyone else's
            return [pid for pid in _pids_mentioning(str(self.root), str(self.bin_dir)) if _alive(pid)]

        try:
            wait_until(lambda: not leftovers(), 40, "nagios4, its workers and the commands it ran to exit")
        finally:
            for pid in leftovers():
                os.kill(pid, signal.SIGKILL)

    def _pipe_open(self) -> bool:
        try:
            os.close(os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # ENOENT before it exists, ENXIO while nobody reads it yet
            return False
        return True


def read_text(path: Path) -> str:
    """A file Nagios writes, or "" until it has written it."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _alive(pid: int) -> bool:
    """True while pid runs; a zombie (exited, not yet reaped by init) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _pids_mentioning(*texts: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if any(text.encode() in cmdline for text in texts):
                found.append(int(entry.name))
    return found


def needs_nagios():
    if not Path(NAGIOS).exists():
        pytest.skip("nagios4 is not installed (scripts/install-integration)")


@pytest.fixture
def site(site_for):
    return site_for("nagios")


@pytest.fixture
def nagios(installed, site):
    """A running private Nagios 4 with the shipped config, sending through the nagios user's site."""
    needs_nagios()
    daemon = Nagios(site.root / "nagios", installed.bin)
    env = {"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C.UTF-8", "TKALERT_CONFIG": str(site.config)}
    try:
        yield daemon.start(env)
    finally:
        daemon.stop()
        print(f"--- {daemon.log} (shown when the test fails)\n{read_text(daemon.log)[-6000:]}")


def alert_for(host: str, service: str | None, state: str, notification: str):
    def matches(root) -> bool:
        status = root.findtext("service/status") if service else root.findtext("host/status")
        return (root.tag == "alert" and root.findtext("host/name") == host
                and root.findtext("service/name") == service and status == state
                and root.findtext("notification-type") == notification)
    return matches


def test_nagios_accepts_the_shipped_config_included_as_the_readme_says():
    needs_nagios()
    scratch = scratch_dir("tkalert-nagios-v-")
    try:
        checked = Nagios(scratch / "nagios", Path("/usr/local/bin")).verify()
    finally:
        shutil.rmtree(scratch)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Total Errors:   0" in checked.stdout
    assert "Total Warnings: 0" in checked.stdout, checked.stdout


def test_service_problem_and_recovery_reach_the_vendor_intact_and_harmless(nagios, site):
    pwned = site.root / "pwned"
    # A plugin's worst: every character Nagios strips, ']]>' (crashed 1.5), ';' (the pipe's field separator), and
    # a trailing backslash, which inside TKmon's double quotes would escape the closing quote and hand the perfdata
    # that follows to the shell. The perfdata carries the command that would then run.
    output = "CRITICAL [PS 1 Status = 'Power Supply Failure detected'] $HOME `id` \"x\" a;b ]]> <y> & C:\\"
    perf = f"'PS 1'=0;1;1 fan=1725rpm;touch {pwned};"
    nagios.service_result("srv-tk", "IPMI Sensors", 2, f"{output}|{perf}")

    alert = site.wait_for(alert_for("srv-tk", "IPMI Sensors", "CRITICAL", "PROBLEM"), what="the CRITICAL alert")
    # Nagios strips `~$&|'"<> from both and turns ';' into ':' in the output; nothing else changes on the way.
    assert alert.findtext("service/plugin-output") == (
        "CRITICAL [PS 1 Status = Power Supply Failure detected] HOME id x a:b ]] y  C:\\")
    assert alert.findtext("service/perfdata") == f"PS 1=0;1;1 fan=1725rpm;touch {pwned};"
    assert alert.findtext("host/ip") == "2001:db8::10"
    assert alert.findtext("host/status") == "UP"
    assert alert.findtext("host/server-serial") == "90000123"
    assert alert.findtext("host/operating-system") == "Debian GNU/Linux 12 (bookworm)"
    assert alert.findtext("service/component-serial") == "PSU-0815"
    assert alert.findtext("service/component-name") == "Power Supply 1"
    assert alert.findtext("authkey") == "0123456789a"  # from tkalert.conf: the template leaves _AUTH_KEY empty
    assert alert.findtext("contact-name") == "Testperson"
    assert abs(int(alert.findtext("date")) - time.time()) < 120  # $LASTSERVICECHECK$, the passive result's time

    wait_until(nagios.notifications_ended, 60, "the notification commands to exit")
    assert not pwned.exists(), "the shell ran text from the plugin's perfdata"
    log = nagios.log.read_text()
    assert "SERVICE NOTIFICATION: admin;srv-tk;IPMI Sensors;CRITICAL" in log, "contacts +tkalert dropped the admin"
    spooled = [path for path in site.state.rglob("*") if path.is_file()]
    assert spooled and all(site.owned_by_user(path) for path in spooled), "tkalert did not run as nagios"

    nagios.service_result("srv-tk", "IPMI Sensors", 0, "OK - all 14 sensors fine|'PS 1'=1;1;1")
    recovery = site.wait_for(alert_for("srv-tk", "IPMI Sensors", "OK", "RECOVERY"), what="the RECOVERY alert")
    assert recovery.findtext("service/plugin-output") == "OK - all 14 sensors fine"
    assert recovery.findtext("host/server-serial") == "90000123"


def test_host_down_and_up_reach_the_vendor(nagios, site):
    nagios.host_result("srv-tk", 1, "CRITICAL - 2001:db8::10: rta nan, lost 100%")
    down = site.wait_for(alert_for("srv-tk", None, "DOWN", "PROBLEM"), what="the host DOWN alert")
    assert down.find("service") is None
    assert (down.findtext("host/server-serial"), down.findtext("host/ip")) == ("90000123", "2001:db8::10")

    nagios.host_result("srv-tk", 0, "OK - 2001:db8::10: rta 0.1ms, lost 0%")
    site.wait_for(alert_for("srv-tk", None, "UP", "RECOVERY"), what="the host RECOVERY alert")


def test_tkmon_hosts_keep_their_variables_and_enabled_flag(nagios, site):
    nagios.service_result("srv-tkmon-off", "RAID", 2, "RAID CRITICAL - disk 3 failed")
    nagios.service_result("srv-tkmon", "RAID", 2, "RAID CRITICAL - disk 2 failed|degraded=1")

    alert = site.wait_for(alert_for("srv-tkmon.kunde.example", "RAID", "CRITICAL", "PROBLEM"),
                          what="the TKmon host's alert (named by its alias, as TKmon did)")
    assert alert.findtext("authkey") == "TKMON-AUTH-4711"
    assert (alert.findtext("contact-name"), alert.findtext("contact-mail")) == ("Erika Mustermann", "erika@kunde.de")
    assert (alert.findtext("host/server-serial"), alert.findtext("host/operating-system")) == (
        "90000456", "Ubuntu 22.04.3 LTS")
    assert (alert.findtext("service/plugin-output"), alert.findtext("service/perfdata")) == (
        "RAID CRITICAL - disk 2 failed", "degraded=1")
    assert alert.find("service/component-serial") is None  # TKmon's NOT_SET: left out, not sent as a value

    wait_until(nagios.notifications_ended, 60, "the notification commands to exit")
    log = nagios.log.read_text()
    assert "SERVICE NOTIFICATION: tkalert-tkmon;srv-tkmon-off;RAID;CRITICAL" in log
    sent_for = [root.findtext("host/name") for root in site.documents()]
    assert "srv-tkmon-off" not in sent_for, "_TKMON_ENABLED_FLAG 0 still sent an alert"

    nagios.command(f"SCHEDULE_FORCED_SVC_CHECK;srv-tkmon;TKmon heartbeat;{int(time.time())}")
    beat = site.wait_for(lambda root: root.tag == "heartbeat" and root.findtext("authkey") == "TKMON-AUTH-4711",
                         what="the heartbeat from TKmon's heartbeat check")
    assert beat.findtext("contact-mail") == "erika@kunde.de"


def test_heartbeat_service_sends_and_turns_ok(nagios, site):
    nagios.command(f"SCHEDULE_FORCED_SVC_CHECK;monitor;tkalert heartbeat;{int(time.time())}")
    site.wait_for(lambda root: root.tag == "heartbeat" and root.findtext("authkey") == "0123456789a",
                  what="the heartbeat, with the auth key from tkalert.conf")

    def checked_ok():
        status = nagios.service_status("monitor", "tkalert heartbeat")
        return status.get("has_been_checked") == "1" and status.get("current_state") == "0" and status
    status = wait_until(checked_ok, 60, "status.dat to show the heartbeat service OK")
    assert "sent heartbeat" in status["plugin_output"], status["plugin_output"]
    assert "runtime=" in status["performance_data"]


def test_health_is_read_from_the_running_nagios(nagios, site):
    """The heartbeat's health, read from the status.dat this Nagios writes (tkalert.sender.health.nagios)."""
    import hashlib

    from tkalert.config.settings import Settings
    from tkalert.sender.health import check_health

    nagios.service_result("srv-tk", "IPMI Sensors", 2, "CRITICAL - PSU 1 failed")
    wait_until(lambda: nagios.service_status("srv-tk", "IPMI Sensors").get("current_state") == "2", 30,
               "status.dat to show the CRITICAL result")
    settings = Settings(sections={"health": {"source": "nagios", "status_file": str(nagios.root / "status.dat"),
                                             "config_file": str(nagios.root / "objects.cache")}})
    health = check_health(settings)
    assert health.error is None and health.version.startswith("4.")
    assert health.services["critical"] == 1 and health.unhandled_problems >= 1
    assert sum(health.hosts.values()) == 4 and sum(health.services.values()) == 5
    assert health.notifications_enabled is True and abs(health.program_start - time.time()) < 300
    assert 0 <= health.newest_check_age < 120
    assert health.config_checksum == hashlib.sha256((nagios.root / "objects.cache").read_bytes()).hexdigest()
