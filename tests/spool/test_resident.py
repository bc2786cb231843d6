"""The resident flusher (`tkalert flusher`) and the hook's handoff to it: real processes, real gpg, a real SMTP sink.

With the flusher listening, the hook hands its flush over and still answers sent or queued from the spool; with
none (never started, a stale socket left by kill -9, killed while the hook waits) the hook flushes itself. Killing
the flusher in the middle of its flushes, with a `tkalert flush` running beside it, loses nothing: each message
ends in the archive once, and a kill costs at most a resend of the one message on the wire (same message id).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cast.config import write_config
from cast.plugins import ROOT, daemon_env

from .spoolkit import sealed

from tkalert.cli.flusher import _answers
from tkalert.config.settings import load_settings
from tkalert.sender.spool import flush, open_site, read_log, take_census

TKALERT = str(ROOT / "bin" / "tkalert")
ALERT = ("--type=service", "--host=web01", "--service-status=CRITICAL", "--output=Critical [array degraded]")


def socket_of(config: Path) -> str:
    return open_site(load_settings(config)).policy.spool.flusher_socket


def hook(config: Path, *args: str, importtime: bool = False) -> tuple[subprocess.CompletedProcess, set[str]]:
    """The real command as a daemon runs it; with importtime, also the modules it imported."""
    extra = ["-X", "importtime"] if importtime else []
    done = subprocess.run([sys.executable, *extra, TKALERT, f"--config={config}", *ALERT, *args],
                          capture_output=True, env=daemon_env(), timeout=60, check=False)
    lines = done.stderr.decode().splitlines()
    return done, {line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time:")}


@pytest.fixture
def flusher():
    """start(config, *args) -> the running `tkalert flusher` child, its socket live; stopped after the test."""
    children = []

    def start(config: Path, *args: str) -> subprocess.Popen:
        path = socket_of(config)
        child = subprocess.Popen([sys.executable, TKALERT, "flusher", "--config", str(config), "--idle", "60",
                                  "--verbose", *args], env=daemon_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        children.append(child)
        deadline = time.monotonic() + 30
        while not _answers(path):  # the flusher renames its socket into place once it listens
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the flusher did not start"
            time.sleep(0.02)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.terminate()
        _, errors = child.communicate(timeout=30)
        print(f"flusher {child.pid} exit {child.returncode}: {errors.decode()[-2000:]}")  # shown on a failure


SMTP_PATH = ("tkalert.sender.spool.flusher", "tkalert.sender.deliver", "tkalert.sender.deliver.smtp",
             "tkalert.sender.deliver.plainsmtp", "smtplib", "_ssl", "email")


def test_with_the_flusher_the_hook_hands_over_and_the_mail_arrives(config, smtp_sink, flusher):
    assert hook(config, "--service=RAID")[0].returncode == 0  # the first one exports the system key (once)
    flusher(config)
    done, imported = hook(config, "--service=fans", "--check", importtime=True)
    assert done.returncode == 0 and done.stdout.startswith(b"tkalert/"), done.stderr[-2000:]
    assert b"sent alert - OK" in done.stdout, done.stdout
    assert [m for m in SMTP_PATH if m in imported] == []  # nothing of the delivery path: the flusher sent it
    assert "tkalert.sender.spool.handoff" in imported
    assert len(smtp_sink.mails) == 2
    assert [r.state for r in read_log(open_site(load_settings(config)))] == ["sent", "sent"]


def test_a_changed_config_is_read_strictly_by_the_hook_and_again_by_the_flusher(config, smtp_sink, flusher):
    assert hook(config, "--service=RAID")[0].returncode == 0
    flusher(config)
    text = config.read_text()
    config.write_text(text.replace("timeout = 5", "timeout = 5s\nsecurity = sometimes"))
    done, imported = hook(config, "--service=fans", "--check")
    assert done.returncode == 3 and b"security" in done.stdout, done.stdout  # refused before anything is written
    assert [r.service for r in read_log(open_site(load_settings(config)))] == ["RAID"]
    config.write_text(text.replace("timeout = 5", "timeout = 6"))
    done, imported = hook(config, "--service=disks", "--check", importtime=True)
    assert b"sent alert - OK" in done.stdout, done.stdout
    assert "tkalert.sender.deliver.smtp" in imported  # a config the flusher has not read: the hook reads it
    done, imported = hook(config, "--service=fans", "--check", importtime=True)
    assert b"sent alert - OK" in done.stdout and "tkalert.sender.deliver" not in imported  # read again by then
    assert len(smtp_sink.mails) == 3


def test_by_default_the_plain_hook_leaves_once_the_flusher_took_it(config, smtp_sink, flusher):
    assert open_site(load_settings(config)).policy.spool.flusher_wait == "check"
    assert hook(config, "--service=RAID")[0].returncode == 0
    flusher(config)
    done, imported = hook(config, "--service=fans", importtime=True)
    assert (done.returncode, done.stdout) == (0, b""), done.stderr[-2000:]
    assert b"tkalert:" not in done.stderr  # handed over is not news: no line, exit 0
    assert [m for m in SMTP_PATH if m in imported] == []
    deadline = time.monotonic() + 30
    while len(smtp_sink.mails) < 2:  # the flusher delivers it after the hook has left
        assert time.monotonic() < deadline, "the flusher did not deliver the handed message"
        time.sleep(0.05)
    done, _ = hook(config, "--service=disks", "--check")  # --check still waits for the word on delivery
    assert b"sent alert - OK" in done.stdout, done.stdout
    assert [r.state for r in read_log(open_site(load_settings(config)))] == ["sent"] * 3


def test_with_flusher_wait_always_the_plain_hook_waits_for_the_flushers_word(config, smtp_sink, flusher):
    with open(config, "a", encoding="utf-8") as fh:
        fh.write("\n[spool]\nflusher_wait = always\n")
    assert hook(config, "--service=RAID")[0].returncode == 0
    flusher(config)
    smtp_sink.stop()
    done, imported = hook(config, "--service=fans", importtime=True)
    assert done.returncode == 0 and b"tkalert: queued:" in done.stderr, done.stderr[-2000:]  # the relay's refusal
    assert [m for m in SMTP_PATH if m in imported] == []  # the flusher tried it, not the hook


def test_by_default_the_zabbix_script_and_check_still_wait_for_the_flushers_word(config, smtp_sink, flusher):
    from tkalert.sender.pipeline import SendOptions

    assert SendOptions(gnupg_home="").answer_needed  # check_tkalert_heartbeat, the Zabbix script, report, maintenance
    assert hook(config, "--service=RAID")[0].returncode == 0
    flusher(config)
    smtp_sink.stop()
    done, _ = hook(config, "--service=fans")
    assert (done.returncode, b"tkalert: queued" in done.stderr) == (0, False), done.stderr[-2000:]  # handed, silent
    done, _ = hook(config, "--service=disks", "--check")
    assert done.returncode == 1 and b"queued alert for retry" in done.stdout, done.stdout
    done = subprocess.run([sys.executable, "-m", "tkalert.integrations.zabbix.alert", str(config), "s",
                           "status=PROBLEM\nhost=h\ntrigger=t\nseverity=4"], capture_output=True, env=daemon_env(),
                          timeout=60, check=False)
    assert done.returncode == 0 and b"tkalert-zabbix: queued: " in done.stderr, done.stderr[-2000:]


def test_with_the_flusher_check_says_queued_when_the_vendor_is_down(config, smtp_sink, flusher):
    assert hook(config, "--service=RAID")[0].returncode == 0
    flusher(config)
    smtp_sink.stop()
    done, imported = hook(config, "--service=fans", "--check", importtime=True)
    assert done.returncode == 1 and b"queued alert for retry" in done.stdout, done.stdout
    assert b"Connection refused" in done.stdout or b"connect" in done.stdout.lower()  # the flusher's last error
    assert "tkalert.sender.spool.flusher" not in imported


def test_without_a_flusher_or_with_a_stale_socket_the_hook_flushes_itself(config, smtp_sink):
    done, imported = hook(config, "--service=RAID", "--check", importtime=True)
    assert b"sent alert - OK" in done.stdout and "tkalert.sender.spool.flusher" in imported
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # bound, never listening: what kill -9 leaves
    stale.bind(socket_of(config))
    stale.close()
    done, imported = hook(config, "--service=fans", "--check", importtime=True)
    assert b"sent alert - OK" in done.stdout, done.stdout
    assert "tkalert.sender.spool.flusher" in imported
    assert len(smtp_sink.mails) == 2


def test_a_waiting_hook_is_answered_once_its_outcome_is_in_the_spool_before_the_flush_ends(config, smtp_sink,
                                                                                           flusher):
    from tkalert.sender.spool.handoff import hand_over
    from tkalert.sender.spool.submission import spool_message, where_is

    site = open_site(load_settings(config))
    smtp_sink.delay = 0.3  # each message after the hook's keeps the flush busy
    messages = [sealed(service=f"svc{i}") for i in range(8)]
    now = time.time()
    for n, message in enumerate(messages):  # the hook's message is the oldest: delivered first
        assert spool_message(site, message, now + n / 1000) is not None
    flusher(config)
    assert hand_over(socket_of(config), messages[0].message_id, time.monotonic() + 60) == "flushed"
    assert where_is(site, messages[0].message_id).state == "sent"  # the truth, read from the spool
    assert take_census(site, time.time()).depth > 0  # answered while the others were still being delivered
    deadline = time.monotonic() + 60
    while take_census(site, time.time()).depth:
        assert time.monotonic() < deadline, "the flusher did not deliver the rest"
        time.sleep(0.05)
    assert sorted(r.state for r in read_log(site)) == ["sent"] * 8


def test_a_flusher_started_by_hand_replaces_a_stale_socket_and_refuses_a_second(config, smtp_sink, flusher):
    path = socket_of(config)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    flusher(config)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    second = subprocess.run([sys.executable, TKALERT, "flusher", "--config", str(config)], capture_output=True,
                            env=daemon_env(), timeout=60, check=False)
    assert second.returncode == 75 and b"already listens" in second.stderr, second.stderr
    assert b"Traceback" not in second.stderr


def test_the_flusher_leaves_when_idle_and_removes_its_socket(config, smtp_sink, flusher):
    child = flusher(config, "--idle", "0.5")
    assert child.wait(timeout=30) == 0
    assert not os.path.lexists(socket_of(config))


def test_a_flusher_that_never_answers_leaves_the_hook_to_flush_itself(config, smtp_sink):
    """Listening but silent (stopped with SIGSTOP, or hung): the hook waits its budget, then reads the spool; the
    entry is durable and the next flush sends it."""
    with open(config, "a", encoding="utf-8") as fh:
        fh.write("\n[spool]\nhook_budget = 2s\n")
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(socket_of(config))
    silent.listen(8)
    try:
        done, _ = hook(config, "--service=fans", "--check")
    finally:
        silent.close()
    assert done.returncode == 1 and b"queued alert" in done.stdout, done.stdout
    settings = load_settings(config)
    from tkalert.sender.pipeline import digest_maker

    assert flush(settings, make_digest=digest_maker(settings)).sent
    assert len(smtp_sink.mails) == 1


def test_kill_9_of_the_flusher_mid_flush_beside_a_timer_flush_loses_nothing(tmp_path, keys, smtp_sink, flusher):
    config = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, tmp_path / "state",
                          sections={"storm": {"enabled": "off"}, "spool": {"batch_size": "10"}})
    settings = load_settings(config)
    smtp_sink.delay = 0.04  # slow enough that a kill lands in the middle of a batch
    site = open_site(settings)
    from tkalert.sender.spool.handoff import hand_over
    from tkalert.sender.spool.submission import spool_message

    messages = [sealed(service=f"svc{i}") for i in range(150)]
    for message in messages:
        assert spool_message(site, message, time.time()) is not None
    ids = {m.message_id for m in messages}
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kills = timer_kills = 0
    while kills < 6 and take_census(open_site(settings), time.time()).depth:
        child = flusher(config)  # each one replaces the socket the killed one left
        answers = []
        poke = threading.Thread(target=lambda into=answers: into.append(
            hand_over(socket_of(config), messages[0].message_id, time.monotonic() + 30)))
        poke.start()
        timer = subprocess.Popen([sys.executable, TKALERT, "flush", "--config", str(config), "--quiet"],
                                 env=daemon_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.1, 0.6))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            kills += 1
        time.sleep(rng.uniform(0, 0.3))
        if timer.poll() is None:  # the timer's flush is killed too: both flushers die mid-batch
            os.kill(timer.pid, signal.SIGKILL)
            timer_kills += 1
        poke.join(30)
        timer.wait(60)
        assert answers in ([None], ["flushed"]) or answers[0].startswith("busy"), answers
    flush(settings, make_digest=None, wait=60)

    assert kills >= 3, f"seed {seed}"
    assert set(smtp_sink.accepted) == ids, f"seed {seed}"  # none lost, nothing foreign
    duplicates = len(smtp_sink.accepted) - len(ids)
    assert duplicates <= kills + timer_kills, f"seed {seed}"  # at most the one on the wire per kill, same id
    records = [r for r in read_log(open_site(settings))]
    assert sorted(r.message_id for r in records) == sorted(ids)  # one record each: the archive never holds two
    assert {r.state for r in records} == {"sent"}
    assert take_census(open_site(settings), time.time()).depth == 0
    print(f"\nkill -9 of the resident flusher: {kills} kills (seed {seed}), {timer_kills} of the "
          f"timer's flush, {duplicates} resend(s) of {len(ids)}")


@pytest.mark.long
def test_a_storm_of_200_hooks_with_the_flusher_loses_and_duplicates_nothing(config, smtp_sink, flusher):
    from tkalert.sender.pipeline import digest_maker

    assert hook(config, "--service=first")[0].returncode == 0
    flusher(config)
    children = [subprocess.Popen([sys.executable, TKALERT, f"--config={config}", *ALERT, f"--service=s{i}",
                                  f"--host=h{i % 7}"], env=daemon_env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE) for i in range(200)]
    outputs = [child.communicate(timeout=300) for child in children]
    assert [c.returncode for c in children] == [0] * 200, [e for _, e in outputs if e][:3]
    settings = load_settings(config)
    flush(settings, clock=lambda: time.time() + 3600, make_digest=digest_maker(settings), wait=60)

    records = read_log(open_site(settings))
    events = [r for r in records if not r.digest_of]
    digests = {r.message_id: r.digest_of for r in records if r.digest_of}
    assert len(events) == 201 and {r.state for r in events} <= {"sent", "folded"}
    accepted = smtp_sink.accepted
    assert len(accepted) == len(set(accepted))  # nothing twice
    carried = [i for digest in accepted if digest in digests for i in digests[digest]]
    assert len(carried) == len(set(carried))
    assert {r.message_id for r in events} == (set(accepted) - set(digests)) | set(carried)  # none lost
    print(f"\n200 hooks with the flusher: {len(accepted) - len(digests)} sent alone, {len(carried)} in "
          f"{len(digests)} digest(s)")
