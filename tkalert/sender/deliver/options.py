"""Destination options: the strict reader every transport uses on its `[destination NAME]` section.

A transport declares the options it knows with their defaults; anything else in the section is a `ConfigError`
that names the key, the known keys and the fix, so a typo (`pasword_file`) never silently falls back to a
default. Values are converted here (whole numbers, seconds, yes/no, one of a few words, files relative to the
config file), so transports only ever see checked values.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tkalert.config.settings import Destination, Settings
from tkalert.errors import ConfigError

REQUIRED = object()  # default marker: the option has no default and must be given
YES = ("1", "yes", "true", "on")
NO = ("0", "no", "false", "off")


class DestinationOptions:
    def __init__(self, destination: Destination, settings: Settings, known: Mapping[str, object]):
        self.where = f"[destination {destination.name}]"
        self.base = settings.path.parent if settings.path else Path.cwd()
        unknown = sorted(set(destination.options) - set(known))
        if unknown:
            raise ConfigError(
                f"{self.where}: unknown {destination.transport} option {unknown[0]!r} "
                f"(known: {', '.join(sorted(known))}; check the spelling or the transport)"
            )
        self.values = {**{k: v for k, v in known.items() if v is not REQUIRED}, **dict(destination.options)}
        self.known = known

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        value = value.strip() if isinstance(value, str) and value.strip() else None
        if value is None and self.known.get(key) is REQUIRED:
            raise ConfigError(f"{self.where}: {key} is not set (add `{key} = ...` to the section)")
        return value

    def integer(self, key: str) -> int:
        value = self.text(key)
        if value is None or not value.isdigit():
            raise ConfigError(f"{self.where}: {key} must be a whole number, not {value!r}")
        return int(value)

    def seconds(self, key: str) -> float:
        value = self.text(key)
        try:
            seconds = float(value or "")
        except ValueError:
            seconds = -1.0
        if not seconds > 0:
            raise ConfigError(f"{self.where}: {key} must be a positive number of seconds, not {value!r}")
        return seconds

    def boolean(self, key: str) -> bool:
        value = (self.text(key) or "").lower()
        if value not in YES + NO:
            raise ConfigError(f"{self.where}: {key} must be yes or no, not {value!r}")
        return value in YES

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = (self.text(key) or "").lower()
        if value not in choices:
            raise ConfigError(f"{self.where}: {key} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def path(self, key: str) -> Path | None:
        value = self.text(key)
        return self.base / value if value else None

    def secret(self, key: str) -> str | None:
        """A secret read from the file the option names (never the secret itself in the config)."""
        path = self.path(key)
        if path is None:
            return None
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{self.where}: cannot read {key} {path}: {exc.strerror}") from None
        if not secret:
            raise ConfigError(f"{self.where}: {key} {path} is empty")
        return secret

    def error(self, text: str) -> ConfigError:
        return ConfigError(f"{self.where}: {text}")
