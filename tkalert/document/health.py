"""The heartbeat's optional additions: the monitoring system's health and the categories switched off.

A heartbeat without them is still a TKalert 1.5 document: both come after the stamp, both are optional in
tkalert.xsd. `Health` is what a reader (tkalert.sender.health) found, or the error that kept it from reading;
`health_lines` writes it, `switched_off_lines` the categories the config turned off ("report: off").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tkalert.document.writer import _escape, iso_utc

HOST_STATES = ("up", "down", "unreachable")
SERVICE_STATES = ("ok", "warning", "critical", "unknown")


@dataclass(frozen=True)
class Health:
    source: str  # icinga2 | nagios | zabbix
    error: str | None = None  # why it could not be read (the heartbeat goes anyway)
    hosts: dict[str, int] = field(default_factory=dict)  # state -> count
    services: dict[str, int] = field(default_factory=dict)  # state (Zabbix: problem severity) -> count
    unhandled_problems: int | None = None
    newest_check_age: float | None = None  # seconds since the newest check result
    notifications_enabled: bool | None = None
    active_checks_enabled: bool | None = None
    program_start: float | None = None
    average_latency: float | None = None
    config_checksum: str | None = None
    version: str | None = None


def health_lines(health: Health) -> str:
    attrs = f' source="{_escape(health.source)}"' + (f' version="{_escape(health.version)}"' if health.version else "")
    parts = [f"  <health{attrs}>\n"]
    if health.hosts:
        parts.append(f"    <hosts{_counts(health.hosts)}/>\n")
    if health.services:
        parts.append(f"    <services{_counts(health.services)}/>\n")
    for element, value in (("unhandled-problems", health.unhandled_problems),
                           ("newest-check-age", _seconds(health.newest_check_age)),
                           ("notifications-enabled", _flag(health.notifications_enabled)),
                           ("active-checks-enabled", _flag(health.active_checks_enabled)),
                           ("program-start", None if health.program_start is None else iso_utc(health.program_start)),
                           ("average-latency", _seconds(health.average_latency)),
                           ("config-checksum", health.config_checksum),
                           ("error", health.error)):
        if value is not None:
            parts.append(f"    <{element}>{_escape(str(value))}</{element}>\n")
    parts.append("  </health>\n")
    return "".join(parts)


def switched_off_lines(categories: list[str]) -> str:
    """`<switched-off><category>report</category>...</switched-off>`: what the vendor will not hear about."""
    if not categories:
        return ""
    inner = "".join(f"    <category>{_escape(name)}</category>\n" for name in categories)
    return f"  <switched-off>\n{inner}  </switched-off>\n"


def maintenance_line(until: float, reason: str = "") -> str:
    """`<maintenance until="...">reason</maintenance>`: a window declared by the customer (tkalert maintenance)."""
    from tkalert.document.text import clean

    return f'  <maintenance until="{iso_utc(until)}">{_escape(clean(reason))}</maintenance>\n'


def _counts(counts: dict[str, int]) -> str:
    return "".join(f' {_escape(state)}="{int(number)}"' for state, number in counts.items())


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{max(value, 0.0):.3f}"
