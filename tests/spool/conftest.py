"""Fixtures for the spool tests: a hand-moved clock and configs sending to the cast's SMTP server (smtp_sink)."""

from __future__ import annotations

import pytest
from cast.config import write_config

from tkalert.config.settings import load_settings

from .spoolkit import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site_config(tmp_path, smtp_sink):
    """make(sections=None, timeout=5) -> (config path, Settings) for a machine sending to `smtp_sink` (set its mode or
    delay to make the vendor's server refuse or dawdle)."""

    def make(sections=None, timeout: float = 5):
        path = write_config(tmp_path / "tkalert.conf", None, smtp_sink.port, tmp_path / "state", sections=sections,
                            timeout=timeout, spool_dir=tmp_path / "spool")
        return path, load_settings(path)

    return make


@pytest.fixture
def settings(site_config):
    return site_config()[1]
