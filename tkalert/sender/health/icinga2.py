"""Icinga 2's health from its REST API: /v1/status/CIB (counts, latency), /v1/status/IcingaApplication (switches,
start time, version) and the newest `last_check` of hosts and services.

The API user needs the permissions `status/query` and `objects/query/Host`, `objects/query/Service`; its password
comes from `password_file`. The server's certificate is checked against `ca_file` (default: the node's CA,
/var/lib/icinga2/certs/ca.crt); its name is not, because the node's certificate names the node, not "localhost".
"""

from __future__ import annotations

import json
from pathlib import Path

from tkalert.document.health import Health

URL = "https://localhost:5665"
CA_FILE = Path("/var/lib/icinga2/certs/ca.crt")


def read(section, now: float, timeout: float) -> Health:
    url = (section.text("url") or URL).rstrip("/")
    user = section.text("user")
    password = section.secret("password_file")
    if not user or not password:
        raise section.error("source = icinga2 needs user and password_file (an ApiUser with status/query)")
    get = _client(url, user, password, section.path("ca_file", CA_FILE), timeout)
    cib = get("/v1/status/CIB")["results"][0]["status"]
    app = get("/v1/status/IcingaApplication")["results"][0]["status"]["icingaapplication"]["app"]
    checks = [item["attrs"].get("last_check") for kind in ("hosts", "services")
              for item in get(f"/v1/objects/{kind}?attrs=last_check")["results"]]
    return summarize(cib, app, checks, now)


def summarize(cib: dict, app: dict, last_checks: list, now: float) -> Health:
    def number(key: str) -> int:
        return int(cib.get(key) or 0)

    def unhandled(kind: str) -> int:
        handled = number(f"num_{kind}_handled") if f"num_{kind}_handled" in cib else \
            number(f"num_{kind}_acknowledged") + number(f"num_{kind}_in_downtime")
        return max(number(f"num_{kind}_problem") - handled, 0)

    newest = max((float(value) for value in last_checks if value), default=0.0)
    return Health(
        "icinga2", version=app.get("version"),
        hosts={state: number(f"num_hosts_{state}") for state in ("up", "down", "unreachable")},
        services={state: number(f"num_services_{state}") for state in ("ok", "warning", "critical", "unknown")},
        unhandled_problems=unhandled("hosts") + unhandled("services"),
        newest_check_age=now - newest if newest else None,
        notifications_enabled=bool(app.get("enable_notifications")),
        active_checks_enabled=bool(app.get("enable_host_checks")) and bool(app.get("enable_service_checks")),
        program_start=app.get("program_start"),
        average_latency=cib.get("avg_latency"),
    )


def _client(url: str, user: str, password: str, ca_file: Path, timeout: float):
    import base64
    import ssl
    import urllib.request

    context = ssl.create_default_context(cafile=str(ca_file) if Path(ca_file).exists() else None)
    context.check_hostname = False
    token = base64.b64encode(f"{user}:{password}".encode()).decode()

    def get(path: str) -> dict:
        request = urllib.request.Request(url + path, headers={"Accept": "application/json",
                                                              "Authorization": f"Basic {token}"})
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            return json.loads(answer.read())

    return get
