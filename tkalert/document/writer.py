"""Write an event as an XML document: TKalert 1.5's elements in 1.5's order, then tkalert's additions.

The old receiver reads `<heartbeat>`/`<alert>` with authkey, date, contact-name, contact-mail and (alerts) the
`<host>` and `<service>` blocks; we keep those names and that order so it still parses ours. Additions come after
them: notification type (with the acknowledgement's author and comment), message id, system id, sequence number,
ISO-8601 UTC timestamp, tool version. Absent optional fields are left out. The text is escaped here (no CDATA: `]]>`
in plugin output broke 1.5); `text.clean` makes every value representable. Plain string building keeps lxml off the
notification hook's import path; the tests validate every shape this module writes against `tkalert.xsd`.
"""

from __future__ import annotations

import time

from tkalert import __version__
from tkalert.document.event import Event
from tkalert.document.stamp import Stamp
from tkalert.document.text import clean

ROOT = {"heartbeat": "heartbeat", "test": "test", "service": "alert", "host": "alert"}
HOST_FIELDS = (("name", "host"), ("ip", "ip"), ("status", "host_status"), ("operating-system", "os"),
               ("server-serial", "serial"))
# A host alert carries the host check's result in its host block (tkalert additions, after 1.5's fields).
HOST_ALERT_FIELDS = HOST_FIELDS + (("plugin-output", "output"), ("perfdata", "perf"), ("duration", "duration"))
SERVICE_FIELDS = (("name", "service"), ("status", "service_status"), ("plugin-output", "output"),
                  ("perfdata", "perf"), ("duration", "duration"), ("component-serial", "component_serial"),
                  ("component-name", "component_name"))


def build_document(event: Event, stamp: Stamp, additions: str = "") -> bytes:
    """Return the UTF-8 XML document for a checked event; `additions` are optional elements written after the
    stamp (a heartbeat's health and switched-off categories, tkalert.document.health)."""
    root = ROOT[event.event_type]
    date = event.date if event.date is not None else stamp.now
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} version="{_escape(__version__)}">\n',
             head_lines(event.auth_key, date, event.contact_person, event.contact_mail)]
    if event.is_alert:
        _block(parts, "host", HOST_ALERT_FIELDS if event.event_type == "host" else HOST_FIELDS, event)
        if event.event_type == "service":
            _block(parts, "service", SERVICE_FIELDS, event)
        _optional(parts, "  ", "notification-type", event.notification_type)
        _optional(parts, "  ", "notification-author", event.notification_author)
        _optional(parts, "  ", "notification-comment", event.notification_comment)
    parts.append(stamp_lines(stamp))
    parts.append(additions)
    parts.append(f"</{root}>\n")
    return "".join(parts).encode("utf-8")


def head_lines(auth_key: str, date: float, contact_person: str | None, contact_mail: str | None) -> str:
    """TKalert 1.5's four leading elements, in 1.5's order."""
    parts = [f'  <authkey category="Monitoring">{_text(auth_key, "authkey")}</authkey>\n',
             f"  <date>{int(date)}</date>\n"]
    _optional(parts, "  ", "contact-name", contact_person)
    _optional(parts, "  ", "contact-mail", contact_mail)
    return "".join(parts)


def stamp_lines(stamp: Stamp) -> str:
    """tkalert's additions that identify one message."""
    return (f"  <message-id>{stamp.message_id}</message-id>\n"
            f"  <system-id>{_text(stamp.system_id, 'system-id')}</system-id>\n"
            f"  <sequence>{stamp.sequence}</sequence>\n"
            f"  <timestamp>{iso_utc(stamp.now)}</timestamp>\n"
            f"  <tool>tkalert/{_escape(__version__)}</tool>\n")


def iso_utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _block(parts: list[str], name: str, spec, event: Event) -> None:
    parts.append(f"  <{name}>\n")
    for element, attribute in spec:
        _optional(parts, "    ", element, getattr(event, attribute))
    parts.append(f"  </{name}>\n")


def _optional(parts: list[str], indent: str, element: str, value) -> None:
    if value is None:
        return
    if isinstance(value, float):
        value = _seconds(value)
    parts.append(f"{indent}<{element}>{_text(value, element)}</{element}>\n")


def _seconds(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.3f}".rstrip("0")


def _text(value: str, field: str) -> str:
    return _escape(clean(value, field))


def _escape(value: str) -> str:
    # '\r' would be normalised to '\n' by any XML parser (XML 1.0 section 2.11): keep it as a reference.
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\r", "&#13;"))
