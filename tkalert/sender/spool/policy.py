"""Policy: the spool's own config sections, read strictly into frozen values.

Settings (tkalert.config.settings) hands every section it does not own over as raw key/values; the spool owns `[spool]`,
`[storm]`, `[archive]` and `[categories]` and parses them here, once, before anything touches the disk. An unknown
key or a bad value raises `ConfigError` naming the key and the fix, so a typo never falls back to a default.
Every value is read by tkalert.config.fields: durations are a number with a unit (`90s`, `5m`, `2h`, `7d`, `2w`; a
bare number means seconds), switches on/off (or yes/no, true/false, 1/0).
"""

from __future__ import annotations

import os

from tkalert.config.fields import UNITS, Section
from tkalert.record import Record


class SpoolPolicy(Record):
    max_age: float = 7 * 86400  # then an undelivered message moves to failed/ as expired
    retry_base: float = 60.0  # first back-off; doubles per failed attempt
    retry_cap: float = 3600.0  # back-off never grows beyond this
    batch_size: int = 100  # messages per connection and flush round
    hook_budget: float = 20.0  # seconds submit may spend delivering (Nagios kills the hook at 30 s)
    flusher_socket: str = ""  # the resident flusher's unix socket (tkalert flusher); "" until load_policy sets it
    flusher_wait: str = "check"  # check: only --check waits for the flusher's word; always: every hook waits


class StormPolicy(Record):
    enabled: bool = True
    rate: int = 20  # alerts per interval that go out one by one (Cisco Smart Call Home's default)
    interval: float = 60.0  # rate window; also one digest per interval
    repeat_window: float = 1800.0  # same host, service and state inside this window is folded


class ArchivePolicy(Record):
    directory: str  # file names are text on the hook path (tkalert.config.fields)
    keep: float = 90 * 86400  # sent and folded records older than this are pruned; failed/ is never pruned


class Categories(Record):
    heartbeat: bool = True
    alerts: bool = True
    report: bool = True
    archive: bool = True  # off: the log keeps metadata only, no copy of payload or plaintext
    health: bool = True  # off: the heartbeat reads and carries no health (tkalert.sender.health)

    def allows(self, kind: str) -> bool:
        """Tests and digests always pass: a test is asked for by hand, a digest carries accepted alerts."""
        switch = {"heartbeat": self.heartbeat, "alert": self.alerts, "report": self.report}
        return switch.get(kind, True)


class Policy(Record):
    spool: SpoolPolicy
    storm: StormPolicy
    archive: ArchivePolicy
    categories: Categories


SPOOL_KEYS = ("max_age", "retry_base", "retry_cap", "batch_size", "hook_budget", "flusher_socket",
              "flusher_wait")
STORM_KEYS = ("enabled", "rate", "interval", "repeat_window")
CATEGORY_KEYS = ("heartbeat", "alerts", "report", "archive", "health")
GROUP_CATEGORY = "report."  # report.NAME = off: file group NAME of the report (tkalert.sender.report.scope)
ARCHIVE_KEYS = ("keep", "dir")
SOCKET_NAME = "flusher.sock"  # next to the spool's areas: the spool's owner owns the directory (0700)


def load_policy(settings) -> Policy:
    path = getattr(settings, "path", None)

    def section(name: str, keys: tuple[str, ...]) -> Section:
        return Section(settings.section(name), keys, name, path, base=os.path.dirname(path) if path else ".")

    spool, storm, archive, switches = (section("spool", SPOOL_KEYS), section("storm", STORM_KEYS),
                                       section("archive", ARCHIVE_KEYS),
                                       section("categories", CATEGORY_KEYS + tuple(
                                           k for k in settings.section("categories") if k.startswith(GROUP_CATEGORY)
                                           and len(k) > len(GROUP_CATEGORY))))
    for key in settings.section("categories"):
        if key.startswith(GROUP_CATEGORY):
            switches.boolean(key, True, spelled="on or off")
    return Policy(
        spool=SpoolPolicy(
            max_age=spool.duration("max_age", SpoolPolicy.max_age),
            retry_base=spool.duration("retry_base", SpoolPolicy.retry_base),
            retry_cap=spool.duration("retry_cap", SpoolPolicy.retry_cap),
            batch_size=spool.integer("batch_size", SpoolPolicy.batch_size, low=1),
            hook_budget=spool.duration("hook_budget", SpoolPolicy.hook_budget, positive=False),
            flusher_socket=spool.filename("flusher_socket", os.path.join(settings.spool_dir, SOCKET_NAME)),
            flusher_wait=spool.choice("flusher_wait", ("always", "check"), SpoolPolicy.flusher_wait),
        ),
        storm=StormPolicy(
            enabled=storm.boolean("enabled", StormPolicy.enabled, spelled="on or off"),
            rate=storm.integer("rate", StormPolicy.rate, low=1),
            interval=storm.duration("interval", StormPolicy.interval),
            repeat_window=storm.duration("repeat_window", StormPolicy.repeat_window, positive=False),
        ),
        archive=ArchivePolicy(
            directory=archive.filename("dir", os.path.join(settings.state_dir, "archive")),
            keep=archive.duration("keep", ArchivePolicy.keep, positive=False),
        ),
        categories=Categories(**{key: switches.boolean(key, True, spelled="on or off") for key in CATEGORY_KEYS}),
    )


def describe(seconds: float) -> str:
    """The shortest exact spelling of a duration, the way the config file writes it."""
    for unit in ("d", "h", "m"):
        if seconds >= UNITS[unit] and seconds % UNITS[unit] == 0:
            return f"{int(seconds // UNITS[unit])}{unit}"
    return f"{seconds:g}s"
