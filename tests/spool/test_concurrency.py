"""Many processes on one spool: a storm of 500 hooks at once, and flushers killed with SIGKILL mid-batch.

Children are real processes running tests/spool/spool_child.py. Nothing may be lost: every event reaches the
server on its own or inside a digest, and a kill -9 costs at most a duplicate with the same message id.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from cast.plugins import TESTS, daemon_env

from .spoolkit import plain_digest, sealed

from tkalert.sender.spool import flush, open_site, read_log, take_census

CHILD = Path(__file__).with_name("spool_child.py")
STORM_PROCESSES = 500


def child_env() -> dict:
    return daemon_env(CHILD.parent, TESTS)


def test_500_hooks_at_once_lose_nothing(site_config, smtp_sink):
    # each hook waits for its own message within the budget, which bounds the whole call (Nagios kills at 30 s)
    config, settings = site_config({"spool": {"hook_budget": "15s"}})
    ready_read, ready_write = os.pipe()
    gate_read, gate_write = os.pipe()
    children = [
        subprocess.Popen([sys.executable, str(CHILD), "submit", str(config), str(i), str(ready_write),
                          str(gate_read)], pass_fds=(ready_write, gate_read), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=child_env())
        for i in range(STORM_PROCESSES)
    ]
    os.close(gate_read)
    os.close(ready_write)
    _read_exactly(ready_read, STORM_PROCESSES)  # every interpreter is up and waiting at the gate
    started = time.monotonic()
    os.close(gate_write)  # the storm: all 500 submit at once
    outputs = [child.communicate(timeout=120) for child in children]
    storm_seconds = time.monotonic() - started
    assert [c.returncode for c in children] == [0] * STORM_PROCESSES, [e for _, e in outputs if e][:3]

    lines = [out.decode().split() for out, _ in outputs]
    events = {message_id for message_id, _, _ in lines}
    durations = sorted(float(seconds) for _, _, seconds in lines)
    hook_seconds = durations[-1]
    assert len(events) == STORM_PROCESSES
    assert hook_seconds < 20  # each hook returned well inside Nagios' 30 s

    report = flush(settings, clock=lambda: time.time() + 120, make_digest=plain_digest, wait=60)
    delivered = smtp_sink.delivered() - set(report.digests) - _digest_ids(settings)
    assert delivered == events  # every one of the 500 events, on its own or in a digest
    assert len(smtp_sink.accepted) == len(set(smtp_sink.accepted))  # and none twice
    census = take_census(open_site(settings), time.time())
    assert (census.depth, census.failed) == (0, 0)
    states = {}
    for _, state, _ in lines:
        states[state] = states.get(state, 0) + 1
    print(f"\n500 hooks: storm {storm_seconds:.1f}s, hook median {durations[250]:.2f}s, slowest {hook_seconds:.2f}s, "
          f"results {states}, "
          f"{len(smtp_sink.accepted)} mails over {len(smtp_sink.connections)} connections")


def _read_exactly(fd: int, count: int) -> None:
    got = 0
    while got < count:
        chunk = os.read(fd, count - got)
        assert chunk, "a child died before it reached the gate"
        got += len(chunk)
    os.close(fd)


def _digest_ids(settings) -> set[str]:
    return {r.message_id for r in read_log(open_site(settings)) if r.digest_of}


def test_kill_9_of_flushers_at_random_moments_loses_nothing(site_config, smtp_sink):
    config, settings = site_config({"storm": {"enabled": "off"}, "spool": {"batch_size": "10"}})
    smtp_sink.delay = 0.04  # a batch takes long enough to be killed in the middle of it, and 10 kills happen
    ids = _queue(settings, 100)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kills = 0
    while kills < 25 and take_census(open_site(settings), time.time()).depth:
        child = subprocess.Popen([sys.executable, str(CHILD), "flush", str(config)], env=child_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.05, 0.6))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            kills += 1
        child.wait()
    flush(settings, make_digest=plain_digest, wait=60)

    assert kills >= 10, f"seed {seed}"
    assert set(smtp_sink.accepted) == set(ids), f"seed {seed}"  # none lost, nothing foreign
    duplicates = len(smtp_sink.accepted) - len(ids)
    log = {r.message_id: r.state for r in read_log(open_site(settings))}
    assert {log[i] for i in ids} == {"sent"}
    assert take_census(open_site(settings), time.time()).depth == 0
    print(f"\nkill -9: {kills} kills (seed {seed}), {duplicates} duplicate(s) of {len(ids)} messages")


def _queue(settings, count: int) -> list[str]:
    from tkalert.sender.spool.submission import spool_message

    site = open_site(settings)
    messages = [sealed(service=f"svc{i}") for i in range(count)]
    for message in messages:
        assert spool_message(site, message, time.time()) is not None
    return [m.message_id for m in messages]
