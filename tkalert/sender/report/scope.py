"""Scope: the `[report]` section read strictly into the allow-list of files a report may open.

A group is a name and its globs (`**` recurses); the defaults cover the products' configuration and leave their
private keys and password hashes out (Icinga 2's pki/, Nagios' htpasswd.users). `files.NAME = GLOBS` replaces a
default group's globs or adds a group, `groups` names the groups that are reported, `exclude` takes files out again,
and a file over `max_file_size` bytes is listed, never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from tkalert.config.fields import Section, refuse_unknown

DEFAULT_GROUPS = MappingProxyType({
    "icinga2": ("/etc/icinga2/**/*.conf",),
    "nagios4": ("/etc/nagios4/**/*.cfg",),
    "zabbix6": ("/etc/zabbix/**/*.conf", "/etc/zabbix/**/*.psk"),
    "snmpd": ("/etc/snmp/snmpd.conf", "/etc/snmp/snmpd.conf.d/*.conf"),
})
MAX_FILE_SIZE = 1024 * 1024
REPORT_KEYS = ("groups", "exclude", "max_file_size")
GROUP_PREFIX = "files."


@dataclass(frozen=True)
class Scope:
    groups: Mapping[str, tuple[str, ...]]  # reported group -> its globs, absolute
    exclude: tuple[str, ...] = ()
    max_file_size: int = MAX_FILE_SIZE

    def group_of(self, path: str) -> str | None:
        """The first reported group whose globs match `path` (and no exclude does), else None: not allowed."""
        if any(fnmatchcase(path, pattern) for pattern in self.exclude):
            return None
        for name, globs in self.groups.items():
            if any(matches(path, pattern) for pattern in globs):
                return name
        return None


def matches(path: str, pattern: str) -> bool:
    """glob's meaning of a pattern, for one path: `**/` is any number of directories, `*` stays in one."""
    import re

    parts = []
    for piece in re.split(r"(\*\*/|\*|\?)", pattern):
        parts.append({"**/": "(?:[^/]+/)*", "*": "[^/]*", "?": "[^/]"}.get(piece, re.escape(piece)))
    return re.fullmatch("".join(parts), path) is not None


def load_scope(settings, switched_off: tuple[str, ...] = ()) -> Scope:
    """The reported groups from `[report]`; `switched_off` names groups `[categories]` turned off."""
    path = getattr(settings, "path", None)
    raw = dict(settings.section("report"))
    group_keys = {key for key in raw if key.startswith(GROUP_PREFIX)}
    section = Section({k: v for k, v in raw.items() if k not in group_keys}, REPORT_KEYS, "report", path)
    groups = dict(DEFAULT_GROUPS)
    for key in sorted(group_keys):
        name = key[len(GROUP_PREFIX):]
        globs = tuple((raw[key] or "").split())
        if not name or not globs or any(not g.startswith("/") for g in globs):
            raise section.error(f"{key} must name a group and list absolute globs, not {raw[key]!r}")
        groups[name] = globs
    wanted = (section.text("groups") or " ".join(groups)).replace(",", " ").split()
    refuse_unknown(wanted, groups, "report", path, what="file group in groups",
                   hint="define it with files.NAME = GLOBS")
    return Scope(
        groups=MappingProxyType({name: groups[name] for name in wanted if name not in switched_off}),
        exclude=tuple((section.text("exclude") or "").split()),
        max_file_size=section.integer("max_file_size", MAX_FILE_SIZE, low=1),
    )


def base_directory(pattern: str) -> Path:
    """The directory a glob starts from (its part before the first wildcard)."""
    head = []
    for part in Path(pattern).parts:
        if any(ch in part for ch in "*?["):
            break
        head.append(part)
    return Path(*head) if head else Path("/")
