"""The suite's own footing: the installed tkalert runs as each daemon's user, with the empty environment a
daemon gives it, and what it sends opens as the vendor would. If this fails, the daemon suites cannot pass."""

from __future__ import annotations

import pytest

from .conftest import run_as


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
