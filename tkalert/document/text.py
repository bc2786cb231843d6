"""Make any caller-supplied string safe for an XML 1.0 document.

Plugin output is the least trusted input we have: it can hold `]]>` (which crashed TKalert 1.5's CDATA), control
characters, bytes that were not UTF-8 (Python hands them to us as lone surrogates), or a megabyte of text. We never
reject such input: characters XML 1.0 cannot carry become U+FFFD, and text past a field's limit is cut with a
marker that says how much was cut.
"""

from __future__ import annotations

REPLACEMENT = "\ufffd"

LIMITS = {
    "plugin-output": 65536,
    "perfdata": 65536,
}
DEFAULT_LIMIT = 1024
TRUNCATION_MARKER = " [tkalert: {} characters cut]"


def clean(value: str, field: str = "") -> str:
    """Return `value` with non-XML characters replaced and cut at the field's limit (in characters)."""
    value = xml_chars(value)
    limit = LIMITS.get(field, DEFAULT_LIMIT)
    if len(value) <= limit:
        return value
    cut = len(value) - limit
    return value[:limit] + TRUNCATION_MARKER.format(cut)


def xml_chars(value: str) -> str:
    """Return `value` with every character XML 1.0 cannot carry (lone surrogates too) replaced by U+FFFD."""
    if value.isprintable():  # printable text holds no character XML forbids: skip the regex (hook path)
        return value
    return _not_xml_char().sub(REPLACEMENT, value)


def _not_xml_char():
    """XML 1.0 section 2.2 Char: everything outside is replaced; lone surrogates come from undecodable argv bytes.
    Compiled on first use (re keeps it after that): importing re costs the hook about 5 ms, and most text never
    needs it."""
    import re

    return re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
