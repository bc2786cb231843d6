"""kill -9, repeated at random: of `serve` while SMTP sessions are open, and of `work` in the middle of a batch.

Every message the listener answered 250 to ends up accepted exactly once; a message the listener did not answer
is the sender's to resend (the client here resends until it gets its 250, as the sender's spool does), and a
resend of one that was stored after all is a "duplicate" no-op. A message judged twice would show: the second
judgement finds its own id accepted and turns it into a duplicate, so "all accepted" means "each once".
"""

from __future__ import annotations

import queue
import random
import signal
import smtplib
import threading
import time

from cast.receiver import sealed_mail

COUNT = 60


def mails(keys, count=COUNT) -> dict[str, bytes]:
    return dict(sealed_mail(keys, sequence) for sequence in range(1, count + 1))


def sender_threads(port: int, pending: queue.Queue, answered: dict, stop: threading.Event, count: int = 4):
    """SMTP clients that resend each mail until it gets 250 (as the sender's spool would)."""
    def run():
        while not stop.is_set():
            try:
                message_id, data = pending.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                    client.sendmail("tkalert@customer.test", ["callhome@vendor.test"], data)
                answered[message_id] = answered.get(message_id, 0) + 1
            except (OSError, smtplib.SMTPException):
                pending.put((message_id, data))
                time.sleep(0.05)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def test_kill_9_of_serve_during_smtp_transactions_loses_nothing_and_doubles_nothing(make_site, keys, database_url):
    site = make_site(database_url, workers=2, extra="claim_lease = 2s\n")
    sent = mails(keys)
    pending: queue.Queue = queue.Queue()
    for item in sent.items():
        pending.put(item)
    answered: dict[str, int] = {}
    stop = threading.Event()
    chance = random.Random()
    try:
        serve = site.serve()
        threads = sender_threads(site.smtp_port, pending, answered, stop)
        kills = 0
        # killed when the count of answered mails passes random marks: mid-stream, whatever the machine's speed
        for mark in sorted(chance.sample(range(5, COUNT - 5), 4)):
            while len(answered) < mark:
                time.sleep(0.005)
            serve.send_signal(signal.SIGKILL)
            serve.wait()
            kills += 1
            serve = site.serve()
        while len(answered) < COUNT:
            time.sleep(0.05)
        stop.set()
        for thread in threads:
            thread.join()
        site.wait_settled()  # the running workers take over what the killed ones had claimed
        rows = site.rows()
    finally:
        stop.set()
        site.stop()
    accepted = [message_id for verdict, _, message_id in rows if verdict == "accepted"]
    assert kills == 4
    assert sorted(accepted) == sorted(sent)  # every mail accepted, each exactly once
    assert {verdict for verdict, _, _ in rows} <= {"accepted", "duplicate"}
    assert site.rows("SELECT count(*) FROM receiver_message WHERE state <> 'done'") == [(0,)]
    assert site.rows("SELECT replays FROM receiver_system") == [(0,)]
    assert list((site.store_dir / "new").iterdir()) == []


def test_kill_9_of_work_mid_batch_judges_each_message_once(make_site, keys, database_url):
    import subprocess
    import sys

    site = make_site(database_url, extra="claim_lease = 1s\n")
    sent = mails(keys)
    for data in sent.values():
        assert site.run("ingest", input=data).returncode == 0
    chance = random.Random()
    command = [sys.executable, "-m", "tkalert.receiver", "--config", str(site.config), "work"]
    workers = [subprocess.Popen(command, stderr=subprocess.DEVNULL) for _ in range(2)]
    kills = 0
    try:
        while kills < 5 and len(site.rows("SELECT id FROM receiver_message WHERE state = 'done'")) < COUNT:
            time.sleep(chance.uniform(0.3, 1.2))
            victim = chance.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            kills += 1
            workers[victim] = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        site.wait_settled()
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
    rows = site.rows()
    assert kills >= 1
    assert sorted(message_id for _, _, message_id in rows) == sorted(sent)
    assert {verdict for verdict, _, _ in rows} == {"accepted"}
    assert site.rows("SELECT count(*) FROM receiver_message WHERE state <> 'done'") == [(0,)]
