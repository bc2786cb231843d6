"""The private PostgreSQL server of tests/cast/postgres.py: it starts, keeps databases apart, and is gone after."""

from __future__ import annotations

import subprocess

from cast.postgres import postgres_server


def test_each_database_is_fresh_and_writable(postgres):
    first, second = postgres.create_database(), postgres.create_database()
    assert first != second
    name = first.rsplit("/", 1)[1]
    postgres.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (41), (1)", database=name)
    assert postgres.psql("SELECT sum(x) FROM t", database=name).strip() == "42"
    assert postgres.psql("SELECT count(*) FROM pg_tables WHERE tablename = 't'",
                         database=second.rsplit("/", 1)[1]).strip() == "0"


def test_the_server_and_its_files_are_gone_after_the_block():
    with postgres_server() as server:
        port, root = server.port, server.root
        assert root.exists()
    assert not root.exists()
    ready = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False)
    assert ready.returncode != 0
