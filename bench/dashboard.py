"""Benchmark: the dashboard's fleet overview over 10,000 systems, in server time, on SQLite and on PostgreSQL.

A fleet is seeded through the ORM (tests/cast/fleet.py: 30 days of daily heartbeats per system, 10% overdue with
an open silence, every 7th with an open alert episode: 300,000 messages for 10,000 systems), then each page is
requested in-process through Django's full request path (middleware, session, login, the view, the template),
with no network in between: that is the server's time for the page. The median of --runs requests is printed
with the number of SQL queries, and as a ratio to the login page (a template and a session, no data) measured in
the same run. The goal is the first overview page of 10,000 systems under 1 s. Each database runs in a child
process of its own (Django is configured once per process); PostgreSQL is a private server on a free port
(tests/cast/postgres.py), skipped when PostgreSQL is not installed.

    python3 bench/dashboard.py [--systems 10000] [--runs 7] [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
PAGES = [
    ("login page (baseline)", "/login/", False),
    ("overview, page 1 of 100", "/", True),
    ("overview, page 50", "/?page=50", True),
    ("overview, overdue filter", "/?state=overdue", True),
    ("overview, contract + text", "/?contract=AK-0002&q=sys-004", True),
    ("system detail", "/systems/{pk}/", True),
    ("quarantine", "/quarantine/", True),
    ("API systems, page 1", "/api/v1/systems", "token"),
    ("/metrics", "/metrics", False),
]


def measure(client, path: str, runs: int, headers: dict) -> tuple[float, int]:
    from django.db import connection

    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        first = client.get(path, **headers)
    assert first.status_code == 200, (path, first.status_code)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(path, **headers)
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(executed)


def child(database: str, systems: int, runs: int) -> None:
    sys.path.insert(0, str(TESTS))
    from cast.fleet import seed_fleet

    from tkalert.receiver.config import load_config
    from tkalert.receiver.django_setup import migrate, start_django

    root = Path(tempfile.mkdtemp(prefix="tkalert-bench-dashboard-"))
    line = f"database = {database}\n" if database != "sqlite" else ""
    (root / "receiver.conf").write_text(f"[receiver]\nstate_dir = {root}\n{line}", encoding="utf-8")
    start_django(load_config(root / "receiver.conf"))
    migrate()
    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from tkalert.receiver.models import System
    from tkalert.receiver.web.roles import set_role
    from tkalert.receiver.web.tokens import make_token

    started = time.perf_counter()
    seed_fleet(systems, quarantined=200)
    print(f"  seeded {systems} systems, {systems * 30:,} heartbeats in {time.perf_counter() - started:.1f} s")
    user = User.objects.create_user("bench")
    set_role(user, "support")
    token = make_token("bench", user, timezone.now())
    client = Client()
    client.force_login(user)
    anonymous = Client()
    pk = System.objects.order_by("pk").values_list("pk", flat=True)[systems // 2]
    baseline = None
    for name, path, auth in PAGES:
        who = client if auth is True else anonymous
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if auth == "token" else {}
        seconds, queries = measure(who, path.format(pk=pk), runs, headers)
        baseline = baseline or seconds
        print(f"  {name:28s} {seconds * 1000:8.1f} ms  {queries:3d} queries  {seconds / baseline:6.1f} x login")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--child", metavar="DATABASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.systems, args.runs)
        return 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, __file__, "--systems", str(args.systems), "--runs", str(args.runs), "--child"]
    if args.database in ("sqlite", "both"):
        print(f"SQLite, {args.systems} systems (median of {args.runs} requests, server time):", flush=True)
        subprocess.run([*command, "sqlite"], env=env, check=True)
    if args.database in ("postgresql", "both"):
        sys.path.insert(0, str(TESTS))
        from cast.postgres import postgres_bin, postgres_server

        if postgres_bin() is None:
            print("PostgreSQL: not installed (scripts/install-receiver), skipped")
            return 0
        with postgres_server() as server:
            print(f"PostgreSQL, {args.systems} systems (median of {args.runs} requests, server time):", flush=True)
            subprocess.run([*command, server.create_database()], env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
