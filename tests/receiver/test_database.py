"""The database as the receiver sets it up: committed migrations match the models (a model change without its
migration fails here, not on a vendor's database), and SQLite is in WAL with the durability and locking we rely on."""

from __future__ import annotations

import sqlite3

import pytest
from django.core.management import call_command


def test_no_model_change_lacks_a_migration(django_receiver, capsys):
    call_command("makemigrations", "receiver", "--check", "--dry-run", verbosity=1)
    assert "No changes detected" in capsys.readouterr().out


def test_sqlite_runs_in_wal_with_full_sync_a_busy_timeout_and_immediate_transactions(django_receiver):
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        pragmas = {name: cursor.execute(f"PRAGMA {name}").fetchone()[0]
                   for name in ("journal_mode", "synchronous", "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 60000}
    with transaction.atomic():  # BEGIN IMMEDIATE: the write lock is taken at BEGIN, before any write
        from tkalert.receiver.models import Contract

        Contract.objects.exists()  # Django begins lazily, at the first statement
        other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
