"""Fixtures for every test folder, built from the cast (tests/cast): real gpg keys in fresh homes, real SMTP
servers on ports the kernel picks, trustme certificates, config files."""

from __future__ import annotations

import pytest
from cast.config import write_config
from cast.keys import Keys, make_keys
from cast.ports import refused_port as _refused_port
from cast.postgres import PostgresServer, postgres_server
from cast.smtp import Certificate, SmtpServer
from cast.smtp import smtp_server as _smtp_server


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> Keys:
    found = make_keys(tmp_path_factory.mktemp("gpg"))
    yield found
    found.close()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Certificate:
    return Certificate.issue(tmp_path_factory.mktemp("ca-good"))


@pytest.fixture(scope="session")
def other_certificate(tmp_path_factory) -> Certificate:
    return Certificate.issue(tmp_path_factory.mktemp("ca-other"))


@pytest.fixture
def smtp_server(certificate):
    """A factory: smtp_server(security=none|starttls|smtps, auth=False, xoauth2=False, reply=None, cert=certificate)
    -> a started cast.smtp.SmtpServer; all stopped afterwards."""
    started: list[SmtpServer] = []

    def start(security="none", auth=False, xoauth2=False, reply=None, cert: Certificate = certificate,
              port: int = 0) -> SmtpServer:
        server = _smtp_server(security, auth, xoauth2, reply, cert, port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp_sink(smtp_server) -> SmtpServer:
    """A plain SMTP server that accepts everything."""
    return smtp_server()


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """One private PostgreSQL server for the session (tests.cast.postgres); each test makes its own database with
    postgres.create_database()."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres) -> str:
    """The URL of a fresh, empty database on the session's private PostgreSQL server."""
    return postgres.create_database()


@pytest.fixture
def refused_port():
    """A port where a connection is refused at once (bound, never listening)."""
    with _refused_port() as port:
        yield port


@pytest.fixture
def config(tmp_path, keys, smtp_sink, monkeypatch):
    """A complete config sending to the test's SMTP sink; TKALERT_CONFIG points at it."""
    path = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, tmp_path / "state")
    monkeypatch.setenv("TKALERT_CONFIG", str(path))
    monkeypatch.delenv("TKALERT_AUTH_KEY", raising=False)
    return path
