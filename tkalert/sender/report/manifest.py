"""Manifest: one allowed file as found now — its metadata, its SHA-256 and its redacted text.

Takes a path the scope allows (tkalert.sender.report.scope), hands back an `Observed` file. The allow-list is
checked here again, right before the only `open`: a symbolic link is listed with its target and never followed
(nor is a path through a linked directory), the open refuses links (O_NOFOLLOW) and never blocks on a FIFO
(O_NONBLOCK), and the opened file must be the regular file that was listed. A file over the size cap is listed and
not read; one that is not UTF-8 text XML can carry is hashed and listed, never sent. The text is redacted here,
right after it is read: nothing after this step sees a secret.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from functools import lru_cache

from tkalert.document.report import sha256_text


@dataclass(frozen=True)
class Observed:
    path: str
    group: str
    kind: str  # text | binary | too-large | unreadable | symlink
    size: int
    mode: int
    owner: str
    owner_group: str
    mtime: float
    sha256: str | None = None  # of the redacted text; of the bytes when not text
    text: str | None = None  # redacted
    redactions: int = 0
    raw_mark: str | None = None  # keyed hash of the raw bytes under the redaction rules (kept locally, never sent)
    target: str | None = None
    note: str | None = None

    def fingerprint(self) -> tuple:
        """What says "changed" between two reports: the hash where there is one, else the metadata."""
        return (self.kind, self.sha256) if self.sha256 else (self.kind, self.size, self.mtime, self.target)


def observe(path: str, group: str, scope, redactor, known: dict | None = None) -> Observed | None:
    """The file at `path` (None when it is gone, not a file, or not allowed after all). `known` is what the
    baseline holds of it: when its raw bytes are the same under the same rules (`raw_mark`), its redacted text is
    taken from there, so a daily report redacts (and runs detect-secrets over) only what changed."""
    if scope.group_of(path) != group:
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    meta = dict(path=path, group=group, size=info.st_size, mode=stat.S_IMODE(info.st_mode),
                owner=_user(info.st_uid), owner_group=_group(info.st_gid), mtime=info.st_mtime)
    if stat.S_ISLNK(info.st_mode):
        return Observed(kind="symlink", target=os.readlink(path), note="symbolic link: listed, never followed", **meta)
    if not stat.S_ISREG(info.st_mode):
        return None
    real = os.path.realpath(path)
    if real != os.path.abspath(path):
        return Observed(kind="symlink", target=real, note="reached through a linked directory: not opened", **meta)
    if info.st_size > scope.max_file_size:
        return Observed(kind="too-large", note=f"{info.st_size} bytes, over max_file_size = {scope.max_file_size}: "
                                               "listed, not sent", **meta)
    try:
        data = _read(path, info, scope.max_file_size)
    except OSError as exc:
        return Observed(kind="unreadable", note=f"cannot read: {exc.strerror or exc}", **meta)
    text = _text(data)
    if text is None:
        return Observed(kind="binary", sha256=hashlib.sha256(data).hexdigest(),
                        note="not UTF-8 text an XML document can carry: listed, not sent", **meta)
    mark = redactor.raw_mark(data)
    if known and known.get("raw_mark") == mark and known.get("text") is not None:
        return Observed(kind="text", sha256=sha256_text(known["text"]), text=known["text"],
                        redactions=known.get("redactions", 0), raw_mark=mark, **meta)
    redacted = redactor.redact(path, text)
    return Observed(kind="text", sha256=sha256_text(redacted.text), text=redacted.text,
                    redactions=redacted.count, raw_mark=mark, **meta)


def _read(path: str, listed: os.stat_result, limit: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or (found.st_dev, found.st_ino) != (listed.st_dev, listed.st_ino):
            raise OSError(0, "replaced while it was read")
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise OSError(0, "grew over max_file_size while it was read")
    return data


def _text(data: bytes) -> str | None:
    from tkalert.document.text import xml_chars

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if xml_chars(text) == text else None


@lru_cache(maxsize=256)
def _user(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@lru_cache(maxsize=256)
def _group(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
