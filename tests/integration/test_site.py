"""The suite's own footing: the installed tkalert runs as each daemon's user, with the empty environment a
daemon gives it, and what it sends opens as the vendor would. If this fails, the daemon suites cannot pass."""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest

from .conftest import run_as, wait_until


@pytest.mark.parametrize("user", ["nagios", "zabbix"])
def test_daemon_user_sends_an_alert_with_an_empty_environment(installed, site_for, user):
    site = site_for(user)
    done = run_as(user, str(installed.bin / "tkalert"), f"--config={site.config}", "--type=service",
                  "--host=db01", "--service=Disk /var", "--service-status=2", "--output=DISK CRITICAL ]]> $x",
                  env={})
    assert done.returncode == 0, done.stderr.decode()
    alert = site.wait_for(lambda root: root.tag == "alert", what="the alert from the daemon's user")
    assert (alert.findtext("host/name"), alert.findtext("service/status")) == ("db01", "CRITICAL")
    assert alert.findtext("service/plugin-output") == "DISK CRITICAL ]]> $x"
    assert all(site.owned_by_user(path) for path in site.state.rglob("*"))


def test_config_is_not_readable_by_other_users(installed, site_for):
    site = site_for("nagios")
    done = run_as("zabbix", str(installed.bin / "tkalert"), f"--config={site.config}", "--type=heartbeat", env={})
    assert done.returncode != 0
    assert b"Permission denied" in done.stderr and b"Traceback" not in done.stderr


def test_two_users_root_commands_between_hooks_lose_nothing_and_leave_nagios_files(installed, site_for):
    """The daemon's user fires hooks; root runs flush, test and log on the same spool before and in between (a state
    directory the admin gave to nagios, the spool not made yet; some alerts queued while the server is down, so root's
    flush delivers, records and removes them). Every alert arrives exactly once, no command breaks, and every file
    root's commands created belongs to nagios, so the next hook can still write."""
    site = site_for("nagios")
    assert not site.spool.exists()
    tkalert = str(installed.bin / "tkalert")
    config = f"--config={site.config}"
    services: list[str] = []
    runs = []

    def hooks(count: int) -> None:
        for _ in range(count):
            service = f"Disk {len(services)}"
            services.append(service)
            done = run_as("nagios", tkalert, config, "--type=service", "--host=db01", f"--service={service}",
                          "--service-status=2", f"--output=DISK CRITICAL {service}", env={})
            runs.append((f"hook {service}", done))
            assert done.returncode == 0, done.stderr.decode()

    def as_root(*command: str) -> None:
        done = subprocess.run([tkalert, *command, config], capture_output=True, timeout=120, check=False)
        runs.append((f"root {' '.join(command)}", done))

    as_root("flush")  # root first: it makes the spool, which must still be nagios's
    assert site.spool.exists()
    hooks(3)
    site.sink.stop()  # these three stay queued for root's flush to deliver, record and remove
    hooks(3)
    site.sink.start()
    as_root("test")
    as_root("log")
    as_root("flush", "--now")
    hooks(3)
    as_root("flush")
    as_root("log")

    for name, done in runs:
        output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        for bad in ("internal error", "Traceback", "free the disk"):
            assert bad.lower() not in output.lower(), f"{name} printed {bad!r}:\n{output}"
        if name != "root test":  # `test` may report FAIL steps (root is not the daemon's user); the others work
            assert done.returncode == 0, f"{name} exited {done.returncode}:\n{output}"
    wait_until(lambda: Counter(_services(site.documents())) >= Counter(services), 60, f"all {len(services)} alerts")
    assert Counter(_services(site.documents())) == Counter(services)  # every alert once, none twice, nothing else
    owned = [site.state, *site.state.rglob("*")]
    assert [p for p in owned if not site.owned_by_user(p)] == [], "root left files nagios does not own"
    assert len(owned) > 1


def _services(documents) -> list[str]:
    """The service of every alert received, those folded into digests included; a test report counts as none."""
    found = []
    for root in documents:
        alerts = root.find("events") if root.tag == "digest" else [root]
        found += [alert.findtext("service/name") for alert in alerts if alert.tag == "alert"]
    return found
