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
