"""The dashboard as `tkalert-receiver serve` runs it (gunicorn on web_listen), over HTTP, on SQLite and on a real
PostgreSQL: users and tokens made by the commands, log in through the form, the overview of a seeded fleet,
filter, a system, retry a quarantined message, the API with the token, /metrics."""

from __future__ import annotations

import re

import pytest
import requests
from cast.dashboard import PASSWORD, csrf_field, serve_dashboard


@pytest.fixture
def dashboard(tmp_path, keys, database_url):
    made = serve_dashboard(tmp_path / "receiver", keys, database_url)
    yield made
    made.site.stop()


def title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html).group(1)


def test_the_served_dashboard(dashboard):
    url = dashboard.url
    assert requests.get(f"{url}/", timeout=30, allow_redirects=False).headers["Location"].startswith("/login/")
    support = dashboard.login("sam")
    overview = support.get(f"{url}/", timeout=30).text
    assert title(overview).startswith("(4 overdue) Fleet") and overview.count('class="system"') == 40
    overdue = support.get(f"{url}/?state=overdue", timeout=30).text
    assert re.findall(r'class="system" href="/systems/\d+/">([^<]+)<', overdue) == [
        f"sys-{i:05d}.acme.example" for i in (0, 10, 20, 30)]
    system = re.search(r'href="(/systems/\d+/)">sys-00000', overview).group(1)
    detail = support.get(f"{url}{system}", timeout=30).text
    assert "overdue, stage 1" in detail and "RT#1000" in detail
    page = support.get(f"{url}/quarantine/", timeout=30).text
    number = int(re.search(r'name="id" value="(\d+)"', page).group(1))
    done = support.post(f"{url}/quarantine/action", timeout=30, headers={"Referer": f"{url}/quarantine/"},
                        data={"action": "retry", "id": str(number), "csrfmiddlewaretoken": csrf_field(page)})
    assert "1 messages queued again" in done.text
    assert dashboard.site.rows("SELECT state, verdict FROM receiver_message WHERE id = ?", (number,)) == [
        ("stored", "")]


def test_the_served_api_and_metrics(dashboard):
    url, token = dashboard.url, dashboard.token
    assert token.startswith("tka_")
    stored = dashboard.site.rows("SELECT digest FROM receiver_apitoken")
    assert len(stored) == 1 and token not in stored[0][0]
    answer = requests.get(f"{url}/api/v1/systems?state=alerting", headers={"Authorization": f"Bearer {token}"},
                          timeout=30).json()
    assert answer["count"] == 6 and answer["overdue"] == 4
    assert requests.get(f"{url}/api/v1/systems", timeout=30).status_code == 401
    metrics = requests.get(f"{url}/metrics", timeout=30)
    assert metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "tkalert_receiver_quarantine_size 5" in metrics.text
    assert dashboard.site.ok("tokens", "revoke", "nagios") == "token nagios revoked\n"
    assert requests.get(f"{url}/api/v1/systems", headers={"Authorization": f"Bearer {token}"},
                        timeout=30).status_code == 401
    dashboard.login("sam")
    listed = dashboard.site.ok("users", "list")
    assert re.search(r"^rita\s+readonly\s+yes", listed, re.M) and re.search(r"^sam\s+support\s+yes\s+20", listed,
                                                                            re.M)


def test_the_read_only_user_served(dashboard):
    url = dashboard.url
    rita = dashboard.login("rita")
    page = rita.get(f"{url}/quarantine/", timeout=30).text
    assert 'value="retry"' not in page
    number = dashboard.site.rows("SELECT id FROM receiver_message WHERE verdict = 'quarantined'")[0][0]
    refused = rita.post(f"{url}/quarantine/action", timeout=30, headers={"Referer": f"{url}/quarantine/"},
                        data={"action": "drop", "id": str(number), "csrfmiddlewaretoken": csrf_field(page)})
    assert refused.status_code == 403
    assert dashboard.site.rows("SELECT verdict FROM receiver_message WHERE id = ?", (number,)) == [("quarantined",)]


def test_users_add_refuses_a_short_password_and_a_missing_file(tmp_path, keys):
    from cast.receiver import make_receiver

    site = make_receiver(tmp_path / "receiver", keys, trust=False, contract=False)
    short = tmp_path / "short"
    short.write_text("tiny\n", encoding="utf-8")
    done = site.run("users", "add", "sam", "--role", "support", "--password-file", str(short))
    assert done.returncode == 2 and b"too short" in done.stderr and len(done.stderr.splitlines()) == 1
    done = site.run("users", "add", "sam", "--role", "support", "--password-file", str(tmp_path / "nowhere"))
    assert done.returncode == 78 and len(done.stderr.splitlines()) == 1
    done = site.run("tokens", "add", "x", "--user", "nobody")
    assert done.returncode == 2 and b"no user 'nobody'" in done.stderr
    assert PASSWORD  # the cast's password is long enough for the validator


def test_the_dashboard_over_tls_marks_its_cookies_secure(tmp_path, keys, certificate):
    made = serve_dashboard(tmp_path / "receiver", keys, systems=5, certificate=certificate)
    try:
        assert made.url.startswith("https://")
        form = requests.get(f"{made.url}/login/", verify=made.verify, timeout=30)
        assert "Secure" in form.headers["Set-Cookie"] and "csrftoken" in form.headers["Set-Cookie"]
        session = made.login("sam")
        cookie = next(c for c in session.cookies if c.name == "tkalert_session")
        assert cookie.secure and cookie.has_nonstandard_attr("HttpOnly")
        assert "5 systems" in session.get(f"{made.url}/", timeout=30, verify=made.verify).text
        with pytest.raises(requests.ConnectionError):
            requests.get(made.url.replace("https:", "http:") + "/login/", timeout=10)
    finally:
        made.site.stop()
