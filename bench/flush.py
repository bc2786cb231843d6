"""Benchmark: one `tkalert flush` of N queued entries to a local SMTP sink, CPU per message.

The entries are real sealed alerts: one is sealed by the real pipeline, then copied under N new message ids into
the outbox (sealing N messages would time gpg, not the flusher). Prints the flush's CPU time (user + system of the
`tkalert flush` process) per message, its wall time and how many mails arrived (goal: <= 2.5 ms CPU a message).

    python3 bench/flush.py [--entries 1000]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hook import ALERT, compile_package, installed_command, setup  # noqa: E402

from tkalert.config.settings import load_settings  # noqa: E402
from tkalert.inbox import Inbox  # noqa: E402
from tkalert.openpgp.keys import kill_agent  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fill_outbox(tkalert: str, config: Path, entries: int) -> None:
    """One real hook run against a refused port queues a sealed entry; copies of it fill the outbox."""
    from tkalert.sender.spool.entry import new_entry
    from tkalert.sender.spool.site import open_site

    subprocess.run([tkalert, "--config", str(config), *ALERT], check=True, capture_output=True)
    site = open_site(load_settings(config))
    (seed,) = site.outbox.entries("outbox")
    for _ in range(entries - 1):
        message_id = os.urandom(16).hex()
        site.outbox.add(new_entry(seed.message.replace(message_id=message_id), time.time()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--profile", metavar="FILE", help="run the flush under cProfile, its stats into FILE")
    args = parser.parse_args()
    entries = args.entries
    tkalert = installed_command()
    compile_package()
    with tempfile.TemporaryDirectory(prefix="tkalert-flush-") as tmp:
        base, inbox = Path(tmp), Inbox().start()
        config, _, _ = setup(base, inbox.port)
        queued = base / "queued.conf"  # the same spool, its destination a port nobody listens on
        queued.write_text(config.read_text().replace(f"port = {inbox.port}", "port = 9"))
        try:
            fill_outbox(tkalert, queued, entries)
            cpu, start = children_cpu(), time.perf_counter()
            command = [tkalert]
            if args.profile:  # main() returns; the console script would leave by os._exit before the stats are saved
                command = [sys.executable, "-c", "import cProfile, sys; from tkalert.cli import main; "
                           f"cProfile.run('main(sys.argv[1:])', {args.profile!r})"]
            subprocess.run([*command, "flush", "--config", str(config), "--now", "-q"], check=True)
            wall, cpu = time.perf_counter() - start, children_cpu() - cpu
            inbox.wait(entries, timeout=30)
        finally:
            inbox.stop()
            for home in ("system", "vendor"):
                kill_agent(base / home)
    print(f"flush of {entries} queued entries: {len(inbox.mails)} mails arrived")
    print(f"CPU of the flush: {cpu * 1000:.0f} ms, {cpu / entries * 1000:.2f} ms per message (goal <= 2.5); "
          f"wall {wall:.1f} s")
    return 0 if len(inbox.mails) == entries else 1


if __name__ == "__main__":
    sys.exit(main())
