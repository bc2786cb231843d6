"""Benchmark: a storm of N alerts fired at once, each a real `tkalert --type service` process.

Measures the wall time from the first launch until every event has reached a local SMTP sink (on its own or
folded into a digest), the total CPU of all tkalert processes and flushes, how many messages and digests the
sink received, and checks that none of the N events was lost or sent twice. Storm control runs with its default
rate (20 a minute) but a 10 s interval, so the run does not wait a whole minute for the last digest.

    python3 bench/storm.py [--events 1000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hook import compile_package, installed_command, setup  # noqa: E402  (same keys and config as the hook benchmark)

from tkalert.inbox import Inbox  # noqa: E402
from tkalert.openpgp.keys import kill_agent  # noqa: E402
from tkalert.openpgp.unseal import unseal  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fire(tkalert: str, config: Path, events: int) -> None:
    procs = [subprocess.Popen([tkalert, "--config", str(config), "--type=service", f"--host=node{i % 100:03d}",
                               f"--service=disk{i // 100}", "--service-status=CRITICAL", f"--output=event {i}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(events)]
    failures = sum(proc.wait() != 0 for proc in procs)
    if failures:
        sys.exit(f"{failures} tkalert processes failed")


def drain(tkalert: str, config: Path, spool: Path, limit: float = 120.0) -> None:
    """Flush until the outbox and folded/ are empty (digests wait for their interval to end)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        subprocess.run([tkalert, "flush", "--config", str(config), "--now", "-q"], check=False,
                       stdout=subprocess.DEVNULL)
        if not any(any((spool / area).glob("*")) for area in ("incoming", "outbox", "folded")):
            return
        time.sleep(1)
    left = {area: sorted(p.name for p in (spool / area).glob("*")) for area in ("incoming", "outbox", "folded")}
    sys.exit(f"spool not empty after {limit:g} s: {left}")


def count_events(inbox: Inbox, vendor_home: Path) -> tuple[int, int, list[str]]:
    """Decrypt every mail as the vendor: (plain alerts, digests, every event's output)."""
    from lxml import etree

    from tkalert.sender.deliver.mail import payload_of

    alerts, digests, outputs = 0, 0, []
    for mail in inbox.emails():
        root = etree.fromstring(unseal(payload_of(mail), vendor_home).plaintext)
        if root.tag == "digest":
            digests += 1
            outputs += [a.findtext("service/plugin-output") for a in root.find("events")]
        else:
            alerts += 1
            outputs.append(root.findtext("service/plugin-output"))
    return alerts, digests, outputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    events = parser.parse_args().events
    tkalert = installed_command()
    compile_package()
    with tempfile.TemporaryDirectory(prefix="tkalert-storm-") as tmp:
        base, inbox = Path(tmp), Inbox().start()
        config, _, _ = setup(base, inbox.port, storm="interval = 10s")
        try:
            cpu, start = children_cpu(), time.perf_counter()
            fire(tkalert, config, events)
            hooks_done = time.perf_counter() - start
            drain(tkalert, config, base / "spool")
            wall, cpu = time.perf_counter() - start, children_cpu() - cpu
            alerts, digests, outputs = count_events(inbox, base / "vendor")
        finally:
            inbox.stop()
            for home in ("system", "vendor"):
                kill_agent(base / home)
    expected = {f"event {i}" for i in range(events)}
    lost, duplicates = expected - set(outputs), len(outputs) - len(set(outputs))
    print(f"events: {events}; all hooks returned after {hooks_done:.1f} s")
    print(f"wall time until all delivered: {wall:.1f} s; CPU of all tkalert processes: {cpu:.1f} s "
          f"({cpu / events * 1000:.1f} ms per event; goal <= 60)")
    folded = len(outputs) - alerts
    print(f"mails: {len(inbox.mails)} ({alerts} alerts on their own, {digests} digests holding {folded})")
    print(f"lost: {len(lost)}; duplicates: {duplicates}")
    return 1 if lost or duplicates else 0  # no kill -9 here: a duplicate is a bug, like a loss


if __name__ == "__main__":
    sys.exit(main())
