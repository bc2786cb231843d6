"""Destination options: the strict reader every transport uses on its `[destination NAME]` section.

A transport declares the options it knows with their defaults; anything else in the section is a `ConfigError`
that names the key, the known keys and the fix, so a typo (`pasword_file`) never silently falls back to a
default. Values are converted by tkalert.config.fields, the reader every section shares (whole numbers and ports,
durations, yes/no, one of a few words, files relative to the config file, secret files), so transports only ever
see checked values.
"""

from __future__ import annotations

from _collections_abc import Mapping  # collections.abc without the collections package (hook path)

from tkalert.config.fields import REQUIRED, Section
from tkalert.config.settings import Destination, Settings

__all__ = ["REQUIRED", "DestinationOptions"]


class DestinationOptions(Section):
    def __init__(self, destination: Destination, settings: Settings, known: Mapping[str, object]):
        super().__init__(destination.options, known, f"destination {destination.name}", settings.path,
                         what=f"{destination.transport} option", hint="check the spelling or the transport")
