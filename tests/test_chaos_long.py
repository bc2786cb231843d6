"""kill -9 chaos while 300 alerts flow: real `tkalert` hooks (real gpg) and `tkalert flush` processes, some of each
killed with SIGKILL at random moments, against an SMTP server slow enough that kills land mid-delivery.

The sender's promise ("never lose or duplicate an alert"): every hook that exited 0 has its event delivered; no
event ever travels under two message ids (a kill -9 between the send and its record may repeat a message, always
with the same id, which a receiver deduplicates); a killed hook's event arrives at most once; the spool ends empty.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict

import pytest
from cast.config import write_config
from cast.plugins import daemon_env
from tkalert.document.reader import parse_valid
from tkalert.sender.deliver.mail import payload_of

EVENTS = 300
WAVE = 20  # hooks running at once at most
FLUSHERS = 3  # `tkalert flush` processes running at once at most
HOOK_KILL_SHARE = 0.25  # scheduled; a hook that finishes before its moment escapes (more do since the hook got fast)


@pytest.mark.long
def test_kill_9_chaos_while_300_alerts_flow_loses_and_duplicates_nothing(tmp_path, keys, smtp_sink):
    seed = int(os.environ.get("TKALERT_CHAOS_SEED", random.randrange(1 << 30)))
    print(f"\nchaos seed {seed} (TKALERT_CHAOS_SEED={seed} repeats it)")
    rng = random.Random(seed)
    smtp_sink.delay = 0.01  # every mail takes a moment on the wire: kills land in the middle of deliveries
    state = tmp_path / "state"
    config = write_config(tmp_path / "c.conf", keys, smtp_sink.port, state, extra="[storm]\ninterval = 5s\nrate = 5\n")
    spool = state / "spool"
    logs = tmp_path / "hooks"
    logs.mkdir()
    env = daemon_env()
    command = [sys.executable, "-m", "tkalert"]
    flush = [*command, "flush", "--config", str(config)]

    to_kill = set(rng.sample(range(EVENTS), round(EVENTS * HOOK_KILL_SHARE)))
    pending = list(range(EVENTS))
    hooks: dict[int, tuple[subprocess.Popen, float | None]] = {}  # event -> (process, moment to kill it)
    flushers: list[tuple[subprocess.Popen, float | None]] = []
    exits: dict[int, int] = {}
    killed_hooks: set[int] = set()
    flushers_started = flushers_killed = 0
    flusher_exits: list[int] = []
    started = time.monotonic()

    def hook(i: int) -> subprocess.Popen:
        with open(logs / f"{i}.err", "wb") as err:
            return subprocess.Popen([*command, "--config", str(config), "--type=service", "--service-status=CRITICAL",
                                     f"--host=node{i % 30}", f"--service=disk{i}", f"--output=event {i}"],
                                    stdout=subprocess.DEVNULL, stderr=err, env=env)

    while pending or hooks or flushers:
        now = time.monotonic()
        while pending and len(hooks) < WAVE:
            i = pending.pop(0)
            hooks[i] = (hook(i), now + rng.uniform(0.02, 1.5) if i in to_kill else None)  # a hook lives ~0.1-1.5 s here
        if pending and len(flushers) < FLUSHERS and rng.random() < 0.3:
            flusher = subprocess.Popen([*flush, "-q"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, env=env)
            flushers_started += 1
            flushers.append((flusher, now + rng.uniform(0.05, 1.5) if rng.random() < 0.7 else None))
        for i, (process, kill_at) in list(hooks.items()):
            if process.poll() is None and kill_at is not None and now >= kill_at:
                process.send_signal(signal.SIGKILL)
                process.wait()
                killed_hooks.add(i)
            if process.poll() is not None:
                if i not in killed_hooks:
                    exits[i] = process.returncode
                del hooks[i]
        for entry in list(flushers):
            process, kill_at = entry
            if process.poll() is None and kill_at is not None and now >= kill_at:
                process.send_signal(signal.SIGKILL)
                process.wait()
                flushers_killed += 1
                flusher_exits.append(0)
            elif process.poll() is not None:
                flusher_exits.append(process.returncode)
            if process.poll() is not None:
                flushers.remove(entry)
        assert time.monotonic() - started < 240, "the flow did not finish in 4 minutes"
        time.sleep(rng.uniform(0.01, 0.08))
    flow_seconds = time.monotonic() - started

    deadline, flushes = time.monotonic() + 90, []
    while _left_in_spool(spool) and time.monotonic() < deadline:  # folded alerts wait for their 5 s interval
        began = time.monotonic()
        done = subprocess.run([*flush, "--now"], check=False, capture_output=True, env=env, timeout=120)
        flushes.append(f"{time.monotonic() - began:.1f}s rc {done.returncode}: {done.stdout.decode().strip()} "
                       f"{done.stderr.decode().strip()[-300:]}")
        time.sleep(0.5)
    assert not _left_in_spool(spool), f"seed {seed}; the last flushes: {flushes[-5:]}"

    ids_of: dict[int, set[str]] = defaultdict(set)  # event -> every message id it travelled under
    copies = digests = 0
    for mail in smtp_sink.emails():
        plaintext, signer = keys.decrypt(payload_of(mail))
        assert signer == keys.system
        root = parse_valid(plaintext)
        digests += root.tag == "digest"
        for alert in root.find("events") if root.tag == "digest" else [root]:
            output = alert.findtext("service/plugin-output")
            assert output.startswith("event "), output
            ids_of[int(output.split()[1])].add(alert.findtext("message-id"))
            copies += 1

    errors = {i: (logs / f"{i}.err").read_text(errors="replace")[-500:] for i, code in exits.items() if code}
    assert errors == {}, f"seed {seed}: hooks that were not killed failed"
    assert set(flusher_exits) <= {0, 1}, f"seed {seed}: flushers that were not killed broke: {flusher_exits}"
    lost = sorted(i for i, code in exits.items() if code == 0 and i not in ids_of)
    assert lost == [], f"seed {seed}: hooks exited 0 but their events never arrived"
    twice = {i: sorted(ids) for i, ids in ids_of.items() if len(ids) > 1}
    assert twice == {}, f"seed {seed}: events delivered under two message ids"
    assert set(ids_of) <= set(range(EVENTS))
    killed_arrived = len(killed_hooks & set(ids_of))
    same_id_duplicates = copies - len(ids_of)
    print(f"{EVENTS} hooks in {flow_seconds:.0f}s: {len(killed_hooks)} hooks killed ({killed_arrived} of their "
          f"events arrived, once each), {flushers_killed} of {flushers_started} flushers killed; "
          f"{len(smtp_sink.mails)} mails, {digests} digests, {copies} alert copies for {len(ids_of)} events: "
          f"{same_id_duplicates} duplicate(s) by the same id; {len(list((spool / 'tmp').glob('*')))} tmp leftovers")
    assert digests >= 1, f"seed {seed}: no storm, so no digest was put to the test"
    assert len(killed_hooks) >= EVENTS * 0.05 and flushers_killed >= 5, f"seed {seed}: too little chaos to judge"


def _left_in_spool(spool) -> list:
    return [p for area in ("unsealed", "outbox", "folded", "failed") for p in (spool / area).glob("*")]
