"""Nagios 4's health from status.dat: programstatus, hoststatus and servicestatus blocks of `key=value` lines.

Nagios rewrites the file every `status_update_interval` (10 s by default), so it is as fresh as the daemon's own
view. Unhandled problems are hosts not UP and services not OK that are neither acknowledged nor in a downtime. The
config checksum is the SHA-256 of the object cache Nagios wrote from the config it runs (`config_file`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tkalert.document.health import HOST_STATES, SERVICE_STATES, Health

STATUS_FILE = Path("/var/lib/nagios4/status.dat")
OBJECTS_CACHE = Path("/var/lib/nagios4/objects.cache")  # object_cache_file in Debian's nagios.cfg


def read(section, now: float, timeout: float) -> Health:
    status = section.path("status_file", STATUS_FILE)
    try:
        text = Path(status).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return Health("nagios", error=f"cannot read {status}: {exc.strerror or exc}")
    health = summarize(parse_status(text), now)
    cache = section.path("config_file", OBJECTS_CACHE)
    try:
        checksum = hashlib.sha256(Path(cache).read_bytes()).hexdigest()
    except OSError:
        checksum = None
    return Health(**{**health.__dict__, "config_checksum": checksum})


def parse_status(text: str) -> list[tuple[str, dict[str, str]]]:
    """(block type, its values) for every block of a status.dat."""
    blocks, current, kind = [], None, None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("{") and current is None:
            kind, current = line[:-1].strip(), {}
        elif line == "}" and current is not None:
            blocks.append((kind, current))
            current = None
        elif current is not None and "=" in line:
            key, _, value = line.partition("=")
            current[key] = value
    return blocks


def summarize(blocks: list[tuple[str, dict[str, str]]], now: float) -> Health:
    program = next((values for kind, values in blocks if kind == "programstatus"), {})
    info = next((values for kind, values in blocks if kind == "info"), {})
    hosts = [values for kind, values in blocks if kind == "hoststatus"]
    services = [values for kind, values in blocks if kind == "servicestatus"]
    checked = [values for values in hosts + services if values.get("has_been_checked", "1") == "1"]
    last = max((_number(v.get("last_check")) or 0 for v in checked), default=0)
    latencies = [_number(v.get("check_latency")) for v in checked]
    latencies = [value for value in latencies if value is not None]
    return Health(
        "nagios", version=info.get("version"),
        hosts=_count(hosts, HOST_STATES), services=_count(services, SERVICE_STATES),
        unhandled_problems=sum(_unhandled(values) for values in hosts + services),
        newest_check_age=now - last if last else None,
        notifications_enabled=_flag(program.get("enable_notifications")),
        active_checks_enabled=_both(program.get("active_service_checks_enabled"),
                                    program.get("active_host_checks_enabled")),
        program_start=_number(program.get("program_start")),
        average_latency=sum(latencies) / len(latencies) if latencies else None,
    )


def _count(blocks, states) -> dict[str, int]:
    counts = dict.fromkeys(states, 0)
    for values in blocks:
        number = int(_number(values.get("current_state")) or 0)
        if 0 <= number < len(states):
            counts[states[number]] += 1
    return counts


def _unhandled(values: dict[str, str]) -> bool:
    return (values.get("current_state", "0") != "0" and values.get("problem_has_been_acknowledged", "0") == "0"
            and values.get("scheduled_downtime_depth", "0") == "0")


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip() == "1"


def _both(first: str | None, second: str | None) -> bool | None:
    flags = [flag for flag in (_flag(first), _flag(second)) if flag is not None]
    return all(flags) if flags else None
