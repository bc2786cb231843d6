"""Template: the commented config `tkalert init` writes, and the one-key edits it makes to a config later.

An admin's config is theirs: its comments, order and spacing stay as they are. `set_value` changes one line (the
key's own, or its commented-out example, which it replaces) or adds the key under its section's header; every
other line is kept byte for byte. The result is read back by tkalert.config.settings before it is written.
"""

from __future__ import annotations

import re

TEMPLATE = """\
# tkalert's configuration, written by 'tkalert init': every key is in tkalert.conf(5).
# Lines starting with ; or # are comments. Check the set-up with: tkalert test

[tkalert]
;auth_key_file = auth_key          ; the contract's auth key, in a file next to this one (or $TKALERT_AUTH_KEY)
;contact_person = Jane Admin
;contact_mail = jane@example.com
;destinations = vendor
state_dir = {state_dir}
spool_dir = {spool_dir}
# The system id is kept in state_dir/system-id (made once by tkalert init); a value here wins over it.
;system_id =

[gnupg]
# gpg writes its trustdb, locks and agent sockets in its home, so it lives with the state.
home = {home}
# Pinned by tkalert init --vendor-key FILE (40-digit fingerprints; the keyring alone is never trusted):
;vendor_keys =
# This system's signing key, made by tkalert init:
;system_key =

[report]
# The daily system report (tkalert report): which files, and how much of them.
;products = icinga2 nagios4 zabbix6
;files =
;max_file_size = 1048576

;[redact]
;pattern.NAME = a regular expression; its group 1 (or the whole match) becomes [redacted: NAME]

;[categories]
;heartbeat = on
;alerts = on
;report = on

;[destination vendor]
;transport = smtp
;host = localhost
;port = 25
;mail_to = callhome@vendor.example
"""

_HEADER = re.compile(r"\s*\[([^\]]+)\]\s*$")


def render_template(state_dir, spool_dir, home) -> str:
    return TEMPLATE.format(state_dir=state_dir, spool_dir=spool_dir, home=home)


def set_value(text: str, section: str, key: str, value: str) -> str:
    """`text` with `key = value` in `[section]`: the key's line replaced, else its commented example, else added
    under the header (the section is appended when the file has none)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _header(line) == section), None)
    new_line = f"{key} = {value}\n"
    if start is None:
        tail = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{tail}\n[{section}]\n{new_line}"
    end = next((i for i in range(start + 1, len(lines)) if _header(lines[i]) is not None), len(lines))
    for pattern in (rf"\s*{re.escape(key)}\s*[=:]", rf"\s*[;#]\s*{re.escape(key)}\s*[=:]"):
        found = next((i for i in range(start + 1, end) if re.match(pattern, lines[i])), None)
        if found is not None:
            lines[found] = new_line
            return "".join(lines)
    lines.insert(start + 1, new_line)
    return "".join(lines)


def _header(line: str) -> str | None:
    match = _HEADER.match(line)
    return match.group(1).strip() if match else None
