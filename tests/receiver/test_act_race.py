"""Races on PostgreSQL: three receiver processes act on the same 1,000 alerts and three sweep the same 1,000
systems at the same injected times, all at once, delivering through one relay: no stage, ticket or mail twice."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

SCRIPT = Path(__file__).with_name("act_race.py")


def run_all(config: Path, role: str, relay: int, count: int = 3) -> None:
    processes = [subprocess.Popen([sys.executable, str(SCRIPT), str(config), role, str(seed), str(relay)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for seed in range(count)]
    for process in processes:
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, output.decode(errors="replace")[-3000:]


def test_three_processes_on_postgresql_do_nothing_twice(tmp_path, postgres_url, smtp_sink):
    import psycopg

    config = tmp_path / "receiver.conf"
    config.write_text(f"[receiver]\nstate_dir = {tmp_path}\ndatabase = {postgres_url}\nticket_sink = mail\n"
                      "ticket_mail = rt@rt.example\n", encoding="utf-8")
    run_all(config, "migrate", smtp_sink.port, count=1)
    run_all(config, "alerts", smtp_sink.port)
    run_all(config, "sweep", smtp_sink.port)
    with psycopg.connect(postgres_url) as db:
        def rows(sql):
            return db.execute(sql).fetchall()

        assert rows("SELECT count(*) FROM receiver_message WHERE verdict = 'accepted' AND document_type = 'alert'") \
            == [(1000,)]
        assert rows("SELECT count(*) FROM receiver_message WHERE verdict = 'duplicate'") == [(2000,)]
        episodes = rows("SELECT system_id, service, count(*) FROM receiver_episode GROUP BY system_id, service")
        assert len(episodes) == 250 and all(count == 1 for *_, count in episodes)
        purposes = Counter(p for p, in rows("SELECT purpose FROM receiver_outbox"))
        assert purposes["ticket-open"] == 250 and purposes["ticket-close"] == 250
        assert purposes["ticket-change"] <= 500
        stages = rows("SELECT silence_id, key FROM receiver_outbox WHERE purpose = 'stage'")
        assert len(stages) == len({key for _, key in stages})
        silences = rows("SELECT stage, count(*) FROM receiver_silence GROUP BY stage ORDER BY stage")
        late = sum(1 for n in range(1000) if n % 7 * 3 <= 80 - 75)  # heartbeats at T0 + 0, 3, ..., 18 h
        assert silences == [(1, 1000 - late), (2, late)]
        assert rows("SELECT count(*) FROM receiver_outbox WHERE purpose = 'stage'") == [(1000 + late,)]
        sent = rows("SELECT count(*) FROM receiver_outbox WHERE state = 'sent'")[0][0]
    ids = [mail.message()["Message-ID"] for mail in smtp_sink.mails]
    assert len(ids) == sent == len(set(ids)) > 0
