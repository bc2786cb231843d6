"""The report document: a system's facts and the manifest of its configuration files, with the content of those
that changed since the last report the vendor received.

Takes the facts, one `ReportedFile` per file (tkalert.sender.report.collect decides what each carries) and a stamp;
returns the UTF-8 XML of a `<report>` (tkalert.xsd): the same head and stamp as every document, then `<system>`
and `<files>`. A file's `sha256` is that of the text as reported (after redaction; a receiver checks what it
rebuilt against it). A `<diff>` is a unified diff (GNU diff's format, `\\ No newline at end of file` included)
against the version whose SHA-256 is its `base-sha256`, the one the vendor last received; `apply_diff` turns the
base and the diff back into the new text, so the receiver rebuilds every file's full content from the stored
reports. Content is text exactly as in the file: a file XML cannot carry unchanged is listed, not sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tkalert import __version__
from tkalert.document.stamp import Stamp
from tkalert.document.writer import _escape, head_lines, iso_utc, stamp_lines

NO_NEWLINE = "\\ No newline at end of file\n"


@dataclass(frozen=True)
class Software:
    name: str  # the product: icinga2, nagios4, zabbix6, ...
    package: str | None
    version: str | None


@dataclass(frozen=True)
class SystemFacts:
    hostname: str
    operating_system: str | None
    kernel: str | None
    software: tuple[Software, ...] = ()


@dataclass(frozen=True)
class ReportedFile:
    path: str
    group: str
    status: str  # new | changed | unchanged | removed
    kind: str | None = None  # text | binary | too-large | unreadable | symlink (None: removed)
    size: int | None = None
    mode: int | None = None
    owner: str | None = None
    owner_group: str | None = None
    mtime: float | None = None
    sha256: str | None = None  # of the reported (redacted) text; of the bytes for a binary file
    redactions: int = 0
    target: str | None = None  # a symbolic link's target
    note: str | None = None  # why there is no content (too large, unreadable, not text)
    content: str | None = None
    diff: str | None = None
    base_sha256: str | None = None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def build_report(auth_key: str, contact_person: str | None, contact_mail: str | None, facts: SystemFacts,
                 files: list[ReportedFile], stamp: Stamp, full: bool = False) -> bytes:
    sent = sum(f.content is not None or f.diff is not None for f in files)
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<report version="{_escape(__version__)}" '
             f'full="{"true" if full else "false"}">\n',
             head_lines(auth_key, stamp.now, contact_person, contact_mail), _system(facts),
             f'  <files count="{len(files)}" sent="{sent}">\n', *(_file(f) for f in files), "  </files>\n",
             stamp_lines(stamp), "</report>\n"]
    return "".join(parts).encode("utf-8", "surrogateescape")


def _system(facts: SystemFacts) -> str:
    lines = ["  <system>\n", f"    <hostname>{_escape(facts.hostname)}</hostname>\n"]
    if facts.operating_system:
        lines.append(f"    <operating-system>{_escape(facts.operating_system)}</operating-system>\n")
    if facts.kernel:
        lines.append(f"    <kernel>{_escape(facts.kernel)}</kernel>\n")
    for software in facts.software:
        lines.append(f"    <monitoring{_attrs(name=software.name, package=software.package, version=software.version)}"
                     "/>\n")
    lines.append("  </system>\n")
    return "".join(lines)


def _file(f: ReportedFile) -> str:
    attrs = _attrs(path=f.path, group=f.group, status=f.status, kind=f.kind, size=f.size,
                   mode=None if f.mode is None else f"{f.mode:04o}", owner=f.owner, **{"owner-group": f.owner_group},
                   mtime=None if f.mtime is None else iso_utc(f.mtime), sha256=f.sha256,
                   redactions=f.redactions or None, target=f.target)
    body = []
    if f.note:
        body.append(f"      <note>{_escape(f.note)}</note>\n")
    if f.diff is not None:
        body.append(f'      <diff{_attrs(**{"base-sha256": f.base_sha256})}>{_text(f.diff)}</diff>\n')
    elif f.content is not None:
        body.append(f"      <content>{_text(f.content)}</content>\n")
    if not body:
        return f"    <file{attrs}/>\n"
    return f"    <file{attrs}>\n{''.join(body)}    </file>\n"


def _text(value: str) -> str:
    """Element text: only what XML needs escaped, so a file's quotes stay readable in the document; '\\r' as a
    reference, or a parser would turn it into '\\n' (XML 1.0 section 2.11)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _attrs(**values) -> str:
    return "".join(f' {name}="{_escape(str(value)).replace(chr(10), "&#10;").replace(chr(9), "&#9;")}"'
                   for name, value in values.items() if value is not None)


def split_lines(text: str) -> list[str]:
    """Lines with their "\\n", split on "\\n" only (str.splitlines also splits on \\r, \\f and more, as diff
    does not)."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def unified_diff(old: str, new: str, path: str) -> str:
    """GNU diff -u of two texts, with its marker for a last line that has no newline."""
    import difflib

    out = []
    for line in difflib.unified_diff(split_lines(old), split_lines(new),
                                     f"a{path}", f"b{path}"):
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n" + NO_NEWLINE)
    return "".join(out)


def apply_diff(old: str, diff: str) -> str:
    """The new text from the old one and a unified diff of them (as `unified_diff` writes it); ValueError when the
    diff does not apply to `old`."""
    import re

    source = split_lines(old)
    lines = split_lines(diff)
    result: list[str] = []
    at = 0
    index = 0
    while index < len(lines) and not lines[index].startswith("@@"):
        index += 1
    while index < len(lines):
        header = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", lines[index])
        if not header:
            raise ValueError(f"not a hunk header: {lines[index]!r}")
        start = int(header.group(1)) - (0 if header.group(2) == "0" else 1)
        result.extend(source[at:start])
        at = start
        index += 1
        while index < len(lines) and not lines[index].startswith("@@"):
            line = lines[index]
            kind, text = line[:1], line[1:]
            if index + 1 < len(lines) and lines[index + 1] == NO_NEWLINE:
                text = text.removesuffix("\n")
                index += 1
            if kind in (" ", "-"):
                if at >= len(source) or source[at] != text:
                    raise ValueError(f"the diff does not apply at line {at + 1}")
                at += 1
            if kind in (" ", "+"):
                result.append(text)
            index += 1
    result.extend(source[at:])
    return "".join(result)
