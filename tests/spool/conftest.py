"""Fixtures for the spool tests: a real SMTP server on a free port, a hand-moved clock, real config files."""

from __future__ import annotations

import pytest
from .spoolkit import Clock, Mailbox, write_config

from tkalert.config.settings import load_settings


@pytest.fixture
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site_config(tmp_path, mailbox):
    """make(sections=None, timeout=5) -> (config path, Settings) for a machine sending to `mailbox`."""

    def make(sections=None, timeout: float = 5):
        path = write_config(tmp_path, mailbox.port, sections, timeout)
        return path, load_settings(path)

    return make


@pytest.fixture
def settings(site_config):
    return site_config()[1]
