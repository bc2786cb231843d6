"""Zabbix 6's health from its API (pyzabbix): problems by severity with `problem.get` (countOutput), unhandled
ones (not acknowledged, not suppressed), monitored and unmonitored hosts with `host.get` (countOutput).

Logs in as tkalert.integrations.zabbix.api does: `url` with `token_file`, or `user` and `password_file`.
Zabbix has no "host down" state of its own (a host is available per interface), so hosts are counted as
monitored / not monitored, and services as problems per severity.
"""

from __future__ import annotations

from tkalert.document.health import Health
from tkalert.integrations.zabbix.api import ApiAccess, Session

SEVERITIES = ("not-classified", "information", "warning", "average", "high", "disaster")


def read(section, now: float, timeout: float) -> Health:
    url = section.text("url")
    token, user, password = section.secret("token_file"), section.text("user"), section.secret("password_file")
    if not url or not (token or (user and password)):
        raise section.error("source = zabbix needs url and token_file, or url, user and password_file")
    ca_file = section.path("ca_file")
    access = ApiAccess(url, user, password, token, timeout, str(ca_file) if ca_file else None)
    with Session(access) as session:
        def ask(what: str, request):
            return session.call(request, what)

        severities = ask("read problems", lambda api: api.problem.get(output=["severity"]))
        unhandled = ask("count problems", lambda api: api.problem.get(countOutput=True, acknowledged=False,
                                                                      suppressed=False))
        monitored = ask("count hosts", lambda api: api.host.get(countOutput=True, filter={"status": 0}))
        unmonitored = ask("count hosts", lambda api: api.host.get(countOutput=True, filter={"status": 1}))
        version = ask("read the version", lambda api: api.api_version())
    return summarize(severities, unhandled, monitored, unmonitored, version)


def summarize(problems: list[dict], unhandled, monitored, unmonitored, version: str | None) -> Health:
    counts = dict.fromkeys(SEVERITIES, 0)
    for problem in problems:
        index = int(problem.get("severity", 0))
        if 0 <= index < len(SEVERITIES):
            counts[SEVERITIES[index]] += 1
    return Health("zabbix", version=version, hosts={"monitored": int(monitored), "unmonitored": int(unmonitored)},
                  services=counts, unhandled_problems=int(unhandled))
