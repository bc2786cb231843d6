"""Who may see and change what: every URL the dashboard serves refuses strangers (walked from the URLconf, so a
new URL cannot skip this), a read-only user changes nothing anywhere, a cross-site POST is refused, sessions end,
cookies are secure over TLS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cast.dashboard import all_urls, client_for

# the only URLs a stranger may open: the login form and the static CSS it needs (the admin's login is the same)
PUBLIC = {"login", "admin:login", "static"}
STRANGER = "192.0.2.10"  # not in metrics_allow


@pytest.fixture(scope="module")
def every_url(django_receiver):
    return all_urls()


def test_the_walk_finds_the_dashboard_the_api_and_the_admin(every_url):
    names = {url.name for url in every_url}
    assert {"overview", "system", "quarantine", "quarantine-action", "contracts", "message-raw", "api-systems",
            "api-system", "api-episodes", "api-quarantine", "metrics", "admin:index",
            "admin:receiver_contract_change", "admin:auth_user_add"} <= names
    assert PUBLIC <= names
    assert len(every_url) > 40


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_stranger_is_refused_everywhere(django_receiver, web_db, method):
    """One test over all URL patterns: a redirect to a login form, 401 for the API, 403 for /metrics."""
    refused = {}
    client = client_for(REMOTE_ADDR=STRANGER)
    for url in all_urls():
        if url.name in PUBLIC:
            continue
        response = getattr(client, method)(url.path)
        location = response.get("Location", "")
        if url.name.startswith("api-"):
            ok = response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
        elif url.name == "metrics":
            ok = response.status_code == 403
        else:
            ok = response.status_code == 302 and location.startswith(("/login/", "/admin/login/"))
        if not ok:
            refused[str(url)] = (response.status_code, location)
    assert refused == {}


def test_the_public_urls_show_no_data(django_receiver, fleet):
    client = client_for(REMOTE_ADDR=STRANGER)
    page = client.get("/login/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    assert b"sys-00" not in page.content
    assert client.get("/static/web/dashboard.css").status_code == 200
    assert client.get("/static/").status_code == 404  # no directory listing


def snapshot():
    """Everything a change could touch: each table's rows (messages by state and verdict), users and groups."""
    from django.apps import apps

    from tkalert.receiver.models import Message

    counts = {model._meta.label: model.objects.count() for model in apps.get_models()
              if model._meta.label not in ("sessions.Session", "admin.LogEntry")}
    states = sorted(Message.objects.values_list("pk", "state", "verdict"))
    return counts, states


def test_a_read_only_user_changes_nothing_anywhere(django_receiver, fleet, readonly):
    from tkalert.receiver.models import Contract

    client = client_for(readonly)
    assert client.get("/").status_code == 200
    assert client.get("/quarantine/").status_code == 200
    assert b'name="action"' not in client.get("/quarantine/").content  # no buttons for the read-only
    before = snapshot()
    contract = Contract.objects.first()
    attempts = [{"action": "retry", "id": [str(n) for n in fleet.quarantined]},
                {"action": "drop", "reason": "key-changed"},
                {"auth_key": contract.auth_key, "customer": "changed", "legacy": "on", "created_at_0": "2026-01-01",
                 "created_at_1": "00:00:00", "username": "mallory", "password1": "x" * 16, "password2": "x" * 16}]
    assert client.post("/quarantine/action", attempts[0]).status_code == 403
    assert client.get("/admin/receiver/contract/").status_code == 302  # not staff: the admin sends it to log in
    accepted = set()
    for url in all_urls():  # (the walk ends with the user logged out: it posts to /logout/ too)
        for data in attempts:
            if client.post(url.path, data).status_code == 200:
                accepted.add(url.name)
    assert snapshot() == before
    assert accepted <= {"login", "admin:login"}  # the login forms, answering "wrong password"


def test_support_retries_and_drops_through_the_receivers_quarantine(django_receiver, fleet, support):
    from tkalert.receiver.models import Message

    client = client_for(support)
    first, second, *_ = fleet.quarantined
    answer = client.post("/quarantine/action", {"action": "retry", "id": [str(first)]}, follow=True)
    assert b"1 messages queued again" in answer.content
    assert Message.objects.get(pk=first).state == "stored" and Message.objects.get(pk=first).verdict == ""
    client.post("/quarantine/action", {"action": "drop", "id": [str(second)]})
    assert not Message.objects.filter(pk=second).exists()
    assert client.post("/quarantine/action", {"action": "retry", "id": [str(first)]}, follow=True).content.count(
        b"0 messages queued again") == 1  # no longer quarantined: queued once only


def test_a_cross_site_post_is_refused(django_receiver, fleet, support):
    from tkalert.receiver.models import Message

    target = fleet.quarantined[0]
    client = client_for(support, enforce_csrf_checks=True)
    page = client.get("/quarantine/")
    token = page.context["csrf_token"] if page.context else client.cookies["csrftoken"].value
    form = {"action": "retry", "id": [str(target)]}
    assert client.post("/quarantine/action", form).status_code == 403  # no token: what another site can send
    assert client.post("/quarantine/action", {**form, "csrfmiddlewaretoken": "x" * 32}).status_code == 403
    assert client.post("/quarantine/action", {**form, "csrfmiddlewaretoken": str(token)},
                       HTTP_ORIGIN="https://evil.example").status_code == 403
    assert Message.objects.get(pk=target).verdict == "quarantined"
    assert client.post("/quarantine/action", {**form, "csrfmiddlewaretoken": str(token)}).status_code == 302
    assert Message.objects.get(pk=target).state == "stored"


def test_an_expired_session_logs_out(django_receiver, web_db, support):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client = client_for(support)
    assert client.get("/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/")["Location"].startswith("/login/")


def test_sessions_end_and_cookies_are_secure_over_tls(tmp_path):
    from tkalert.receiver.config import load_config
    from tkalert.receiver.web.settings import web_settings

    def settings(extra: str) -> dict:
        (tmp_path / "receiver.conf").write_text(f"[receiver]\nstate_dir = {tmp_path}\n{extra}", encoding="utf-8")
        return web_settings(load_config(tmp_path / "receiver.conf"))

    plain = settings("web_listen = 127.0.0.1:8080\n")
    assert not plain["SESSION_COOKIE_SECURE"] and plain["SESSION_COOKIE_AGE"] == 8 * 3600
    assert plain["SESSION_EXPIRE_AT_BROWSER_CLOSE"]
    proxied = settings("web_listen = 127.0.0.1:8080\nweb_tls = proxy\nweb_session = 30m\n")
    assert proxied["SESSION_COOKIE_SECURE"] and proxied["CSRF_COOKIE_SECURE"]
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert proxied["SESSION_COOKIE_AGE"] == 1800
    assert (tmp_path / "web-secret").stat().st_mode & 0o777 == 0o600
    assert settings("")["SECRET_KEY"] == plain["SECRET_KEY"]  # one secret for every process of the receiver


@pytest.mark.parametrize("line, message", [
    ("web_tls = on", "web_tls = on needs certificate"),
    ("web_tls = maybe", "web_tls must be one of on, proxy, off"),
    ("metrics_allow = 10.0.0.0/8, somewhere", "metrics_allow must be addresses or networks"),
    ("web_listen = 8080", "web_listen must be HOST:PORT"),
])
def test_bad_dashboard_keys_are_one_clear_error(tmp_path, line, message):
    from tkalert.errors import ConfigError
    from tkalert.receiver.config import load_config

    (tmp_path / "receiver.conf").write_text(f"[receiver]\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "receiver.conf")


def test_the_admin_site_is_supports(django_receiver, fleet, support, readonly):
    from tkalert.receiver.models import Contract

    staff = client_for(support)
    assert staff.get("/admin/receiver/contract/").status_code == 200
    assert staff.get("/admin/auth/user/").status_code == 200
    contract = Contract.objects.get(auth_key="AK-0003")
    form = staff.get(f"/admin/receiver/contract/{contract.pk}/change/")
    assert form.status_code == 200 and b"Initech KG" in form.content
    assert staff.get("/admin/receiver/apitoken/add/").status_code == 403  # tokens come from the command only
    assert client_for(readonly).get("/admin/")["Location"].startswith("/admin/login/")


def test_the_dashboard_keys_cost_the_mta_pipe_nothing(tmp_path):
    """receiver.conf is read once per mail by the pipe: the dashboard's keys load nothing but their reader there
    (ipaddress comes with pathlib already)."""
    import subprocess
    import sys

    (tmp_path / "receiver.conf").write_text(f"[receiver]\nstate_dir = {tmp_path}\nweb_listen = 127.0.0.1:8080\n"
                                            "metrics_allow = 10.0.0.0/8\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "from tkalert.receiver.config import "
                           f"load_config; load_config({str(tmp_path / 'receiver.conf')!r})"],
                          capture_output=True, check=True)
    imported = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines()}
    assert "tkalert.receiver.web.options" in imported
    assert not {name for name in imported if name.startswith(("django", "tkalert.receiver.web.settings"))}
