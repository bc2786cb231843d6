"""The event: what a caller (command line, alert script) asks tkalert to report.

Values arrive as strings from monitoring macros. An empty string, TKmon's `NOT_SET` or an unexpanded macro
(`$_HOSTTK_SERIAL$`: Nagios leaves the macro of an undefined custom variable as it stands) means "not given", and
absent optional fields are left out of the document instead of being filled with placeholders. `checked()`
normalises states and numbers and raises `UsageError` naming the option when a value cannot be understood or a field
that identifies the event is missing. Every text it returns is clean (`text.xml_chars`): characters XML cannot
carry, lone surrogates from undecodable argv bytes among them, are U+FFFD, so later steps can encode it as UTF-8.
"""

from __future__ import annotations

from tkalert.document.text import xml_chars
from tkalert.errors import UsageError
from tkalert.record import Record

INFINITY = float("inf")  # math.isfinite without the math module (the hook path)
EVENT_TYPES = ("heartbeat", "service", "host", "test")
SERVICE_STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
HOST_STATES = ("UP", "DOWN", "UNREACHABLE")
# Nagios/Icinga 1 notification types; Icinga 2 passes the same words in mixed case (Problem, DowntimeStart, ...).
NOTIFICATION_TYPES = (
    "PROBLEM", "RECOVERY", "ACKNOWLEDGEMENT", "FLAPPINGSTART", "FLAPPINGSTOP", "FLAPPINGEND",
    "FLAPPINGDISABLED", "DOWNTIMESTART", "DOWNTIMEEND", "DOWNTIMECANCELLED", "DOWNTIMEREMOVED", "CUSTOM",
)
ABSENT = ("", "NOT_SET")

REQUIRED = {
    "heartbeat": ("auth_key",),
    "test": ("auth_key",),
    "service": ("auth_key", "host", "service", "service_status"),
    "host": ("auth_key", "host", "host_status"),
}


def option_of(field: str) -> str:
    """The command-line option that sets a field (auth_key -> --auth-key), so an error names what the user typed."""
    return "--" + field.replace("_", "-")


class Event(Record):
    event_type: str = "heartbeat"  # --type
    auth_key: str | None = None
    contact_person: str | None = None
    contact_mail: str | None = None
    date: float | str | None = None
    host: str | None = None
    ip: str | None = None
    host_status: str | None = None
    os: str | None = None
    serial: str | None = None
    service: str | None = None
    service_status: str | None = None
    output: str | None = None
    perf: str | None = None
    duration: float | str | None = None
    component_serial: str | None = None
    component_name: str | None = None
    notification_type: str | None = None
    notification_author: str | None = None
    notification_comment: str | None = None

    @classmethod
    def given_fields(cls) -> tuple[str, ...]:
        """The fields a caller fills from its options (everything but --type)."""
        return tuple(name for name in cls.field_names() if name != "event_type")

    @property
    def is_alert(self) -> bool:
        return self.event_type in ("service", "host")

    def checked(self) -> "Event":
        """Normalise every value; raise UsageError for the first one that cannot be used."""
        if self.event_type not in EVENT_TYPES:
            raise UsageError(f"--type must be one of {', '.join(EVENT_TYPES)}, not {self.event_type!r}")
        # Clean once, here at the edge: argv bytes that were not UTF-8 arrive as lone surrogates, and every step
        # after this one (storm memory, spool, document) may then encode the text as UTF-8.
        values = {name: _clean(absent_to_none(getattr(self, name))) for name in self.given_fields()}
        values["date"] = _number(values["date"], "date") or None  # 0 means now, as TKalert 1.5 took it
        values["duration"] = _number(values["duration"], "duration")
        values["service_status"] = _state(values["service_status"], SERVICE_STATES, "service_status")
        values["host_status"] = _state(values["host_status"], HOST_STATES, "host_status")
        values["notification_type"] = _state(values["notification_type"], NOTIFICATION_TYPES, "notification_type")
        missing = [name for name in REQUIRED[self.event_type] if values[name] is None]
        if missing:
            raise UsageError(f"--type={self.event_type} needs {option_of(missing[0])} "
                             "(or its value in the config file)")
        return self.replace(**values)


def absent_to_none(value):
    if isinstance(value, str) and (value.strip() in ABSENT or _unexpanded_macro(value.strip())):
        return None
    return value


def _clean(value):
    return xml_chars(value) if isinstance(value, str) else value


def _unexpanded_macro(text: str) -> bool:
    """`$_HOSTTK_SERIAL$` as a whole value: Nagios leaves a macro of an undefined custom variable in the command
    as it stands, so the literal name arrives where a value was meant - it means "not given"."""
    name = text[1:-1]
    return len(text) > 2 and text[0] == text[-1] == "$" and name.replace("_", "").isalnum() and name.isupper()


def _number(value, name: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{option_of(name)} must be a number of seconds, not {_shown(value)}") from None
    if not 0 <= number < INFINITY:  # NaN compares false: refused too
        raise UsageError(f"{option_of(name)} must be a finite number of seconds >= 0, not {_shown(value)}")
    return number


def _state(value, allowed: tuple[str, ...], name: str) -> str | None:
    if value is None:
        return None
    word = value.strip().upper().replace("_", "").replace(" ", "")
    if word.isascii() and word.isdigit() and int(word) < len(allowed) and allowed in (SERVICE_STATES, HOST_STATES):
        return allowed[int(word)]  # Nagios state numbers: 0 OK/UP, 1 WARNING/DOWN, ...
    if word in allowed:
        return word
    raise UsageError(f"{option_of(name)} must be one of {', '.join(allowed)}, not {_shown(value)}")


def _shown(value) -> str:
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    text = text if len(text) <= 40 else text[:40] + "..."
    return repr(text)
