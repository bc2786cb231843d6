"""Fixtures for the receiver's tests: a receiver site on SQLite and on PostgreSQL (the same tests run on both),
the cast's sender pointed at it, and an in-process Django on a scratch SQLite database for the judge's tests."""

from __future__ import annotations

import pytest
from cast.config import write_config
from cast.dashboard import fleet, readonly, support, web_db  # noqa: F401 (the dashboard's fixtures)
from cast.receiver import make_receiver


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str | None:
    """None for SQLite (the default: a file in the site's state_dir), a fresh database's URL for PostgreSQL."""
    return request.getfixturevalue("postgres_url") if request.param == "postgresql" else None


@pytest.fixture
def make_site(tmp_path, keys):
    """A factory: make_site(database_url=None, name="receiver", **make_receiver's options) -> an initialised
    cast.receiver.ReceiverSite; every one stopped afterwards (its serve processes and its gpg-agent)."""
    made = []

    def make(database_url=None, name="receiver", **options):
        made.append(make_receiver(tmp_path / name, keys, database_url, **options))
        return made[-1]

    yield make
    for site in made:
        site.stop()


@pytest.fixture
def site(make_site, database_url):
    """An initialised receiver with the cast's contract and the cast's system key registered."""
    return make_site(database_url)


@pytest.fixture
def sender(tmp_path, keys, site, monkeypatch):
    """The cast's tkalert.conf sending by SMTP to the site's listener; TKALERT_CONFIG points at it."""
    path = write_config(tmp_path / "tkalert.conf", keys, site.smtp_port, tmp_path / "sender-state")
    monkeypatch.setenv("TKALERT_CONFIG", str(path))
    monkeypatch.delenv("TKALERT_AUTH_KEY", raising=False)
    return path


@pytest.fixture(scope="session")
def django_receiver(tmp_path_factory):
    """Django in this process, on a scratch SQLite database, migrated (the judge and worker tests)."""
    from tkalert.receiver.config import load_config
    from tkalert.receiver.django_setup import migrate, start_django

    root = tmp_path_factory.mktemp("django-receiver")
    (root / "receiver.conf").write_text(f"[receiver]\nstate_dir = {root / 'state'}\nclaim_lease = 30s\n",
                                        encoding="utf-8")
    (root / "state").mkdir()
    config = load_config(root / "receiver.conf")
    start_django(config)
    migrate()
    return config


@pytest.fixture
def db(django_receiver):
    """The in-process database, emptied after each test."""
    yield django_receiver
    from tkalert.receiver.models import Contract, Message, System

    Message.objects.all().delete()
    System.objects.all().delete()
    Contract.objects.all().delete()
