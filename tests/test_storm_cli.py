"""500 real `tkalert` processes started at once on one spool: every event arrives, on its own or in a digest.

tests/spool/test_concurrency.py gates 500 calls of the spool's `submit` to the same instant; this one runs the whole
command (argv parsing, document, seal with the real gpg, spool, storm control, opportunistic flush) as a monitoring
daemon would. (An unencrypted send never enters the configured spool: --disable-gpg-encryption cannot stand in.)
"""

from __future__ import annotations

import subprocess
import sys
import time

from cast.config import write_config
from tkalert.document.reader import parse_valid
from tkalert.sender.deliver.mail import payload_of

EVENTS = 500


def test_500_tkalert_processes_lose_nothing(tmp_path, keys, smtp_sink):
    config = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state",
                          extra="[storm]\ninterval = 5s\n")
    base = [sys.executable, "-m", "tkalert", "--config", str(config), "--type=service",
            "--service-status=CRITICAL"]
    children = [subprocess.Popen([*base, f"--host=node{i % 50}", f"--service=disk{i}", f"--output=event {i}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(EVENTS)]
    errors = [child.communicate(timeout=300)[1] for child in children]
    assert [c.returncode for c in children] == [0] * EVENTS, [e for e in errors if e][:3]

    deadline = time.monotonic() + 60
    while _left_in_spool(tmp_path / "state" / "spool") and time.monotonic() < deadline:
        subprocess.run([sys.executable, "-m", "tkalert", "flush", "--config", str(config), "--now", "-q"],
                       check=False, capture_output=True)
        time.sleep(0.5)
    assert not _left_in_spool(tmp_path / "state" / "spool")

    outputs, digests = [], 0
    for mail in smtp_sink.emails():
        plaintext, signer = keys.decrypt(payload_of(mail))
        assert signer == keys.system
        root = parse_valid(plaintext)
        if root.tag == "digest":
            digests += 1
            outputs += [alert.findtext("service/plugin-output") for alert in root.find("events")]
        else:
            outputs.append(root.findtext("service/plugin-output"))
    assert sorted(outputs) == sorted(f"event {i}" for i in range(EVENTS))  # all of them, none twice
    assert digests >= 1  # 500 at once is a storm: most travel folded
    print(f"\n{EVENTS} tkalert processes: {len(smtp_sink.mails)} mails, {digests} digests")


def _left_in_spool(spool) -> list:
    return [p for area in ("outbox", "folded") for p in (spool / area).glob("*")]
