"""Redact: secrets out of a file's text before it is diffed, stored as "last sent" or sealed.

Takes a file's path and text, hands back the text with each secret value replaced by `[redacted: RULE MARK]`
and the number of replacements. MARK is 8 hex digits of an HMAC of the value under a key that never leaves this
machine (`state_dir/report/redact.key`): the vendor sees that a password changed, not the password, and cannot
test guesses against it. The line around the value stays, so the vendor still sees which setting it was.

The rules, in this order:
  1. per product, by line (the table RULES): Icinga 2 `password` (ApiUser, Ido*Connection and any other
     object) and TicketSalt, Nagios `$USERn$=` (resource.cfg), Zabbix `DBPassword` and `TLSPSK*`, snmpd
     communities (rocommunity, rwcommunity, com2sec, trap sinks) and USM pass phrases (createUser);
     generic `*password*`, `*secret*`, `*token*`, `*auth*key*` settings (tkalert's own auth key, TKmon's
     custom variables); private key blocks;
  2. a whole file that is a pre-shared key (Zabbix TLSPSKFile: `*.psk`, or one long hex string);
  3. values known to be secret: tkalert's own auth key and the destinations' passwords;
  4. `[redact] pattern.NAME = REGEX` from the config (group 1, or the whole match);
  5. detect-secrets (PyPI), where it is installed, as a second net over what is left.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from tkalert.config.fields import Section
from tkalert.document.report import split_lines

TAG = "[redacted: {rule} {mark}]"
# name -> (path glob, `*` crossing directories, or None for any file; line pattern; the group "v" is the secret)
RULES: dict[str, tuple[str | None, str]] = {
    "icinga2-password": ("*/icinga2/*.conf", r"(?:^|[{;\s/#])password\s*=\s*(?P<v>\"(?:[^\"\\]|\\.)*\"|[^\s;}]+)"),
    "icinga2-ticketsalt": (None, r"^\s*const\s+TicketSalt\s*=\s*(?P<v>\S.*?)\s*$"),
    "nagios-user-macro": (None, r"^\s*\$USER\d+\$\s*=\s*(?P<v>.*\S)\s*$"),
    "zabbix-dbpassword": (None, r"^\s*DBPassword\s*=\s*(?P<v>.*\S)\s*$"),
    "zabbix-tlspsk": (None, r"^\s*TLSPSK\w*\s*=\s*(?P<v>.*\S)\s*$"),
    "snmp-community": (None, r"^\s*(?:ro|rw)community6?\s+(?P<v>\S+)"),
    "snmp-com2sec": (None, r"^\s*com2sec6?\s+(?:-Cn\s+\S+\s+)?\S+\s+\S+\s+(?P<v>\S+)"),
    "snmp-trap-community": (None, r"^\s*(?:trapcommunity\s+|(?:trap2?sink|informsink)\s+\S+\s+)(?P<v>\S+)"),
    "snmp-usm-passphrase": (None, r"^\s*createUser\s+(?:-e\s+\S+\s+)?\S+\s+(?P<v>\S.*?)\s*$"),
    # a setting named like a secret, but not one naming the file or directory that holds it
    "secret-setting": (None, r"(?i)^\s*[\w.$-]*(?:pass(?:word|wd|phrase)|secret|token|auth_?key|api_?key)"
                             r"(?![\w.$-]*(?:file|path|dir)\b)[\w.$-]*\s*(?:=|:|\s)\s*(?P<v>\S.*?)\s*[;,]?\s*$"),
}
PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)", re.S)
_WRITTEN = re.compile(r"(\[redacted: [\w:.-]+ [0-9a-f]{8}\])")  # a tag already written (split keeps it)
PSK_TEXT = re.compile(r"\s*[0-9A-Fa-f]{32,}\s*")
PSK_FILES = ("*.psk",)
SECRET_OPTION = re.compile(r"(?i)pass|secret|token|key$")
_COMPILED = {name: (files, re.compile(pattern)) for name, (files, pattern) in RULES.items()}


@dataclass
class Redacted:
    text: str
    count: int
    rules: tuple[str, ...]


class Redactor:
    """The rules bound to one machine's mark key, its known secrets and its configured patterns."""

    def __init__(self, key: bytes, known: tuple[str, ...] = (), patterns: dict[str, re.Pattern] | None = None,
                 second_net: bool = True):
        self.key = key
        self.known = tuple(sorted({k for k in known if k and len(k) >= 4}, key=len, reverse=True))
        self.patterns = patterns or {}
        self.detect = detect_secrets_scanner() if second_net else None
        # what the rules are: a file redacted under other rules (a new pattern, another auth key, detect-secrets
        # installed since) is redacted again, never taken from the baseline
        rules = repr((sorted(RULES.items()), sorted((n, p.pattern) for n, p in self.patterns.items()), self.known,
                      self.detect is not None, TAG))
        self.rules_id = hmac.new(key, rules.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def raw_mark(self, data: bytes) -> str:
        """A keyed hash of a file's raw bytes under these rules: equal marks, equal redacted text."""
        return hmac.new(self.key, self.rules_id + data, hashlib.sha256).hexdigest()

    def redact(self, path: str, text: str) -> Redacted:
        name = Path(path).name
        used: list[str] = []
        if any(fnmatchcase(name, p) for p in PSK_FILES) or PSK_TEXT.fullmatch(text):
            return Redacted(self._tag("zabbix-psk-file", text) + "\n", 1, ("zabbix-psk-file",))
        text = PRIVATE_KEY.sub(lambda m: self._note(used, "private-key", m.group(0)), text)
        lines = [self._line(path, line, used) for line in split_lines(text)]
        text = "".join(lines)
        if self.detect is not None:
            text = self.detect(path, text, lambda value, rule: self._note(used, rule, value))
        return Redacted(text, len(used), tuple(dict.fromkeys(used)))

    def _line(self, path: str, line: str, used: list[str]) -> str:
        """The first product rule that matches the line, then tkalert's own secrets and the configured patterns
        wherever they still occur (never inside a tag already written)."""
        body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        for rule, (files, pattern) in _COMPILED.items():
            if files and not fnmatchcase(path, files):
                continue
            found = pattern.search(body)
            if found and found.group("v") and not _WRITTEN.search(found.group("v")):
                body = body[:found.start("v")] + self._note(used, rule, found.group("v")) + body[found.end("v"):]
                break
        for value in self.known:
            body = _outside_tags(body, lambda text, v=value: text.replace(v, self._note(used, "tkalert-secret", v))
                                 if v in text else text)
        for rule, pattern in self.patterns.items():
            body = _outside_tags(body, lambda text, r=rule, p=pattern: p.sub(
                lambda m: _replace_group(m, self._note(used, r, _group(m))), text))
        return body + end

    def _note(self, used: list[str], rule: str, value: str) -> str:
        used.append(rule)
        return self._tag(rule, value)

    def _tag(self, rule: str, value: str) -> str:
        mark = hmac.new(self.key, f"{rule}\0{value}".encode("utf-8", "surrogatepass"), hashlib.sha256)
        return TAG.format(rule=rule, mark=mark.hexdigest()[:8])


def _outside_tags(text: str, change) -> str:
    """`change` applied to the parts of `text` that are not tags already written."""
    return "".join(part if index % 2 else change(part) for index, part in enumerate(_WRITTEN.split(text)))


def _group(match: re.Match) -> str:
    return match.group(1) if match.re.groups else match.group(0)


def _replace_group(match: re.Match, tag: str) -> str:
    if not match.re.groups:
        return tag
    whole, start = match.group(0), match.start(1) - match.start(0)
    return whole[:start] + tag + whole[start + len(match.group(1)):]


def configured_patterns(settings) -> dict[str, re.Pattern]:
    """`[redact] pattern.NAME = REGEX`: a bad expression is a config error naming the key."""
    raw = dict(settings.section("redact"))
    section = Section(raw, [k for k in raw if k.startswith("pattern.") and len(k) > 8], "redact",
                      getattr(settings, "path", None), hint="only pattern.NAME = REGEX keys; see tkalert.conf(5)")
    found = {}
    for key, value in raw.items():
        try:
            found[key[len("pattern."):]] = re.compile(value.strip())
        except re.error as exc:
            raise section.error(f"{key} is not a regular expression ({exc}): {value!r}") from None
    return found


def known_secrets(settings) -> tuple[str, ...]:
    """tkalert's own secrets that are already in memory: the auth key and inline destination secrets."""
    values = [settings.auth_key or ""]
    for destination in settings.destinations:
        values += [v for k, v in destination.options.items() if SECRET_OPTION.search(k) and not k.endswith("_file")]
    return tuple(v.strip() for v in values if v and v.strip())


def mark_key(directory: Path) -> bytes:
    """The local key of the change marks: 32 random bytes, made once (0600) and never sent."""
    path = Path(directory) / "redact.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(os.urandom(32))
        fh.flush()
        os.fsync(fh.fileno())
    return path.read_bytes()


def detect_secrets_scanner():
    """detect-secrets' line plugins and filters as a function (path, text, replace) -> text, or None when the
    package is not installed. It scans the text already redacted by the rules, so it only adds."""
    try:
        from detect_secrets.core import scan
        from detect_secrets.settings import default_settings
    except ImportError:
        return None

    def second_net(path: str, text: str, replace) -> str:
        lines = split_lines(text)
        with default_settings():
            found = list(scan._process_line_based_plugins(list(enumerate(lines, 1)), path))
        by_line: dict[int, set[tuple[str, str]]] = {}
        for secret in found:
            if secret.secret_value and "[redacted: " not in secret.secret_value:
                by_line.setdefault(secret.line_number, set()).add((secret.secret_value, secret.type))
        for number, secrets in by_line.items():
            parts = _WRITTEN.split(lines[number - 1])
            for value, kind in sorted(secrets, key=lambda s: len(s[0]), reverse=True):
                rule = "detect-secrets:" + kind.lower().replace(" ", "-")
                parts = _WRITTEN.split("".join(  # split again: the next value must not match in a new tag
                    part if index % 2 or value not in part else part.replace(value, replace(value, rule))
                    for index, part in enumerate(parts)))
            lines[number - 1] = "".join(parts)
        return "".join(lines)

    return second_net
