"""The media type's message -> an `Event`: the first step of the `tkalert-zabbix` alert script, pure.

Zabbix 6.0 expands only {ALERT.SENDTO}, {ALERT.SUBJECT} and {ALERT.MESSAGE} in script parameters, so the message
templates of media_type.yaml write host, trigger, severity, inventory and so on as `key=value` lines. The format,
as documented in tkalert-zabbix(1):

- A line `KEY=VALUE` with a known KEY (case-insensitive; the first `=` splits, so a value may contain `=`) sets
  that field. Whitespace around the value is dropped. If a key comes twice, the first line counts.
- `output=` is the last field: its value is the rest of the message, newlines and `key=value` lines included, so
  a multi-line item value cannot add or change a field. Templates put it last.
- A line that does not start with `KEY=` continues the previous field's value (a macro that expanded to several
  lines); before the first field it is ignored, so a template may start with a heading.
- A line with an unknown key that looks like one (`word=...`) is ignored together with its continuation lines,
  so a newer template still works with an older tkalert.
- A value that is an unresolved macro (`{INVENTORY.SERIALNO.A}` left as it was) or Zabbix's `*UNKNOWN*` is absent,
  like an empty value.

Severity, recovery and updates map to tkalert's states and notification types by the tables below.
"""

from __future__ import annotations

import math
import re
import time

from tkalert.document.event import ABSENT, Event
from tkalert.errors import UsageError

KEYS = frozenset({
    "notification", "host", "host_name", "ip", "trigger", "severity", "severity_name", "status", "event_id",
    "date", "time", "duration", "serial", "os", "component_serial", "component_name", "update_action", "perf",
    "output",
})
REST_KEY = "output"
KEY_LIKE = re.compile(r"[a-z][a-z0-9_.-]*")
# `{HOST.IP}`, `{INVENTORY.SERIALNO.A}`, `{EVENT.TAGS.serial}`, `{$MACRO}`, `{#LLD}` left unexpanded by Zabbix
UNRESOLVED = re.compile(r"\{[$#]?[A-Z][^{}\s]*\}|\*UNKNOWN\*")

# {EVENT.NSEVERITY} -> (Zabbix's default name, tkalert state). Numbers first: administrators can rename severities.
SEVERITIES = {
    0: ("Not classified", "WARNING"),
    1: ("Information", "WARNING"),
    2: ("Warning", "WARNING"),
    3: ("Average", "CRITICAL"),
    4: ("High", "CRITICAL"),
    5: ("Disaster", "CRITICAL"),
}
STATE_BY_NAME = {name.lower(): state for name, state in SEVERITIES.values()}
# the media type's operation modes (and {EVENT.STATUS} words) -> tkalert notification types
NOTIFICATIONS = {"PROBLEM": "PROBLEM", "RECOVERY": "RECOVERY", "RESOLVED": "RECOVERY", "OK": "RECOVERY",
                 "UPDATE": "UPDATE"}
DURATION_UNITS = {"y": 365 * 86400, "M": 30 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION = re.compile(r"(\d{1,12})\s*([yMwdhms])")


class MessageError(UsageError):
    """The message is not one the tkalert media type writes (a changed or foreign message template)."""


def parse_fields(text: str) -> dict[str, str]:
    """Split the message into its known fields; absent and unresolved values are left out."""
    raw: dict[str, list[str]] = {}
    current = None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, line in enumerate(lines):
        name, has_equals, value = line.partition("=")
        key = name.strip().lower()
        if has_equals and key == REST_KEY:
            raw.setdefault(REST_KEY, ["\n".join([value, *lines[index + 1:]])])
            break
        if has_equals and key in KEYS:
            current = None if key in raw else key
            if current:
                raw[key] = [value]
        elif has_equals and KEY_LIKE.fullmatch(key):
            current = None
        elif current is not None:
            raw[current].append(line)
    values = {key: "\n".join(parts).strip() for key, parts in raw.items()}
    return {key: value for key, value in values.items() if value not in ABSENT and not UNRESOLVED.fullmatch(value)}


def event_from_message(text: str) -> Event:
    """The alert a message describes; MessageError when it lacks what identifies the alert."""
    fields = parse_fields(text)
    host = fields.get("host") or fields.get("host_name")
    if not host or not fields.get("trigger"):
        missing = "host=" if not host else "trigger="
        raise MessageError(f"the message has no usable {missing} line: it is not the tkalert media type's message "
                           "template (re-import it with 'tkalert zabbix setup', see tkalert-zabbix(1))")
    operation = operation_of(fields)
    return Event(
        event_type="service", host=host, ip=fields.get("ip"), os=fields.get("os"), serial=fields.get("serial"),
        service=fields["trigger"], service_status=service_state(fields, operation), output=output_text(fields),
        perf=fields.get("perf"), duration=duration_seconds(fields.get("duration")), date=event_date(fields),
        component_serial=fields.get("component_serial"), component_name=fields.get("component_name"),
        notification_type=notification_type(operation, fields.get("update_action")),
    )


def operation_of(fields: dict[str, str]) -> str:
    """PROBLEM, RECOVERY or UPDATE: the template's notification= line, else {EVENT.STATUS}, else a problem."""
    for key in ("notification", "status"):
        if _word(fields.get(key)) in NOTIFICATIONS:
            return NOTIFICATIONS[_word(fields.get(key))]
    return "PROBLEM"


def service_state(fields: dict[str, str], operation: str) -> str:
    """OK once resolved (a recovery, or an update of a resolved problem); otherwise the severity's state."""
    if operation == "RECOVERY" or NOTIFICATIONS.get(_word(fields.get("status"))) == "RECOVERY":
        return "OK"
    return severity_state(fields.get("severity"), fields.get("severity_name"))


def severity_state(number: str | None, name: str | None) -> str:
    """By number, else by Zabbix's default name; UNKNOWN (still a problem) when neither says how severe."""
    if number is not None and re.fullmatch(r"[0-9]", number.strip()) and int(number) in SEVERITIES:
        return SEVERITIES[int(number)][1]
    for word in (name, number):
        if word and word.strip().lower() in STATE_BY_NAME:
            return STATE_BY_NAME[word.strip().lower()]
    return "UNKNOWN"


def notification_type(operation: str, update_action: str | None) -> str:
    """An update is an ACKNOWLEDGEMENT when it acknowledged the problem; other updates (comment, severity
    change, close, unacknowledge) are CUSTOM notifications: never a new problem."""
    if operation != "UPDATE":
        return operation
    words = re.findall(r"[a-z]+", (update_action or "").lower())
    return "ACKNOWLEDGEMENT" if "acknowledged" in words else "CUSTOM"


def output_text(fields: dict[str, str]) -> str | None:
    lines = [fields["output"]] if "output" in fields else []
    if "event_id" in fields:
        lines.append(f"Zabbix event {fields['event_id']}")
    return "\n".join(lines) or None


def duration_seconds(text: str | None) -> float | None:
    """{EVENT.DURATION} ("1d 2h 3m", "5m 12s") or plain seconds; None when it is neither."""
    if text is None:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text.strip()):
        return _seconds(float(text))
    parts = DURATION.findall(text)
    if not parts or DURATION.sub("", text).strip():
        return None
    return _seconds(sum(int(count) * DURATION_UNITS[unit] for count, unit in parts))


def event_date(fields: dict[str, str]) -> float | None:
    """{EVENT.DATE} {EVENT.TIME} ("2024.05.31", "13:45:07": the Zabbix server's local time, and the alert script
    runs on that server) or a Unix time; None (= now) when unreadable: a wrong clock must not lose the alert."""
    date, clock = fields.get("date"), fields.get("time")
    if date and re.fullmatch(r"\d+(\.\d+)?", date):
        return _seconds(float(date))
    if not date or not clock:
        return None
    try:
        return time.mktime(time.strptime(f"{date} {clock}", "%Y.%m.%d %H:%M:%S"))
    except (ValueError, OverflowError):
        return None


def _seconds(value: float | int) -> float | None:
    """A number of seconds tkalert can write; None for one past any calendar (a garbled value)."""
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) and seconds < 1e11 else None


def _word(value: str | None) -> str:
    return (value or "").strip().upper()
