"""Benchmark: one `tkalert --type service ...` invocation, delivered to a local SMTP sink, against its floor.

The floor is what any hook must pay: starting Python (`python3 -c pass`) plus one `gpg --sign --encrypt` of the
same document. Both are measured in the same run, interleaved, so machine noise hits both alike; the ratio is the
figure to watch (product goal: <= 1.5).

    python3 bench/hook.py [--runs 30] [--archive 10000]

With --archive N a second spool whose archive holds N records (recent, inside the retention) is timed in the same
run, interleaved with the empty one: work per event must not grow with history, so both ratios should match.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tkalert.inbox import Inbox
from tkalert.openpgp.keys import add_encryption_subkey, export_public, generate_system_key, import_keys, kill_agent

ALERT = ["--type=service", "--host=web01", "--host-status=UP", "--service=IPMI Sensors",
         "--service-status=CRITICAL", "--output=Critical [PS 1 Status = 'Power Supply Failure detected']",
         "--perf='System Temp'=28.00 'FAN 1'=1725.00", "--duration=3600.5", "--serial=90000xxxxx"]


def installed_command() -> str:
    """The `tkalert` script pip made for this interpreter; a version manager's shim on PATH would add its own
    start-up (a bash script) to every run and to no floor run."""
    beside = Path(sys.executable).resolve().parent / "tkalert"
    found = str(beside) if beside.exists() else shutil.which("tkalert")
    return found or sys.exit("tkalert is not installed (scripts/install)")


def timed(args: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, **kwargs)
    return time.perf_counter() - start


def setup(base: Path, port: int, storm: str = "enabled = off") -> tuple[Path, str, str]:
    vendor_home, home = base / "vendor", base / "system"
    vendor = generate_system_key(vendor_home, "vendor.example")
    add_encryption_subkey(vendor_home, vendor)
    system = generate_system_key(home, "bench.example")
    import_keys(home, export_public(vendor_home, vendor))
    config = base / "tkalert.conf"
    config.write_text(
        f"[tkalert]\nauth_key = 0123456789a\nstate_dir = {base / 'state'}\nspool_dir = {base / 'spool'}\n"
        f"system_id = bench\n[gnupg]\nhome = {home}\nvendor_keys = {vendor}\nsystem_key = {system}\n"
        f"[destination vendor]\nhost = 127.0.0.1\nport = {port}\nmail_to = callhome@vendor.example\n"
        "mail_from = tkalert@bench.example\n"
        # One event's path is measured here (storm control off); bench/storm.py measures the folding.
        f"[storm]\n{storm}\n")
    return config, vendor, system


def fill_archive(tkalert: str, config: Path, archive: Path, records: int) -> None:
    """Give `config`'s archive `records` records: one real hook makes the first, copies under new ids the rest
    (finished now, so inside the default retention and never pruned during the run)."""
    subprocess.run([tkalert, "--config", str(config), *ALERT, "--component-name=archive seed"], check=True,
                   capture_output=True)
    (seed,) = [p for p in archive.iterdir() if p.suffix == ".json"]
    record = json.loads(seed.read_bytes())
    for _ in range(records - 1):
        record["message"]["message_id"] = message_id = os.urandom(16).hex()
        (archive / f"{message_id}.json").write_text(json.dumps(record, indent=1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--archive", type=int, default=0, metavar="N",
                        help="also time a spool whose archive holds N records, interleaved with the empty one")
    args = parser.parse_args()
    runs = args.runs
    tkalert = installed_command()
    with tempfile.TemporaryDirectory(prefix="tkalert-bench-") as tmp:
        base, inbox = Path(tmp), Inbox().start()
        config, vendor, system = setup(base, inbox.port)
        home = str(base / "system")
        full_config = None
        if args.archive:  # same keys, its own state and spool
            full_config = base / "tkalert-full.conf"
            full_config.write_text(config.read_text().replace(str(base / "state"), str(base / "state-full"))
                                   .replace(str(base / "spool"), str(base / "spool-full")))
            fill_archive(tkalert, full_config, base / "state-full" / "archive", args.archive)
        document = subprocess.run([tkalert, "--config", str(config), *ALERT, "--dump-xml=-"], check=True,
                                  capture_output=True).stdout
        hook, floor, full = [], [], []
        gpg = ["gpg", "--homedir", home, "--batch", "--trust-model", "always", "--armor", "--local-user",
               f"{system}!", "--sign", "--encrypt", "--recipient", vendor]
        try:
            timed(gpg, input=document)  # start gpg-agent once for both sides
            for n in range(runs):
                floor.append(timed([sys.executable, "-c", "pass"]) + timed(gpg, input=document))
                hook.append(timed([tkalert, "--config", str(config), *ALERT, f"--component-name=run {n}"]))
                if full_config:
                    full.append(timed([tkalert, "--config", str(full_config), *ALERT, f"--component-name=full {n}"]))
        finally:
            inbox.stop()
            kill_agent(Path(home))
            kill_agent(base / "vendor")
    expected = runs * (2 if full_config else 1) + (1 if full_config else 0)
    if len(inbox.mails) != expected:
        print(f"only {len(inbox.mails)} of {expected} messages arrived", file=sys.stderr)
        return 1
    hook_ms, floor_ms = statistics.median(hook) * 1000, statistics.median(floor) * 1000
    print(f"runs: {runs}, all {len(inbox.mails)} messages delivered")
    print(f"hook  (tkalert --type service, delivered): median {hook_ms:.1f} ms")
    print(f"floor (python3 -c pass + gpg --sign --encrypt): median {floor_ms:.1f} ms")
    print(f"ratio hook/floor: {hook_ms / floor_ms:.2f}  (goal <= 1.5)")
    if full_config:
        full_ms = statistics.median(full) * 1000
        print(f"hook with {args.archive} archive records: median {full_ms:.1f} ms")
        print(f"ratio hook/floor with {args.archive} archive records: {full_ms / floor_ms:.2f}  "
              f"({full_ms / hook_ms - 1:+.1%} against the empty archive; goal within 5%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
