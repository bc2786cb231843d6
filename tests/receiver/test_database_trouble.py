"""A running worker whose PostgreSQL connection is killed (as by a database restart) waits and carries on:
mail ingested afterwards is judged, and nothing is judged twice."""

from __future__ import annotations

import subprocess
import sys

from cast.receiver import sealed_mail


def test_work_survives_its_connection_being_terminated(tmp_path, make_site, keys, postgres, postgres_url):
    site = make_site(postgres_url)
    name = postgres_url.rsplit("/", 1)[1]
    worker = subprocess.Popen([sys.executable, "-m", "tkalert.receiver", "--config", str(site.config), "work"],
                              stderr=open(tmp_path / "work.log", "wb"))
    try:
        first_id, first = sealed_mail(keys, 1)
        site.run("ingest", input=first)
        assert site.wait_done(1, timeout=60) == [("accepted", "", first_id)]
        killed = postgres.psql(f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               f"WHERE datname = '{name}' AND pid <> pg_backend_pid()").strip()
        assert int(killed) >= 1
        second_id, second = sealed_mail(keys, 2)
        site.run("ingest", input=second)
        rows = site.wait_done(2, timeout=90)
        assert worker.poll() is None  # still running
    finally:
        worker.terminate()
        worker.wait(30)
    assert rows == [("accepted", "", first_id), ("accepted", "", second_id)]
    assert b"database trouble" in (tmp_path / "work.log").read_bytes()
