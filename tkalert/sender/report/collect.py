"""Collect: the report's content — every allowed file compared with what the vendor last received.

Takes the settings; hands the pipeline (tkalert.sender.pipeline.send_report) the document and the snapshot to keep
as pending until the spool says it was delivered (tkalert.sender.report.baseline). Per file, against the baseline:

    new        content (redacted), whole
    changed    a unified diff against the baseline's text where it is smaller than the text, else the text
    unchanged  the manifest line only
    removed    a file of a reported group the baseline had and the disk has not

`full` sends every text file's content. The files are found by expanding the scope's globs (directory listings
only); each is opened by tkalert.sender.report.manifest alone, which checks the allow-list again.
"""

from __future__ import annotations

import glob
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tkalert.document.report import ReportedFile, Software, SystemFacts, build_report, unified_diff
from tkalert.document.stamp import Stamp
from tkalert.sender.report.baseline import Baselines, Snapshot
from tkalert.sender.report.manifest import Observed, observe
from tkalert.sender.report.redact import Redactor, configured_patterns, known_secrets, mark_key
from tkalert.sender.report.scope import Scope, load_scope

# product (file group) -> the Debian packages that carry its version, the first one installed wins
PACKAGES = {
    "icinga2": ("icinga2-bin", "icinga2"),
    "nagios4": ("nagios4-core", "nagios4"),
    "zabbix6": ("zabbix-server-pgsql", "zabbix-server-mysql", "zabbix-proxy-pgsql", "zabbix-proxy-mysql",
                "zabbix-proxy-sqlite3", "zabbix-agent2", "zabbix-agent"),
    "snmpd": ("snmpd",),
}


@dataclass
class ReportRun:
    settings: object
    scope: Scope
    redactor: Redactor
    baselines: Baselines
    baseline: Snapshot

    @classmethod
    def open(cls, settings, site, switched_off: tuple[str, ...] = ()) -> "ReportRun":
        """Read the scope and the redaction settings (bad ones raise before anything is read), settle the
        baseline with the spool."""
        from tkalert.config.fields import truth

        groups_off = tuple(key.split(".", 1)[1] for key, value in settings.section("categories").items()
                           if key.startswith("report.") and truth(value) is False)
        scope = load_scope(settings, switched_off + groups_off)
        patterns = configured_patterns(settings)
        baselines = Baselines(Path(settings.state_dir) / "report").prepare()
        redactor = Redactor(mark_key(baselines.directory), known_secrets(settings), patterns)
        return cls(settings, scope, redactor, baselines, baselines.settle(site))

    def build(self, stamp: Stamp, full: bool = False) -> tuple[bytes, Snapshot]:
        settings = self.settings
        if not settings.auth_key:
            from tkalert.errors import UsageError

            raise UsageError("a report needs the auth key: set auth_key_file in [tkalert] (or $TKALERT_AUTH_KEY, "
                             "or --auth-key)")
        known = self.baseline.files
        observed = [found for path, group in allowed_files(self.scope)
                    if (found := observe(path, group, self.scope, self.redactor, known.get(path))) is not None]
        files = compare(observed, self.baseline, self.scope, full)
        document = build_report(settings.auth_key, settings.contact_person, settings.contact_mail,
                                system_facts(self.scope), files, stamp, full)
        snapshot = Snapshot(stamp.sequence, stamp.message_id, {
            f.path: {"group": f.group, "fingerprint": list(f.fingerprint()), "sha256": f.sha256, "text": f.text,
                     "raw_mark": f.raw_mark, "redactions": f.redactions}
            for f in observed})
        return document, snapshot


def allowed_files(scope: Scope) -> list[tuple[str, str]]:
    """(path, group) for every file the reported groups' globs find, each once, sorted by path."""
    found: dict[str, str] = {}
    for group, patterns in scope.groups.items():
        for pattern in patterns:
            for path in glob.glob(pattern, recursive=True):
                found.setdefault(os.path.abspath(path), group)
    return sorted(found.items())


def compare(observed: list[Observed], baseline: Snapshot, scope: Scope, full: bool) -> list[ReportedFile]:
    files = []
    for found in observed:
        old = baseline.files.get(found.path)
        status = "new" if old is None else "unchanged" if old["fingerprint"] == list(found.fingerprint()) \
            else "changed"
        content = diff = base = None
        if found.text is not None and (full or status != "unchanged"):
            content = found.text
            if old is not None and old.get("text") is not None and not full:
                candidate = unified_diff(old["text"], found.text, found.path)
                if len(candidate) < len(found.text):
                    content, diff, base = None, candidate, old["sha256"]
        files.append(ReportedFile(
            path=found.path, group=found.group, status=status, kind=found.kind, size=found.size, mode=found.mode,
            owner=found.owner, owner_group=found.owner_group, mtime=found.mtime, sha256=found.sha256,
            redactions=found.redactions, target=found.target, note=found.note, content=content, diff=diff,
            base_sha256=base))
    present = {found.path for found in observed}
    for path, old in sorted(baseline.files.items()):
        if path not in present and scope.group_of(path) is not None:
            files.append(ReportedFile(path=path, group=old.get("group") or scope.group_of(path), status="removed"))
    return sorted(files, key=lambda f: f.path)


def system_facts(scope: Scope) -> SystemFacts:
    import platform

    try:
        release = platform.freedesktop_os_release().get("PRETTY_NAME")
    except OSError:
        release = None
    uname = os.uname()
    return SystemFacts(socket.gethostname(), release or uname.sysname, uname.release,
                       installed_software(scope.groups))


def installed_software(groups) -> tuple[Software, ...]:
    """The version of each reported product's package, from dpkg (nothing where dpkg is missing)."""
    wanted = [(group, PACKAGES[group]) for group in groups if group in PACKAGES]
    if not wanted:
        return ()
    names = [name for _, packages in wanted for name in packages]
    try:
        done = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n", *names],
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    versions = {}
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        package, _, rest = line.partition("\t")
        version, _, status = rest.partition("\t")
        if status == "installed":
            versions[package] = version
    found = []
    for group, packages in wanted:
        package = next((p for p in packages if p in versions), None)
        if package:
            found.append(Software(group, package, versions[package]))
    return tuple(found)
