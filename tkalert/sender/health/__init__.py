"""Health: the monitoring system's state for the heartbeat, read from the daemon the config names.

    [health] source = icinga2 | nagios | zabbix | off (default off)

    icinga2.py   the REST API: /v1/status/CIB, /v1/status/IcingaApplication, hosts' and services' last_check
    nagios.py    status.dat, the file Nagios 4 rewrites every status_update_interval
    zabbix.py    the API through pyzabbix: problem.get (countOutput), host.get

`read_health` never raises: whatever goes wrong (daemon down, bad credentials, a file that cannot be read, a
timeout, even a bad [health] section) is the `error` of the `Health` it returns, so the heartbeat goes out with the
reason inside and is never held up by it; `tkalert test` checks the section strictly (`check_health`).
`timeout` bounds the whole read. Imported only by a heartbeat whose config turns health on
(tkalert.sender.pipeline).
"""

from __future__ import annotations

import time

from tkalert.config.fields import Section
from tkalert.document.health import Health

SOURCES = ("icinga2", "nagios", "zabbix", "off")
HEALTH_KEYS = ("source", "url", "user", "password_file", "token_file", "ca_file", "status_file", "config_file",
               "config_dir", "timeout")
TIMEOUT = 5.0


def health_section(settings) -> Section:
    return Section(settings.section("health"), HEALTH_KEYS, "health", getattr(settings, "path", None))


def read_health(settings, now: float | None = None) -> Health | None:
    """The health of the configured source (with the error that kept it from being read), or None when off."""
    from tkalert.errors import TkalertError

    source = (settings.section("health").get("source") or "off").strip().lower() or "off"
    try:
        return check_health(settings, now)
    except TkalertError as exc:
        return Health(source, error=str(exc))


def check_health(settings, now: float | None = None) -> Health | None:
    """As read_health, but a bad [health] section raises ConfigError (for `tkalert test`)."""
    from importlib import import_module

    from tkalert.deadline import StillRunning, call_within
    from tkalert.errors import TkalertError, one_line

    section = health_section(settings)
    source = section.choice("source", SOURCES, "off")
    if source == "off":
        return None
    timeout = section.duration("timeout", TIMEOUT)
    now = time.time() if now is None else now
    reader = import_module(f"tkalert.sender.health.{source}")
    try:
        return call_within(timeout, lambda: reader.read(section, now, timeout), f"reading {source} health")
    except StillRunning:
        return Health(source, error=f"no answer within timeout = {timeout:g}s")
    except TkalertError:
        raise
    except Exception as exc:  # the daemon's side: part of what the heartbeat reports
        return Health(source, error=one_line(str(exc) or type(exc).__name__, 300))
