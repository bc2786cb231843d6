"""JSON text for the spool's files (entries, archive records, storm memory) without the json package.

json's encoder, decoder and scanner each import `re`, and `re` imports `enum`: about 8 ms of the notification
hook's start, for files of a few known shapes. The C accelerator that json itself runs on (`_json`) scans values
and escapes strings; this module only lays out the containers. `dumps` writes exactly what `json.dumps` writes
with the same `indent` (ASCII only, NaN and Infinity allowed); `loads` reads what `json.loads` reads, and hands
anything it does not take (a byte order mark, an encoding other than UTF-8, a damaged file) to `json.loads`,
which returns the value or raises its own `JSONDecodeError`, a `ValueError`.
"""

from __future__ import annotations

from _json import encode_basestring_ascii as _quoted
from _json import make_scanner

INFINITY = float("inf")
CONSTANTS = {"NaN": float("nan"), "Infinity": INFINITY, "-Infinity": -INFINITY}
WHITESPACE = " \t\n\r"  # JSON's four (RFC 8259 section 2); str.strip() would take more


class _Rules:
    """What json.JSONDecoder() hands its scanner by default."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = CONSTANTS.__getitem__


_scan = make_scanner(_Rules())


class _NotPlain(Exception):
    """A value of a type this writer does not lay out: json.dumps decides (and raises its TypeError)."""


def dumps(value, indent: int | None = None) -> str:
    parts: list[str] = []
    try:
        _write(value, parts, " " * indent if indent is not None else None, "\n")
    except _NotPlain:
        import json

        return json.dumps(value, indent=indent)
    return "".join(parts)


def loads(data: bytes | str):
    try:
        text = data.decode("utf-8", "surrogatepass") if isinstance(data, (bytes, bytearray)) else data
        start = len(text) - len(text.lstrip(WHITESPACE))
        value, end = _scan(text, start)
        if not text[end:].strip(WHITESPACE):
            return value
    except (StopIteration, ValueError):
        pass
    import json

    return json.loads(data)


def _write(value, parts: list[str], indent: str | None, newline: str) -> None:
    if isinstance(value, str):
        parts.append(_quoted(value))
    elif value is None or value is True or value is False:
        parts.append("null" if value is None else "true" if value else "false")
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        parts.append(_number(value))
    elif isinstance(value, (list, tuple)):
        _container(parts, "[", "]", [(None, item) for item in value], indent, newline)
    elif isinstance(value, dict):
        _container(parts, "{", "}", [(_key(key), item) for key, item in value.items()], indent, newline)
    else:
        raise _NotPlain


def _container(parts: list[str], opening: str, closing: str, items: list, indent: str | None, newline: str) -> None:
    if not items:
        parts.append(opening + closing)
        return
    inner = newline + indent if indent is not None else ""
    separator = "," + inner if indent is not None else ", "
    parts.append(opening + inner)
    for index, (key, item) in enumerate(items):
        if index:
            parts.append(separator)
        if key is not None:
            parts.append(_quoted(key) + ": ")
        _write(item, parts, indent, inner if indent is not None else newline)
    parts.append(newline if indent is not None else "")
    parts.append(closing)


def _key(key) -> str:
    """json.dumps' keys: text as it is; numbers, booleans and None as their JSON spelling; anything else refused."""
    if isinstance(key, str):
        return key
    if key is None or key is True or key is False:
        return "null" if key is None else "true" if key else "false"
    if isinstance(key, float):
        return _number(key)
    if isinstance(key, int):
        return int.__repr__(key)
    raise _NotPlain


def _number(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (INFINITY, -INFINITY):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)
