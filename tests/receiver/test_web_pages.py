"""The dashboard's pages, API and metrics over a seeded fleet (cast.fleet), in this process's Django: what a
support desk reads there is what the tables hold, and a page costs the same queries for 10 rows as for 100."""

from __future__ import annotations

import json
import re

import pytest
from cast.dashboard import client_for


def title(response) -> str:
    return re.search(rb"<title>(.*?)</title>", response.content).group(1).decode()


def systems_listed(response) -> list[str]:
    return re.findall(r'class="system" href="/systems/\d+/">([^<]+)<', response.content.decode())


def row_of(page, system_id: str) -> str:
    return next(row for row in page.content.decode().split("<tr")[1:] if f">{system_id}</a>" in row)


def test_the_overview_shows_every_column_and_the_overdue_count(django_receiver, fleet, readonly):
    client = client_for(readonly)
    page = client.get("/")
    assert title(page).startswith(f"({len(fleet.overdue)} overdue) Fleet")
    listed = systems_listed(page)
    assert len(listed) == 60 and listed[:len(fleet.overdue)] == sorted(fleet.overdue)  # silent longest first
    row = row_of(page, "sys-00000.acme.example")
    assert "overdue, stage" in row and "1 open" in row and "pinned …" in row and "AK-0001" in row
    assert row.count('class="c-miss"') == 3 and row.count('class="c-ok"') == 27  # silent for the last 3 days
    maint = row_of(page, "sys-00003.acme.example")
    assert "maintenance until" in maint and maint.count('class="c-maint"') == 2
    revoked = row_of(page, "sys-00001.acme.example")
    assert "AK-0002 <span class=\"bad\">invalid</span>" in revoked


@pytest.mark.parametrize("query, expect", [
    ("state=overdue", lambda s, f: s in f.overdue),
    ("state=alerting", lambda s, f: s in f.alerting),
    ("state=maintenance", lambda s, f: s in f.maintenance),
    ("contract=AK-0002", lambda s, f: int(s[4:9]) % 3 == 1),
    ("state=invalid", lambda s, f: int(s[4:9]) % 3 == 1),
    ("q=00042", lambda s, f: s == "sys-00042.acme.example"),
    ("q=globex", lambda s, f: int(s[4:9]) % 3 == 1),
    ("q=admin5", lambda s, f: s.startswith("sys-0005") or s == "sys-00005.acme.example"),
])
def test_filters(django_receiver, fleet, readonly, query, expect):
    listed = systems_listed(client_for(readonly).get(f"/?{query}"))
    assert listed and all(expect(name, fleet) for name in listed)
    everyone = [f"sys-{i:05d}.acme.example" for i in range(60)]
    assert sorted(listed) == sorted(name for name in everyone if expect(name, fleet))


def test_pages_of_a_hundred_and_no_query_per_row(django_receiver, web_db, readonly):
    from cast.fleet import seed_fleet
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seed_fleet(250)
    client = client_for(readonly)
    counts = []
    for query in ("?q=sys-0000", "", "?page=3"):  # 10 rows, 100 rows, the last 50
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/{query}")
        counts.append(len(queries))
        assert len(systems_listed(page)) == {"?q=sys-0000": 10, "": 100, "?page=3": 50}[query]
    assert counts[0] == counts[1] == counts[2] and counts[0] > 5, counts
    assert "page 3 of 3 (250)" in page.content.decode()


def test_a_system_page(django_receiver, fleet, readonly):
    from tkalert.receiver.models import Episode, Outbox, System

    system = System.objects.get(system_id="sys-00000.acme.example")
    episode = Episode.objects.get(system=system)
    Outbox.objects.create(key="e1-open", kind="mail", purpose="ticket-open", recipient="rt@vendor.example",
                          subject="90000-IPMI Sensors-CRITICAL- Service: Valid", episode=episode, system=system,
                          created_at=episode.opened_at, due_at=episode.opened_at, state="sent")
    page = client_for(readonly).get(f"/systems/{system.pk}/").content.decode()
    assert "overdue, stage 1" in page
    assert "IPMI Sensors" in page and "RT#1000" in page and "1 sent" in page
    assert "90000-IPMI Sensors-CRITICAL- Service: Valid" in page
    assert f"<code>{system.pinned_key}</code>" in page
    assert "latest -3 s; 30 days -3 s to -3 s" in page  # clock drift from the signed times
    assert page.count('class="c-ok"') == 27 and "hb-0-3" in page
    assert "<ul class=\"notices\">" not in page  # the messages received are not the page's notices
    assert client_for(readonly).get("/systems/999999/").status_code == 404


def test_reported_files_and_their_diffs(django_receiver, fleet, readonly):
    """#14's system page shows the reports received with their diffs: each file listed, and on its own page every
    version as a diff against the one before, a needs-full file flagged, markup in a file escaped."""
    from django.utils import timezone

    from tkalert.receiver.models import ReportFile, ReportFileVersion, System

    system, now = System.objects.get(system_id="sys-00001.acme.example"), timezone.now()
    first = 'object Host "web01" {\n  address = "10.0.0.1"\n}\n<script>alert(1)</script>\n'
    second = first.replace("10.0.0.1", "10.0.9.1")
    hosts = ReportFile.objects.create(system=system, path="/etc/icinga2/conf.d/hosts.conf", group="icinga2",
                                      kind="text", state="current", size=len(second), sha256="ab" * 32,
                                      content=second, changed_at=now, reported_at=now)
    for number, content in ((1, first), (2, second)):
        ReportFileVersion.objects.create(file=hosts, number=number, status="changed" if number > 1 else "new",
                                         state="current", content=content, received_at=now)
    ReportFile.objects.create(system=system, path="/etc/nagios4/nagios.cfg", kind="text", state="needs-full",
                              note="a diff against 01, stored is 02: a report was lost", changed_at=now,
                              reported_at=now)
    client = client_for(readonly)
    page = client.get(f"/systems/{system.pk}/").content.decode()
    assert f'href="/systems/{system.pk}/files/{hosts.pk}/">/etc/icinga2/conf.d/hosts.conf</a>' in page
    assert "needs a full report" in page and "a report was lost" in page
    shown = client.get(f"/systems/{system.pk}/files/{hosts.pk}/").content.decode()
    assert shown.index('id="v2"') < shown.index('id="v1"')  # newest first
    assert '<span class="del">-  address = &quot;10.0.0.1&quot;</span>' in shown
    assert '<span class="add">+  address = &quot;10.0.9.1&quot;</span>' in shown
    assert "The first report of it" in shown and "<script>alert" not in shown and "&lt;script&gt;" in shown
    other = System.objects.get(system_id="sys-00002.acme.example")
    assert client.get(f"/systems/{other.pk}/files/{hosts.pk}/").status_code == 404  # another system's file


def test_raw_download_is_the_bytes_received(django_receiver, fleet, readonly):
    from tkalert.receiver.models import Message

    number = fleet.quarantined[0]
    answer = client_for(readonly).get(f"/messages/{number}/raw")
    assert answer["Content-Type"] == "application/octet-stream"
    assert answer["Content-Disposition"] == f'attachment; filename="message-{number}.eml"'
    assert answer.content == bytes(Message.objects.get(pk=number).raw)


def test_quarantine_and_contracts_pages(django_receiver, fleet, support):
    client = client_for(support)
    page = client.get("/quarantine/").content.decode()
    assert "unknown-auth-key (2)" in page and "key-changed (2)" in page and "bad-signature (1)" in page
    assert page.count('name="id"') == 5 and 'value="retry"' in page
    only = client.get("/quarantine/?reason=key-changed").content.decode()
    assert only.count('name="id"') == 2 and "sys-00001.acme.example" in only
    contracts = client.get("/contracts/").content.decode()
    assert "revoked" in contracts and "Initech KG" in contracts and "receiver default" in contracts


@pytest.fixture
def token(web_db, readonly):
    from django.utils import timezone

    from tkalert.receiver.web.tokens import ApiToken, make_token

    made = make_token("nagios", readonly, timezone.now())
    assert ApiToken.objects.get().digest != made and made not in ApiToken.objects.get().digest
    return made


def api(path: str, token: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client_for().get(path, **headers)


def test_the_api_with_a_token(django_receiver, fleet, token):
    systems = json.loads(api("/api/v1/systems?state=overdue", token).content)
    assert systems["count"] == len(fleet.overdue) == systems["overdue"]
    first = systems["results"][0]
    assert first["system_id"] == "sys-00000.acme.example" and first["overdue"] and first["stage"] == 1
    assert first["open_episodes"] == 1 and len(first["heartbeat_days"]) == 30
    one = json.loads(api("/api/v1/systems/sys-00003.acme.example", token).content)
    assert one["maintenance_until"].endswith("Z") and one["contract"] == "AK-0001"
    episodes = json.loads(api("/api/v1/episodes?open=1", token).content)
    assert {e["system_id"] for e in episodes["results"]} == set(fleet.alerting)
    assert all(e["ticket"].startswith("RT#") for e in episodes["results"])
    held = json.loads(api("/api/v1/quarantine?reason=unknown-auth-key", token).content)
    assert held["count"] == 2 and {m["reason"] for m in held["results"]} == {"unknown-auth-key"}
    assert api("/api/v1/systems/nobody", token).status_code == 404


def test_the_api_refuses_wrong_revoked_and_session_access(django_receiver, fleet, token, readonly):
    from tkalert.receiver.web.tokens import ApiToken

    assert api("/api/v1/systems", token[:-1] + "x").status_code == 401
    assert api("/api/v1/systems", "").status_code == 401
    assert client_for(readonly).get("/api/v1/systems").status_code == 401  # a session is not a token
    assert api("/api/v1/systems", token).status_code == 200
    readonly.is_active = False
    readonly.save()
    assert api("/api/v1/systems", token).status_code == 401
    readonly.is_active = True
    readonly.save()
    ApiToken.objects.all().delete()
    assert api("/api/v1/systems", token).status_code == 401


def metrics(client) -> dict[str, float]:
    text = client.get("/metrics").content.decode()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line and not line.startswith("#")}


def test_metrics_from_an_allowed_address(django_receiver, fleet):
    from datetime import timedelta

    from django.utils import timezone

    from tkalert.receiver.models import Message, Outbox

    now = timezone.now()
    Outbox.objects.create(key="k1", kind="mail", purpose="stage", recipient="a@b.example", created_at=now -
                          timedelta(minutes=10), due_at=now)
    Message.objects.filter(pk=fleet.quarantined[0]).update(received_at=now - timedelta(seconds=4), processed_at=now)
    found = metrics(client_for(REMOTE_ADDR="127.0.0.1"))
    assert found['tkalert_receiver_messages{verdict="accepted"}'] == Message.objects.filter(verdict="accepted").count()
    assert found["tkalert_receiver_quarantine_size"] == 5
    assert found['tkalert_receiver_overdue_systems{stage="1"}'] + found[
        'tkalert_receiver_overdue_systems{stage="2"}'] == len(fleet.overdue)
    assert 590 < found["tkalert_receiver_outbox_oldest_age_seconds"] < 700
    assert found['tkalert_receiver_outbox{state="pending"}'] == 1
    assert found["tkalert_receiver_processing_latency_seconds_count"] >= 1
    assert client_for(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    assert client_for(REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 403


def test_metrics_elsewhere_with_a_token_or_a_login(django_receiver, fleet, token, readonly):
    assert client_for(REMOTE_ADDR="192.0.2.7").get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").status_code \
        == 200
    assert client_for(readonly, REMOTE_ADDR="192.0.2.7").get("/metrics").status_code == 200
