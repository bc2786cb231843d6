"""Policy: the spool's own config sections, read strictly into frozen values.

Settings (tkalert.config.settings) hands every section it does not own over as raw key/values; the spool owns `[spool]`,
`[storm]`, `[archive]` and `[categories]` and parses them here, once, before anything touches the disk. An unknown
key or a bad value raises `ConfigError` naming the key and the fix, so a typo never falls back to a default.
Durations are a number with a unit: `90s`, `5m`, `2h`, `7d` (a bare number means seconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from tkalert.errors import ConfigError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_TRUE = ("1", "yes", "true", "on")
_FALSE = ("0", "no", "false", "off")


@dataclass(frozen=True)
class SpoolPolicy:
    max_age: float = 7 * 86400  # then an undelivered message moves to failed/ as expired
    retry_base: float = 60.0  # first back-off; doubles per failed attempt
    retry_cap: float = 3600.0  # back-off never grows beyond this
    batch_size: int = 100  # messages per connection and flush round
    hook_budget: float = 20.0  # seconds submit may spend delivering (Nagios kills the hook at 30 s)


@dataclass(frozen=True)
class StormPolicy:
    enabled: bool = True
    rate: int = 20  # alerts per interval that go out one by one (Cisco Smart Call Home's default)
    interval: float = 60.0  # rate window; also one digest per interval
    repeat_window: float = 1800.0  # same host, service and state inside this window is folded


@dataclass(frozen=True)
class ArchivePolicy:
    directory: Path
    keep: float = 90 * 86400  # sent and folded records older than this are pruned; failed/ is never pruned


@dataclass(frozen=True)
class Categories:
    heartbeat: bool = True
    alerts: bool = True
    report: bool = True
    archive: bool = True  # off: the log keeps metadata only, no copy of payload or plaintext

    def allows(self, kind: str) -> bool:
        """Tests and digests always pass: a test is asked for by hand, a digest carries accepted alerts."""
        switch = {"heartbeat": self.heartbeat, "alert": self.alerts, "report": self.report}
        return switch.get(kind, True)


@dataclass(frozen=True)
class Policy:
    spool: SpoolPolicy
    storm: StormPolicy
    archive: ArchivePolicy
    categories: Categories


def load_policy(settings) -> Policy:
    return Policy(
        spool=_section(settings, "spool", SPOOL_KEYS, SpoolPolicy),
        storm=_section(settings, "storm", STORM_KEYS, StormPolicy),
        archive=_archive(settings),
        categories=_section(settings, "categories", CATEGORY_KEYS, Categories),
    )


def duration(value: str, key: str, section: str) -> float:
    match = _DURATION.match(value)
    if not match:
        raise ConfigError(f"[{section}] {key} = {value!r} is not a duration: write e.g. 90s, 5m, 2h or 7d")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def whole(value: str, key: str, section: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError(f"[{section}] {key} = {value!r} must be a whole number of at least 1")
    return int(value)


def switch(value: str, key: str, section: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    raise ConfigError(f"[{section}] {key} = {value!r} must be on or off")


SPOOL_KEYS: Mapping[str, tuple[str, Callable]] = {
    "max_age": ("max_age", duration),
    "retry_base": ("retry_base", duration),
    "retry_cap": ("retry_cap", duration),
    "batch_size": ("batch_size", whole),
    "hook_budget": ("hook_budget", duration),
}
STORM_KEYS = {
    "enabled": ("enabled", switch),
    "rate": ("rate", whole),
    "interval": ("interval", duration),
    "repeat_window": ("repeat_window", duration),
}
CATEGORY_KEYS = {name: (name, switch) for name in ("heartbeat", "alerts", "report", "archive")}
ARCHIVE_KEYS = {"keep": ("keep", duration), "dir": ("directory", None)}


def _section(settings, name: str, table: Mapping[str, tuple[str, Callable]], factory):
    raw = settings.section(name)
    _refuse_unknown(raw, table, name)
    return factory(**{table[k][0]: table[k][1](v, k, name) for k, v in raw.items()})


def _archive(settings) -> ArchivePolicy:
    raw = dict(settings.section("archive"))
    _refuse_unknown(raw, ARCHIVE_KEYS, "archive")
    default = Path(settings.state_dir) / "archive"
    base = Path(settings.path).parent if getattr(settings, "path", None) else Path(".")
    directory = base / raw["dir"] if raw.get("dir") else default
    keep = duration(raw["keep"], "keep", "archive") if "keep" in raw else ArchivePolicy.keep
    return ArchivePolicy(directory=directory, keep=keep)


def _refuse_unknown(raw: Mapping[str, str], table: Mapping, name: str) -> None:
    unknown = sorted(set(raw) - set(table))
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in [{name}] (known: {', '.join(sorted(table))}; see tkalert.conf(5))"
        )


def describe(seconds: float) -> str:
    """The shortest exact spelling of a duration, the way the config file writes it."""
    for unit in ("d", "h", "m"):
        if seconds >= UNITS[unit] and seconds % UNITS[unit] == 0:
            return f"{int(seconds // UNITS[unit])}{unit}"
    return f"{seconds:g}s"
