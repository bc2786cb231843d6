"""Benchmark: one escalation sweep over many systems, 1% of them overdue, on SQLite and on PostgreSQL.

N systems (generated rows, 10 contracts, default stages) are written straight into a fresh database, 1% with a
last heartbeat 50 h ago (due now), the rest 1 h ago (due in 49 h). One `sweep` (tkalert.receiver.escalate) then
fires the first stage for the overdue ones. Printed: the sweep's time; a baseline measured in the same run, the
index lookup alone (`SELECT id ... WHERE due_at <= now`), to show the sweep reads only due rows; and a second sweep
right after (nothing due: the cost of a sweep that finds nothing). Goal: the sweep <= 1 s.

    python3 bench/sweep.py [--systems 1000000] [--database postgresql://USER@HOST:PORT/NAME]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def setup(root: Path, database: str | None):
    from tkalert.receiver.config import load_config
    from tkalert.receiver.django_setup import migrate, start_django

    (root / "receiver.conf").write_text(f"[receiver]\nstate_dir = {root}\n"
                                        + (f"database = {database}\n" if database else ""), encoding="utf-8")
    config = load_config(root / "receiver.conf")
    start_django(config)
    migrate()
    return config


def generate(count: int) -> int:
    """The systems, written 20,000 at a time by one executemany (tkalert.receiver.outbox.insert_new)."""
    from django.db import connection, transaction

    from tkalert.receiver.models import Contract, System
    from tkalert.receiver.outbox import insert_new

    contracts = [Contract.objects.create(auth_key=f"bench-{n}", customer=f"Customer {n}", created_at=NOW).pk
                 for n in range(10)]
    overdue, rows = 0, []
    for n in range(count):
        late = n % 100 == 7
        overdue += late
        seen = NOW - timedelta(hours=50 if late else 1, seconds=n % 3600)
        rows.append({"system_id": f"sys-{n:07}", "contract": contracts[n % 10], "pinned_key": "", "public_key": "",
                     "last_seen": seen, "contact_name": "", "contact_mail": f"admin{n % 10}@customer.test",
                     "replays": 0, "due_at": seen + timedelta(hours=50)})
        if len(rows) == 20000 or n == count - 1:
            with transaction.atomic():
                insert_new(System, rows)
            rows = []
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return overdue


def timed(step):
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=1_000_000)
    parser.add_argument("--database", help="a postgresql:// URL of an empty database [SQLite in a scratch folder]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tkalert-bench-sweep-") as scratch:
        config = setup(Path(scratch), args.database)
        from tkalert.receiver.escalate import sweep
        from tkalert.receiver.models import Outbox, System

        made, overdue = timed(lambda: generate(args.systems))
        engine = config.database.engine
        print(f"{engine}: {args.systems:,} systems, {overdue:,} overdue, generated in {made:.1f} s")
        lookup, due = timed(lambda: len(list(System.objects.filter(due_at__lte=NOW).values_list("id", flat=True))))
        first, done = timed(lambda: sweep(config.act, NOW))
        again, _ = timed(lambda: sweep(config.act, NOW))
        assert due == overdue and done.fired == overdue == Outbox.objects.count(), (due, done, overdue)
        print(f"{engine}: index lookup of the {due:,} due rows {lookup * 1000:.0f} ms (baseline)")
        print(f"{engine}: sweep {first:.2f} s ({done.fired:,} stages fired, {first / overdue * 1e6:.0f} us each, "
              f"{first / max(lookup, 1e-9):.0f}x the lookup; goal <= 1 s: {'met' if first <= 1 else 'NOT met'})")
        print(f"{engine}: a sweep with nothing due {again * 1000:.1f} ms")


if __name__ == "__main__":
    main()
