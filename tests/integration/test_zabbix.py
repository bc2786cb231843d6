"""Real Zabbix 6.0: the media type imported by `tkalert zabbix setup`, a trapper value firing triggers, the alert
script run by zabbix_server as the zabbix user, the vendor receiving problem, acknowledgement and recovery.

The stack is private and thrown away: a PostgreSQL cluster (initdb and postgres as the postgres user, a scratch
data dir, a free port, a private socket dir) loaded with Debian's Zabbix schema; zabbix_server as the zabbix user
with its own config (log, pid, sockets, AlertScriptsPath all in the scratch dir); the frontend served by `php -S`
from a hard-linked copy of /usr/share/zabbix whose CConfigFile points at a private zabbix.conf.php, because
Debian's frontend reads /etc/zabbix/zabbix.conf.php and nothing in /etc is touched. Everything is stopped and
removed afterwards.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from cast.ports import free_port

from .conftest import run_as, scratch_dir, wait_until

pytestmark = pytest.mark.integration

# Debian's PostgreSQL server binaries, newest major version (15 on Debian 12)
PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), default=Path("/nonexistent"))
SCHEMA = Path("/usr/share/zabbix-server-pgsql")
FRONTEND = Path("/usr/share/zabbix")
ZABBIX_SERVER = "/usr/sbin/zabbix_server"
NEEDED = [PG_BIN / "initdb", SCHEMA / "schema.sql.gz", FRONTEND / "api_jsonrpc.php", Path(ZABBIX_SERVER),
          Path("/usr/bin/php"), Path("/usr/bin/zabbix_sender")]
ADMIN_PASSWORD = "zabbix"  # the frontend's initial Super admin (data.sql)
HOST = "hw-node-01"
ITEM_KEY = "psu.temperature"
TRIGGERS = {  # name -> (priority, threshold, state the vendor sees)
    "PSU 1 temperature critical": (4, 90, "CRITICAL"),
    "PSU 1 temperature high": (2, 50, "WARNING"),
}
INVENTORY = {"serialno_a": "S-ZBX-90000123", "os": "Debian GNU/Linux 12 (bookworm)"}


def listen_port_for_zabbix() -> int:
    """zabbix_server accepts ListenPort 1024-32767 only, below Linux's ephemeral range that free_port() draws from."""
    while True:
        port = random.randint(20000, 32767)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def group_gone(pgid: int, timeout: float) -> bool:
    """True once no process is left in the group (zabbix_server's children exit after their parent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def as_user(user: str) -> list[str]:
    return ["/usr/bin/setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]


class ZabbixStack:
    """PostgreSQL, zabbix_server and the API frontend, all private to one scratch directory."""

    def __init__(self, installed):
        self.root = scratch_dir("tkalert-zabbix-stack-")
        self.alert_scripts = self.root / "alertscripts"
        self.alert_scripts.mkdir()
        (self.alert_scripts / "tkalert-zabbix").symlink_to(installed.bin / "tkalert-zabbix")
        self.pg_port, self.server_port, self.web_port = free_port(), listen_port_for_zabbix(), free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.password_file = self.root / "admin.pw"
        self.password_file.write_text(ADMIN_PASSWORD + "\n")
        self.password_file.chmod(0o644)  # the zabbix user's inventory lookup reads it too
        self.processes: list[subprocess.Popen] = []
        self.pg_data = self.root / "pg"

    # --- PostgreSQL -------------------------------------------------------------------------------------------------
    def start_database(self):
        run_dir = self.root / "pg-run"
        for path in (self.pg_data, run_dir):
            path.mkdir(mode=0o700)
            shutil.chown(path, "postgres", "postgres")
        self.check([*as_user("postgres"), str(PG_BIN / "initdb"), "-D", str(self.pg_data), "-U", "zabbix",
                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], "initdb")
        # In the foreground, as our child (pg_ctl would leave it to init to reap). A throw-away cluster:
        # durability settings off make loading the schema several times faster.
        self.spawn([*as_user("postgres"), str(PG_BIN / "postgres"), "-D", str(self.pg_data), "-p", str(self.pg_port),
                    "-k", str(run_dir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                    "-c", "synchronous_commit=off", "-c", "full_page_writes=off"], self.root / "postgres.log")
        ready = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)]
        wait_until(lambda: subprocess.run(ready, check=False).returncode == 0, 60, "PostgreSQL to accept connections")
        psql = ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "zabbix"]
        self.check([*psql, "-d", "postgres", "-c", "CREATE DATABASE zabbix"], "create database")
        for part in ("schema", "images", "data"):
            sql = subprocess.run(["zcat", str(SCHEMA / f"{part}.sql.gz")], capture_output=True, check=True).stdout
            self.check([*psql, "-d", "zabbix"], f"load {part}.sql", input=sql)

    # --- zabbix_server ----------------------------------------------------------------------------------------------
    def start_server(self):
        work = self.root / "server"
        work.mkdir()
        shutil.chown(work, "zabbix", "zabbix")
        config = self.root / "zabbix_server.conf"
        config.write_text("\n".join([
            f"LogFile={work / 'zabbix_server.log'}", f"PidFile={work / 'zabbix_server.pid'}", f"SocketDir={work}",
            "DBHost=127.0.0.1", f"DBPort={self.pg_port}", "DBName=zabbix", "DBUser=zabbix",
            "ListenIP=127.0.0.1", f"ListenPort={self.server_port}", f"AlertScriptsPath={self.alert_scripts}",
            # configuration changes made through the API reach the server within a second
            "CacheUpdateFrequency=1", "HousekeepingFrequency=0", "DebugLevel=3", "Timeout=4",
            "StartPollers=1", "StartPollersUnreachable=1", "StartTrappers=1", "StartPingers=0",
            "StartDiscoverers=0", "StartHTTPPollers=0", "StartTimers=1", "StartEscalators=1", "StartAlerters=1",
            "StartPreprocessors=1", "StartLLDProcessors=1", "StartHistoryPollers=1", "StartReportWriters=0",
            "StartDBSyncers=1", "StartProxyPollers=0", "CacheSize=16M", "HistoryCacheSize=8M",
            "HistoryIndexCacheSize=4M", "TrendCacheSize=4M", "ValueCacheSize=8M", "",
        ]))
        self.server_log = work / "zabbix_server.log"
        # As the zabbix user from the start (never root), with the empty environment a service manager gives.
        self.spawn([*as_user("zabbix"), ZABBIX_SERVER, "-f", "-c", str(config)], work / "stdout.log", env={})
        wait_until(lambda: self.server_log.exists() and "started [alerter #1]" in self.server_log.read_text(),
                   60, "zabbix_server to start its alerter")

    # --- frontend (the API) -----------------------------------------------------------------------------------------
    def start_frontend(self):
        web = self.root / "frontend"
        try:  # hard links: the same files, but PHP's __DIR__ is the private tree (a symlink would resolve away)
            subprocess.run(["cp", "-al", str(FRONTEND), str(web)], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            shutil.copytree(FRONTEND, web, symlinks=True)
        config_class = web / "include" / "classes" / "core" / "CConfigFile.php"
        source = config_class.read_text()
        config_class.unlink()  # a hard link: never write through it into /usr/share
        private_conf = web / "conf" / "zabbix.conf.php"
        config_class.write_text(source.replace("'/etc/zabbix/zabbix.conf.php'", f"'{private_conf}'"))
        assert str(private_conf) in config_class.read_text(), "CConfigFile.php no longer names the config path"
        private_conf.write_text(f"""<?php
$DB['TYPE'] = 'POSTGRESQL';
$DB['SERVER'] = '127.0.0.1';
$DB['PORT'] = '{self.pg_port}';
$DB['DATABASE'] = 'zabbix';
$DB['USER'] = 'zabbix';
$DB['PASSWORD'] = '';
$DB['SCHEMA'] = '';
$DB['ENCRYPTION'] = false;
$DB['KEY_FILE'] = '';
$DB['CERT_FILE'] = '';
$DB['CA_FILE'] = '';
$DB['VERIFY_HOST'] = false;
$DB['CIPHER_LIST'] = '';
$DB['VAULT_URL'] = '';
$DB['VAULT_DB_PATH'] = '';
$DB['VAULT_TOKEN'] = '';
$DB['DOUBLE_IEEE754'] = true;
$ZBX_SERVER = '127.0.0.1';
$ZBX_SERVER_PORT = '{self.server_port}';
$ZBX_SERVER_NAME = 'tkalert integration';
$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
""")
        self.spawn(["php", "-d", "memory_limit=256M", "-d", "date.timezone=UTC", "-d", "post_max_size=16M",
                    "-S", f"127.0.0.1:{self.web_port}", "-t", str(web)], self.root / "php.log")
        wait_until(self.api_version, 30, "the Zabbix API to answer")

    def api_version(self):
        import requests

        try:
            return requests.post(f"{self.url}/api_jsonrpc.php", timeout=5, json={
                "jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": 1}).json().get("result")
        except (requests.RequestException, ValueError):
            return None

    def api(self, login: tuple[str, str] = ("Admin", ADMIN_PASSWORD)):
        from pyzabbix import ZabbixAPI

        api = ZabbixAPI(self.url, timeout=30)
        api.login(user=login[0], password=login[1])
        return api

    def operator(self) -> tuple[str, str]:
        """A second Super admin, to act on problems as someone other than the user holding the tkalert media."""
        api = self.api()
        login = ("operator", "Night-Shift-2024")
        if not api.user.get(filter={"username": login[0]}, output=["userid"]):
            role = api.role.get(filter={"name": "Super admin role"}, output=["roleid"])[0]["roleid"]
            group = api.usergroup.get(filter={"name": "Zabbix administrators"}, output=["usrgrpid"])[0]["usrgrpid"]
            api.user.create(username=login[0], passwd=login[1], roleid=role, usrgrps=[{"usrgrpid": group}])
        return login

    # --- helpers ----------------------------------------------------------------------------------------------------
    def settle_config(self):
        """Let the configuration syncer (CacheUpdateFrequency=1) take in what the API just created: zabbix_sender
        proves the item is known, but an action created a moment ago may not be yet, and a trigger that fires
        before its action is in the cache is never notified (seen once in six runs)."""
        time.sleep(3)

    def send_value(self, value) -> bool:
        """zabbix_sender; False while the server's configuration cache does not know the item yet."""
        done = subprocess.run(["zabbix_sender", "-z", "127.0.0.1", "-p", str(self.server_port), "-s", HOST,
                               "-k", ITEM_KEY, "-o", str(value)], capture_output=True, text=True, check=False)
        return "processed: 1;" in done.stdout

    def check(self, argv, what, **kwargs):
        done = subprocess.run(argv, capture_output=True, check=False, timeout=300, **kwargs)
        assert done.returncode == 0, f"{what} failed: {done.stdout[-2000:]!r} {done.stderr[-2000:]!r}"

    def spawn(self, argv, log: Path, env=None):
        with open(log, "wb") as out:
            self.processes.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                                   start_new_session=True))

    def stop(self):
        # php, zabbix_server (which stops its own children), then PostgreSQL once its clients are gone
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    pass
            if not group_gone(process.pid, 30):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def zabbix(installed):
    missing = [str(path) for path in NEEDED if not path.exists()]
    if missing:  # a failure, not a skip: the suite must show the real daemon
        pytest.fail(f"Zabbix 6.0 stack not installed (run scripts/install-integration): {', '.join(missing)}")
    started = time.monotonic()
    stack = ZabbixStack(installed)
    try:
        stack.start_database()
        stack.start_server()
        stack.start_frontend()
        print(f"\nZabbix stack up in {time.monotonic() - started:.1f}s")
        yield stack
    finally:
        stack.stop()
        print(f"\nZabbix module ran {time.monotonic() - started:.1f}s in all")


@pytest.fixture(scope="module")
def monitored_host(zabbix):
    """A host with a filled inventory and the tkalert tag, a trapper item, and two triggers of different severity."""
    api = zabbix.api()
    group = api.hostgroup.get(filter={"name": "Linux servers"}, output=["groupid"])[0]["groupid"]
    hostid = api.host.create(
        host=HOST, name="HW node 01", groups=[{"groupid": group}], tags=[{"tag": "tkalert"}],
        interfaces=[{"type": 1, "main": 1, "useip": 1, "ip": "127.0.0.1", "dns": "", "port": "10050"}],
        inventory_mode=0, inventory=INVENTORY)["hostids"][0]
    api.item.create(hostid=hostid, name="PSU 1 temperature", key_=ITEM_KEY, type=2, value_type=3, units="°C")
    for name, (priority, threshold, _) in TRIGGERS.items():
        api.trigger.create(description=name, priority=priority, expression=f"last(/{HOST}/{ITEM_KEY})>={threshold}",
                           opdata="Temperature: {ITEM.LASTVALUE1}",
                           tags=[{"tag": "component_serial", "value": "PSU-7"},
                                 {"tag": "component_name", "value": "PSU 1"}])
    return hostid


def alert_log(zabbix) -> list:
    """What Zabbix recorded for every alert it tried: shown when the vendor's mail does not come."""
    return [(a["alertid"], a["status"], a["sendto"], a["error"])
            for a in zabbix.api().alert.get(output=["alertid", "status", "sendto", "error"])]


def wait_for_alert(site, zabbix, predicate, what):
    try:
        return site.wait_for(predicate, timeout=90, what=what)
    except pytest.fail.Exception as exc:
        pytest.fail(f"{exc}; Zabbix alerts (id, status, sendto, error): {alert_log(zabbix)}")


def service_document(name: str, notification: str):
    return lambda root: (root.tag == "alert" and root.findtext("service/name") == name
                         and root.findtext("notification-type") == notification)


def setup_command(installed, zabbix, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed.bin / "tkalert"), "zabbix", "setup", "--url", zabbix.url, "--user", "Admin",
                           "--password-file", str(zabbix.password_file), *extra],
                          capture_output=True, text=True, env={}, timeout=120, check=False)


def test_problem_acknowledgement_and_recovery_reach_the_vendor(installed, site_for, zabbix, monitored_host):
    started = time.monotonic()
    site = site_for("zabbix")
    setup = setup_command(installed, zabbix, "--user-media", "Admin", "--sendto", str(site.config),
                          "--action", "tkalert call-home")
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "media type tkalert: created" in setup.stdout
    assert "user Admin: tkalert media added" in setup.stdout and "action tkalert call-home: created" in setup.stdout
    api = zabbix.api()
    mediatype = api.mediatype.get(filter={"name": "tkalert"}, output=["type", "exec_path", "exec_params"])[0]
    assert (mediatype["type"], mediatype["exec_path"]) == ("1", "tkalert-zabbix")  # 1: script
    assert mediatype["exec_params"].split() == ["{ALERT.SENDTO}", "{ALERT.SUBJECT}", "{ALERT.MESSAGE}"]
    again = setup_command(installed, zabbix, "--user-media", "Admin", "--sendto", str(site.config))
    assert "media type tkalert: updated" in again.stdout and "tkalert media unchanged" in again.stdout
    # A second media whose Send to names no config: its alerts must fail in Zabbix with tkalert's reason.
    broken = site.root / "missing.conf"
    assert setup_command(installed, zabbix, "--user-media", "Admin", "--sendto", str(broken)).returncode == 0

    zabbix.settle_config()
    wait_until(lambda: zabbix.send_value(95), 30, "the server to accept the trapper value")
    problems = {name: wait_for_alert(site, zabbix, service_document(name, "PROBLEM"), f"PROBLEM {name}")
                for name in TRIGGERS}
    for name, root in problems.items():
        assert root.findtext("host/name") == HOST
        assert root.findtext("host/ip") == "127.0.0.1"
        assert root.findtext("service/status") == TRIGGERS[name][2]
        assert root.findtext("host/server-serial") == INVENTORY["serialno_a"]
        assert root.findtext("host/operating-system") == INVENTORY["os"]
        assert root.findtext("service/component-serial") == "PSU-7"
        assert "Temperature: 95 °C" in root.findtext("service/plugin-output")
        assert abs(int(root.findtext("date")) - time.time()) < 300

    critical = "PSU 1 temperature critical"
    triggerid = api.trigger.get(filter={"description": critical}, output=["triggerid"])[0]["triggerid"]
    event = api.problem.get(objectids=[triggerid], output=["eventid"])[0]["eventid"]
    # Zabbix never notifies the author of an update, so an operator (not Admin, who holds the media) acknowledges.
    operator_api = zabbix.api(zabbix.operator())
    operator_api.event.acknowledge(eventids=[event], action=2 | 4, message="technician on the way")  # ack + comment
    ack = wait_for_alert(site, zabbix, service_document(critical, "ACKNOWLEDGEMENT"), "the acknowledgement")
    assert ack.findtext("service/status") == "CRITICAL"
    assert "technician on the way" in ack.findtext("service/plugin-output")

    wait_until(lambda: zabbix.send_value(20), 30, "the server to accept the recovery value")
    for name in TRIGGERS:
        recovery = wait_for_alert(site, zabbix, service_document(name, "RECOVERY"), f"RECOVERY {name}")
        assert (recovery.findtext("host/name"), recovery.findtext("service/status")) == (HOST, "OK")
    assert all(site.owned_by_user(path) for path in site.state.rglob("*"))

    def all_sent():  # Zabbix records an alert's outcome a moment after the script exits
        good = [a for a in alert_log(zabbix) if a[2] == str(site.config)]
        return len(good) == 5 and all(a[1] == "1" for a in good)  # 2 problems, 1 ack, 2 recoveries; 1: sent

    wait_until(all_sent, 30, f"Zabbix to mark the 5 alerts sent: {alert_log(zabbix)}")
    reason = f"tkalert-zabbix: config file {broken} does not exist (give an existing file with --config)"
    failing = wait_until(lambda: [a for a in alert_log(zabbix) if a[2] == str(broken) and a[3]], 30,
                         "Zabbix to record the broken media's failure")
    assert {a[3].strip() for a in failing} == {reason}, failing
    print(f"\nZabbix problem/acknowledgement/recovery round trip: {time.monotonic() - started:.1f}s")


def test_alert_script_reads_a_missing_serial_from_the_inventory_through_the_api(installed, site_for, zabbix,
                                                                                  monitored_host):
    site = site_for("zabbix")
    config = site.root / "with-api.conf"
    config.write_text(site.config.read_text() + f"\n[zabbix]\nurl = {zabbix.url}\nuser = Admin\n"
                      f"password_file = {zabbix.password_file}\n")
    shutil.chown(config, "root", "zabbix")
    config.chmod(0o640)
    message = f"notification=PROBLEM\nhost={HOST}\ntrigger=RAID degraded\nseverity=3\nserial=*UNKNOWN*\n" \
              "os={INVENTORY.OS}\noutput=array md0 degraded"
    done = run_as("zabbix", str(zabbix.alert_scripts / "tkalert-zabbix"), str(config), "Problem: RAID degraded",
                  message, env={})
    assert done.returncode == 0, done.stderr.decode()
    root = wait_for_alert(site, zabbix, service_document("RAID degraded", "PROBLEM"), "the RAID alert")
    assert root.findtext("host/server-serial") == INVENTORY["serialno_a"]
    assert root.findtext("host/operating-system") == INVENTORY["os"]
    assert root.findtext("service/status") == "CRITICAL"


def test_health_is_read_from_the_running_zabbix(zabbix, monitored_host, tmp_path):
    """The heartbeat's health, read through this Zabbix's API (tkalert.sender.health.zabbix)."""
    from tkalert.config.settings import Settings
    from tkalert.sender.health import check_health

    password = tmp_path / "zabbix.pw"
    password.write_text(ADMIN_PASSWORD + "\n")
    settings = Settings(sections={"health": {"source": "zabbix", "url": zabbix.url, "user": "Admin",
                                             "password_file": str(password), "timeout": "30"}})
    health = check_health(settings)
    assert health.error is None and health.version.startswith("6.0")
    api = zabbix.api()
    assert sum(health.services.values()) == int(api.problem.get(countOutput=True))
    assert health.hosts["monitored"] == int(api.host.get(countOutput=True, filter={"status": 0})) >= 1
