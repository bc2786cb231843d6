"""What the dashboard's tests share: Django's test client on the session's scratch database
(tests/receiver/conftest.py's `db`), a seeded fleet, the named users of both roles, and every URL the dashboard
serves, walked from its URLconf (so a new URL is in every parametrized test without anyone adding it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Url:
    name: str
    path: str

    def __str__(self):
        return f"{self.name} {self.path}"


SAMPLES = ("1", "receiver", "x")


def sample_piece(regex: str) -> str:
    """A concrete path piece the pattern's regex matches (Django's own reverse() helper writes the format)."""
    from django.utils.regex_helper import normalize

    for form, params in normalize(regex):
        for value in SAMPLES:
            text = form % {name: value for name in params}
            if re.match(regex, text):
                return text
    raise AssertionError(f"no sample path for {regex!r}")


def all_urls(patterns=None, prefix: str = "", namespace: str = "") -> list[Url]:
    from django.urls import URLResolver, get_resolver

    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        piece = prefix + sample_piece(pattern.pattern.regex.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found += all_urls(pattern.url_patterns, piece, inner)
        else:
            found.append(Url(f"{namespace}{pattern.name or pattern.lookup_str}", "/" + piece))
    return found


@pytest.fixture
def web_db(db):
    """The scratch database with the dashboard's rows emptied after the test too (users, groups, tokens, fleet)."""
    from django.contrib.auth.models import Group, User
    from django.test import override_settings

    # PBKDF2's million rounds are the point in production and only cost here: every test makes and logs in users
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield db
    from tkalert.receiver.models import Episode, Maintenance, Outbox, Silence

    for model in (Outbox, Episode, Silence, Maintenance, User, Group):
        model.objects.all().delete()


@pytest.fixture
def fleet(web_db):
    from cast.fleet import seed_fleet

    return seed_fleet(60)


def make_user(name: str, role: str):
    from django.contrib.auth.models import User

    from tkalert.receiver.web.roles import set_role

    user = User.objects.create_user(name, password=PASSWORD)
    set_role(user, role)
    return user


@pytest.fixture
def support(web_db):
    return make_user("sam.support", "support")


@pytest.fixture
def readonly(web_db):
    return make_user("rita.readonly", "readonly")


def client_for(user=None, **kwargs):
    from django.test import Client

    client = Client(**kwargs)
    if user is not None:
        assert client.login(username=user.username, password=PASSWORD)
    return client


@dataclass
class Dashboard:
    """A receiver site whose `serve` runs the dashboard on a free port, over a seeded fleet, with one user of each
    role (password PASSWORD) and an API token for the read-only one."""

    site: object
    url: str
    token: str
    verify: object = True  # the CA file when served over TLS

    def login(self, name: str = "sam"):
        """A requests session logged in through the login form, as a browser would (CSRF cookie and field)."""
        import requests

        session = requests.Session()
        # per request: a session's own `verify` loses to REQUESTS_CA_BUNDLE in the environment
        form = session.get(f"{self.url}/login/", timeout=30, verify=self.verify)
        answer = session.post(f"{self.url}/login/", timeout=30, verify=self.verify, data={
            "username": name, "password": PASSWORD, "next": "/",
            "csrfmiddlewaretoken": csrf_field(form.text)}, headers={"Referer": f"{self.url}/login/"})
        assert answer.url == f"{self.url}/", answer.text[:500]
        return session


def csrf_field(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def serve_dashboard(root, keys, database_url=None, systems: int = 40, certificate=None) -> Dashboard:
    """With `certificate` (cast.smtp.Certificate) the dashboard speaks TLS (web_tls's default with a certificate)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from cast.ports import free_port
    from cast.receiver import make_receiver, wait_for_port

    port = free_port()
    tls = "" if certificate else "web_tls = off\n"
    site = make_receiver(root, keys, database_url, trust=False, certificate=certificate,
                         extra=f"web_listen = 127.0.0.1:{port}\n{tls}")
    tests = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])
    seeded = subprocess.run([sys.executable, "-m", "cast.fleet", str(site.config), str(systems)], cwd=tests,
                            env={**os.environ, "PYTHONPATH": path}, capture_output=True, timeout=300, check=False)
    assert seeded.returncode == 0, seeded.stderr.decode(errors="replace")
    password = root / "password"
    password.write_text(PASSWORD + "\n", encoding="utf-8")
    site.ok("users", "add", "sam", "--role", "support", "--password-file", str(password))
    site.ok("users", "add", "rita", "--role", "readonly", "--password-file", str(password))
    token = site.ok("tokens", "add", "nagios", "--user", "rita").strip()
    process = site.serve()
    wait_for_port(port, process, root / "serve.log")
    scheme = "https" if certificate else "http"
    return Dashboard(site, f"{scheme}://127.0.0.1:{port}", token, str(certificate.ca_file) if certificate else True)
