"""Fields: the one strict reader of config values; every section of the config file is read through it.

Each reader takes the raw text, the key and where it came from (`FILE [SECTION]`) and returns the checked value,
or raises `ConfigError` with one line that names where, the key, the bad value and what is accepted:

  switches   yes/no, true/false, on/off, 1/0, any case (the same words in every section and for --enabled)
  durations  a number with an optional unit s, m, h, d or w: 90s, 5m, 2h, 7d, 2w; a bare number is seconds,
             decimals allowed; above 0 unless the key allows 0
  integers   whole numbers in a range (a port is 1-65535)
  choices    one of a few words, any case
  secrets    a file holding the secret (surrounding whitespace stripped): unreadable, not UTF-8 or empty is an error

`Section` binds the readers to one section, refuses the keys it does not know (suggesting the close one) and
resolves file names relative to the config file. Only cheap standard modules are imported here: the notification
hook loads this module on every call, and `re` and `pathlib` (with the `enum`, `fnmatch` and `urllib.parse` they
load) cost it about 10 ms of its 25, so durations are scanned by hand and file names are text (os.path) until a
caller asks for a `Path`.
"""

from __future__ import annotations

import os
from _collections_abc import Collection, Mapping  # collections.abc without the collections package (hook path)

from tkalert.errors import ConfigError

TRUE = ("yes", "true", "on", "1")
FALSE = ("no", "false", "off", "0")
SWITCH_WORDS = "yes/no, true/false, on/off, 1/0"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION_EXAMPLES = "90s, 5m, 2h, 7d or 2w; a bare number is seconds"
PORTS = (1, 65535)
REQUIRED = object()  # a default that says: the key has none and must be given
_ABSENT = object()


def place(file: str | os.PathLike | None, section: str) -> str:
    """`FILE [SECTION]`, the start of every message about a value."""
    return f"{file} [{section}]" if file else f"[{section}]"


def truth(value: str) -> bool | None:
    """True or False for a switch word, None for anything else."""
    word = value.strip().lower()
    return True if word in TRUE else False if word in FALSE else None


def boolean(value: str, key: str, where: str, spelled: str = "yes or no") -> bool:
    """A switch; `spelled` is how the man page writes this key's two values (the message suggests them)."""
    flag = truth(value)
    if flag is None:
        raise ConfigError(f"{where}: {key} must be {spelled} (any of {SWITCH_WORDS}, any case), not {value!r}")
    return flag


def moment(text: str, now: float, option: str = "--until") -> float:
    """Epoch seconds of `2026-12-24T08:00[:00]` (UTC, a trailing Z allowed), `2026-12-24` or a duration from `now`
    (`4h`); ConfigError naming `option` otherwise."""
    from calendar import timegm
    from time import strptime

    given = text.strip().removesuffix("Z")
    for layout in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return float(timegm(strptime(given, layout)))
        except ValueError:
            continue
    try:
        return now + duration(text, option, "command line")
    except ConfigError:
        raise ConfigError(f"{option} must be a UTC time (2026-12-24T08:00) or a duration (4h), not {text!r}") \
            from None


def duration(value: str, key: str, where: str, positive: bool = True) -> float:
    """Seconds from `90`, `90s`, `1.5m`, `2h`, `7d` or `2w`; 0 only when not `positive`."""
    number, unit = _number_and_unit(value.strip())
    seconds = float(number) * UNITS[unit] if number else None
    if seconds is None or (positive and seconds == 0):
        bound = " above 0" if positive else ""
        raise ConfigError(f"{where}: {key} must be a duration{bound} ({DURATION_EXAMPLES}), not {value!r}")
    return seconds


def _number_and_unit(text: str) -> tuple[str | None, str]:
    """`1.5 m` -> ("1.5", "m"): digits with at most one decimal point (`30.` and `.5` too; no sign, no exponent),
    then optional whitespace and one unit letter; (None, "s") for anything else."""
    unit = text[-1:] if text[-1:] in UNITS else ""
    number = text[: len(text) - len(unit)].rstrip() if unit else text
    whole, _, fraction = number.partition(".")
    digits = whole + fraction
    if not digits or not (whole.isdecimal() or not whole) or not (fraction.isdecimal() or not fraction):
        return None, "s"
    return number, unit or "s"


def integer(value: str, key: str, where: str, low: int = 0, high: int | None = None) -> int:
    """A whole number from `low` to `high` (no upper bound when None)."""
    text = value.strip()
    number = int(text) if text.isascii() and text.isdigit() else None
    if number is None or number < low or (high is not None and number > high):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ConfigError(f"{where}: {key} must be a whole number {span}, not {value!r}")
    return number


def choice(value: str, key: str, where: str, choices: Collection[str]) -> str:
    """One of `choices` (lowercase words), whatever the case it was written in."""
    word = value.strip().lower()
    if word not in choices:
        raise ConfigError(f"{where}: {key} must be one of {', '.join(choices)}, not {value!r}")
    return word


def secret(path: str | os.PathLike, key: str, where: str) -> str:
    """The secret a `*_file` key names: the file's text without surrounding whitespace; never empty."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {key} {path}: {exc.strerror or exc} "
                          "(name an existing file this user may read)") from None
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: {key} {path} is not UTF-8 text (write the secret as plain text)") from None
    if not text:
        raise ConfigError(f"{where}: {key} {path} is empty (write the secret into it)")
    return text


def refuse_unknown(values: Collection[str], known: Collection[str], section: str,
                   file: str | os.PathLike | None = None,
                   what: str = "key", hint: str = "see tkalert.conf(5)") -> None:
    """A key the section does not know is a typo: name it, the close known one and all known ones."""
    unknown = sorted(set(values) - set(known))
    if not unknown:
        return
    from difflib import get_close_matches  # only on the way to an error: the hook never pays for it

    close = get_close_matches(unknown[0], sorted(known), n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    prefix = f"{file}: " if file else ""
    raise ConfigError(f"{prefix}unknown {what} {unknown[0]!r} in [{section}] "
                      f"({guess}known: {', '.join(sorted(known))}; {hint})")


class Section:
    """One config section read strictly: unknown keys refused at once, each value checked when it is read.

    `known` is the keys, or a mapping of key to its default as config text (converted like a written value),
    None for no default or `REQUIRED`. A reader's `default` is used only when the key is absent: a key written
    with an empty or a bad value is an error, so a typo never falls back to a default.
    """

    def __init__(self, values: Mapping[str, str], known: Collection[str] | Mapping[str, object], name: str,
                 file: str | os.PathLike | None = None, *, base: str | os.PathLike | None = None,
                 where: str | None = None,
                 what: str = "key", hint: str = "see tkalert.conf(5)"):
        refuse_unknown(values, known, name, file, what, hint)
        defaults = known if isinstance(known, Mapping) else {}
        self.required = {key for key, value in defaults.items() if value is REQUIRED}
        self.values = {**{k: v for k, v in defaults.items() if isinstance(v, str)}, **values}
        self.where = where or place(file, name)
        # the directory relative file names start from, as text: pathlib is imported only by `path()`
        self.base = os.fspath(base) if base is not None else os.path.dirname(os.fspath(file)) if file else os.getcwd()

    def error(self, text: str) -> ConfigError:
        return ConfigError(f"{self.where}: {text}")

    def text(self, key: str) -> str | None:
        """The value stripped; None when absent or empty (an error when the key is `REQUIRED`)."""
        value = (self.values.get(key) or "").strip() or None
        if value is None and key in self.required:
            raise self.error(f"{key} is not set (add `{key} = ...` to the section)")
        return value

    def boolean(self, key: str, default=_ABSENT, spelled: str = "yes or no") -> bool:
        return self._read(key, default, lambda value: boolean(value, key, self.where, spelled))

    def duration(self, key: str, default=_ABSENT, positive: bool = True) -> float:
        return self._read(key, default, lambda value: duration(value, key, self.where, positive))

    def integer(self, key: str, default=_ABSENT, low: int = 0, high: int | None = None) -> int:
        return self._read(key, default, lambda value: integer(value, key, self.where, low, high))

    def port(self, key: str, default=_ABSENT) -> int:
        return self.integer(key, default, *PORTS)

    def choice(self, key: str, choices: Collection[str], default=_ABSENT) -> str:
        return self._read(key, default, lambda value: choice(value, key, self.where, choices))

    def path(self, key: str, default=None):
        """A file or directory name, relative to the config file's directory, as a `Path`."""
        name = self.filename(key)
        if name is None:
            return default
        from pathlib import Path

        return Path(name)

    def filename(self, key: str, default=None):
        """The same file name as `path()`, as text (os.path): for the notification hook, which never loads pathlib."""
        value = self.text(key)
        return os.path.join(self.base, value) if value else default

    def secret(self, key: str) -> str | None:
        """The secret in the file the key names; None when the key is not set."""
        path = self.filename(key)
        return secret(path, key, self.where) if path is not None else None

    def _read(self, key: str, default, convert):
        value = self.values.get(key)
        if value is not None:
            return convert(value)
        if default is _ABSENT:
            raise self.error(f"{key} is not set (add `{key} = ...` to the section)")
        return default
