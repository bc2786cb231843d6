"""Migration 0008 on a database with systems in it: each system's due time becomes its due row, in due order; a
system seen but with nothing left to fire gets a row due at once (the next sweep looks at it); one never heard
from gets none. On SQLite and PostgreSQL, each in a process of its own (Django is set up once per process)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

MIGRATE = textwrap.dedent("""
    import sys
    from django.core.management import call_command
    from django.db import connection
    from tkalert.receiver.config import load_config
    from tkalert.receiver.django_setup import start_django

    start_django(load_config(sys.argv[1]))
    call_command("migrate", "receiver", "0007", verbosity=0)
    with connection.cursor() as cursor:
        for name, seen, due in (("late", "2026-12-01 08:00:00", "2026-12-03 10:00:00"),
                                ("early", "2026-12-01 09:00:00", "2026-12-03 09:00:00"),
                                ("done", "2026-11-01 08:00:00", None), ("never", None, None)):
            cursor.execute("INSERT INTO receiver_system (system_id, pinned_key, public_key, last_seen, "
                           "contact_name, contact_mail, replays, due_at) VALUES (%s, '', '', %s, '', '', 0, %s)",
                           [name, seen and seen + "+00:00", due and due + "+00:00"])
    call_command("migrate", verbosity=0)
    from tkalert.receiver.models import DueTime
    for system, due in DueTime.objects.order_by("id").values_list("system__system_id", "due_at"):
        print(system, due.isoformat())
""")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_migration_0008_moves_each_due_time_into_a_due_row(tmp_path, request, database):
    line = f"database = {request.getfixturevalue('postgres_url')}\n" if database == "postgresql" else ""
    config = tmp_path / "receiver.conf"
    config.write_text(f"[receiver]\nstate_dir = {tmp_path}\n{line}", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", MIGRATE, str(config)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    assert [system for system, _ in rows] == ["early", "late", "done"]
    assert rows[0][1] == "2026-12-03T09:00:00+00:00" and rows[1][1] == "2026-12-03T10:00:00+00:00"
