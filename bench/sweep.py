"""Benchmark: one escalation sweep over many systems, 1% of them overdue, on SQLite and on PostgreSQL.

N systems (generated rows, 10 contracts, default stages) are written straight into a fresh database, 1% with a
last heartbeat 50 h ago (due now), the rest 1 h ago (due in 49 h); their due rows in due-time order, as a running
receiver writes them (each when its system's previous one was taken, or at its first heartbeat). One `sweep`
(tkalert.receiver.escalate) then fires the first stage for the overdue ones: a silence and a customer mail in the
outbox each, and a new due row. The databases are durable, as in production: SQLite's synchronous=FULL (the
receiver's setting) and PostgreSQL with fsync, synchronous commits and full-page writes on, checkpointed just before
the sweep (so its first change of every page is written whole into the WAL, as after any checkpoint).
Printed per database: the sweep's wall time and its CPU time, this process's and the PostgreSQL backend's (SQLite
works inside this process; on a shared machine the CPU time is the steadier figure), and, measured in the same
run, two baselines: the index lookup alone (`SELECT system_id ... WHERE due_at <= now`), to show the sweep reads
only due rows, and the least any sweep must write (the same due rows taken and written, silences and outbox rows by
plain set-wise SQL, no planning, rolled back instead of committed; the better of two); then a second sweep right
after (nothing due).
Goal: the sweep <= 1 s.
Each database runs in a child process of its own (Django is configured once per process); PostgreSQL is a
private server on a free port (tests/cast/postgres.py), skipped when PostgreSQL is not installed.

    python3 bench/sweep.py [--systems 1000000] [--database sqlite|postgresql|both|postgresql://USER@HOST/NAME]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
SYSTEM_FIELDS = ("system_id", "contract", "pinned_key", "public_key", "last_seen", "contact_name", "contact_mail",
                 "replays")


def setup(root: Path, database: str):
    from tkalert.receiver.config import load_config
    from tkalert.receiver.django_setup import migrate, start_django

    line = f"database = {database}\n" if database != "sqlite" else ""
    (root / "receiver.conf").write_text(f"[receiver]\nstate_dir = {root}\n{line}", encoding="utf-8")
    config = load_config(root / "receiver.conf")
    start_django(config)
    migrate()
    return config


def generate(count: int) -> int:
    """The systems, written 20,000 at a time (tkalert.receiver.bulk.insert_new)."""
    from django.db import connection, transaction

    from tkalert.receiver.bulk import insert_new
    from tkalert.receiver.models import Contract, DueTime, System

    contracts = [Contract.objects.create(auth_key=f"bench-{n}", customer=f"Customer {n}", created_at=NOW).pk
                 for n in range(10)]
    overdue, rows = 0, []
    for n in range(count):
        late = n % 100 == 7
        overdue += late
        seen = NOW - timedelta(hours=50 if late else 1, seconds=n % 3600)
        rows.append((f"sys-{n:07}", contracts[n % 10], "", "", seen, "", f"admin{n % 10}@customer.test", 0))
        if len(rows) == 20000 or n == count - 1:
            with transaction.atomic():
                insert_new(System, SYSTEM_FIELDS, rows)
            rows = []
    due = sorted((seen + timedelta(hours=50), pk) for pk, seen in System.objects.values_list("id", "last_seen"))
    for start in range(0, len(due), 20000):
        with transaction.atomic():
            insert_new(DueTime, ("system", "due_at"), [(pk, when) for when, pk in due[start:start + 20000]])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return overdue


def least_write(now: datetime) -> None:
    """The writes any sweep of these systems needs, as plain set-wise SQL in one transaction (rolled back): the due
    rows taken, the systems read, a silence opened, a mail queued and a new due row per system."""
    from django.db import connection, transaction

    from tkalert.receiver.bulk import insert_new, select_in
    from tkalert.receiver.escalate import OUTBOX, take_due
    from tkalert.receiver.models import DueTime, Outbox, Silence

    with transaction.atomic():
        due = select_in("SELECT id, system_id, last_seen, contact_mail FROM receiver_system WHERE {where}", "id",
                        take_due(now, 10**9))
        insert_new(DueTime, ("system", "due_at"), [(pk, seen + timedelta(hours=75)) for pk, _, seen, _ in due])
        born = dict(insert_new(Silence, ("system", "last_seen", "opened_at", "stage", "stage_at", "repeats"),
                               [(pk, seen, now, 1, now, 0) for pk, _, seen, _ in due], returning=("system_id", "id")))
        insert_new(Outbox, OUTBOX, [(f"silence:{born[pk]}:stage:1", "mail", "stage", mail,
                                     f"tkalert reminder: no heartbeat from {name}", f"Dear customer, {name}", {}, now,
                                     now, "pending", "", 0, "", born[pk], pk) for pk, name, _, mail in due])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # any foreign keys are checked at commit
        transaction.set_rollback(True)


def tidy() -> None:
    """PostgreSQL keeps what the rolled-back least writes wrote as dead rows and index entries: vacuumed away, so
    the sweep finds the tables as they were generated; then a checkpoint, so the sweep pays for the whole pages a
    running server writes after each one (every 5 min by default)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE receiver_system, receiver_duetime, receiver_silence, receiver_outbox")
            cursor.execute("CHECKPOINT")


def server_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend so far, from /proc (0 on SQLite or a remote server)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(step):
    """(wall seconds, CPU seconds here and in the database server, the step's result)"""
    start, cpu, server = time.perf_counter(), time.process_time(), server_cpu()
    result = step()
    return time.perf_counter() - start, time.process_time() - cpu + server_cpu() - server, result


def child(database: str, systems: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tkalert-bench-sweep-") as scratch:
        measure(setup(Path(scratch), database), systems)


def measure(config, systems: int) -> None:
    from tkalert.receiver.escalate import sweep
    from tkalert.receiver.models import DueTime, Outbox

    made, _, overdue = timed(lambda: generate(systems))
    print(f"  {systems:,} systems, {overdue:,} overdue, generated in {made:.1f} s", flush=True)
    lookup, _, due = timed(lambda: len(list(DueTime.objects.filter(due_at__lte=NOW)
                                            .values_list("system_id", flat=True))))
    floor, floor_cpu, _ = min(timed(lambda: least_write(NOW)) for _ in range(2))
    tidy()
    first, first_cpu, done = timed(lambda: sweep(config.act, NOW))
    again, _, _ = timed(lambda: sweep(config.act, NOW))
    assert due == overdue and done.fired == overdue == Outbox.objects.count(), (due, done, overdue)
    print(f"  index lookup of the {due:,} due rows   {lookup * 1000:6.0f} ms (baseline)")
    print(f"  least write (set-wise SQL, no plan) {floor * 1000:6.0f} ms, {floor_cpu * 1000:.0f} ms CPU")
    print(f"  sweep                               {first * 1000:6.0f} ms, {first_cpu * 1000:.0f} ms CPU "
          f"({done.fired:,} stages fired, {first / overdue * 1e6:.0f} us each, {first / floor:.1f}x the least "
          f"write, {first / max(lookup, 1e-9):.0f}x the lookup; goal <= 1 s: {'met' if first <= 1 else 'NOT met'})")
    print(f"  a sweep with nothing due            {again * 1000:6.1f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=1_000_000)
    parser.add_argument("--database", default="both",
                        help="sqlite, postgresql (a private server), both, or a postgresql:// URL of an empty one")
    parser.add_argument("--child", metavar="DATABASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.systems)
        return 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS.parent), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, __file__, "--systems", str(args.systems), "--child"]
    if args.database in ("sqlite", "both"):
        print("SQLite:", flush=True)
        subprocess.run([*command, "sqlite"], env=env, check=True)
    if args.database.startswith("postgresql://"):
        print("PostgreSQL:", flush=True)
        subprocess.run([*command, args.database], env=env, check=True)
    elif args.database in ("postgresql", "both"):
        sys.path.insert(0, str(TESTS))
        from cast.postgres import postgres_bin, postgres_server

        if postgres_bin() is None:
            print("PostgreSQL: not installed (scripts/install-receiver), skipped")
            return 0
        with postgres_server(durable=True) as server:
            print("PostgreSQL (a private server, tests/cast/postgres.py):", flush=True)
            subprocess.run([*command, server.create_database()], env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
