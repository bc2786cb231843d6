"""Icinga 2's health from its REST API: /v1/status/CIB (counts, latency), /v1/status/IcingaApplication (switches,
start time, version) and the newest `last_check` of hosts and services.

The config checksum: Icinga 2 keeps no digest of the configuration it loaded, so it is the SHA-256 over every file
under `config_dir` (/etc/icinga2; symbolic links such as features-enabled/ followed), each as its relative path and
its own SHA-256 in path order; an unreadable file counts as its path and "unreadable". A change not yet reloaded
shows here before the process start time moves.

The API user needs the permissions `status/query` and `objects/query/Host`, `objects/query/Service`; its password
comes from `password_file`. The server's certificate is checked against `ca_file` (default: the node's CA,
/var/lib/icinga2/certs/ca.crt); its name is not, because the node's certificate names the node, not "localhost".
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tkalert.document.health import Health

URL = "https://localhost:5665"
CA_FILE = Path("/var/lib/icinga2/certs/ca.crt")
CONFIG_DIR = Path("/etc/icinga2")


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
    health = summarize(cib, app, checks, now)
    return Health(**{**health.__dict__, "config_checksum": config_checksum(section.path("config_dir", CONFIG_DIR))})


def config_checksum(directory) -> str | None:
    """The SHA-256 over the files under `directory` (see the module's text); None when it cannot be listed."""
    try:
        os.listdir(directory)
    except OSError:
        return None
    files, seen = [], set()
    for root, dirs, names in os.walk(directory, followlinks=True):
        here = os.stat(root)
        if (here.st_dev, here.st_ino) in seen:  # a link back up the tree: walked once
            dirs.clear()
            continue
        seen.add((here.st_dev, here.st_ino))
        files += [os.path.join(root, name) for name in names]
    digest = hashlib.sha256()
    for path in sorted(files):
        try:
            with open(path, "rb") as fh:
                line = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError:
            line = "unreadable"
        digest.update(f"{os.path.relpath(path, directory)}\0{line}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


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
