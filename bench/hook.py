"""Benchmark: one `tkalert --type service ...` invocation, delivered to a local SMTP sink, against its floor.

The floor is what any hook must pay: starting Python (`python3 -c pass`) plus one `gpg --sign --encrypt` of the
same document. Both are measured in the same run, interleaved, so machine noise hits both alike; the ratio is the
figure to watch (product goal: <= 1.5). Icinga 2's stock mail-service-notification.sh (bash + GNU mailutils'
`mail`, sending to the same SMTP sink) is timed in the same rounds: the tool admins use today.

    python3 bench/hook.py [--runs 30] [--archive 10000]

The figure users get is the installed package's: run it with the interpreter of a venv made from Debian's
/usr/bin/python3 with the package installed (`python3 -m venv V && V/bin/pip install .`, then
`V/bin/python bench/hook.py`); the package is byte-compiled first (`compileall`), as an installed package is.

The same hook is timed with the resident flusher listening (`tkalert flusher`, its own spool) and `[spool]
flusher_wait = always`: the hook hands its spooled entry over and waits for the flusher's answer; the flusher's CPU
per event (from /proc, over all runs) is printed beside it, since the hook's own CPU no longer includes the
delivery. A third spool has its own flusher and the default `flusher_wait = check`: the hook (no --check) leaves
once the flusher took its message.

With --archive N a second spool whose archive holds N records (recent, inside the retention) is timed in the same
run, interleaved with the empty one: work per event must not grow with history, so both ratios should match.

Besides wall time, the CPU time each run's process tree used (user + system, from the reaped children's rusage)
is printed for the hook and the floor: on a machine that others load, wall time also measures their load (a
waiting fsync, a run queue), CPU time only what the hook itself does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    beside = Path(sys.executable).parent / "tkalert"  # not resolved: a venv's python links to the system one
    found = str(beside) if beside.exists() else shutil.which("tkalert")
    return found or sys.exit("tkalert is not installed (scripts/install)")


ICINGA_SCRIPT = Path("/etc/icinga2/scripts/mail-service-notification.sh")
MAILUTILS = Path("/usr/bin/mail.mailutils")


def icinga_mail(base: Path, port: int) -> tuple[list[str], dict] | None:
    """Icinga's stock script as its NotificationCommand runs it, with mailutils' `mail` sending to the sink."""
    if not (ICINGA_SCRIPT.exists() and MAILUTILS.exists()):
        return None
    bin_dir, home = base / "mailbin", base / "mailhome"
    bin_dir.mkdir()
    home.mkdir()
    (bin_dir / "mail").symlink_to(MAILUTILS)  # the script calls `mail` from PATH; bsd-mailx cannot do SMTP
    (home / ".mailrc").write_text(f'set sendmail="smtp://127.0.0.1:{port}"\n')
    env = {**os.environ, "HOME": str(home), "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    argv = ["bash", str(ICINGA_SCRIPT), "-d", "2026-12-03 09:00:00 +0000", "-e", "ipmi", "-l", "web01",
            "-n", "web01", "-o", "Critical [PS 1 Status = 'Power Supply Failure detected']", "-r",
            "callhome@vendor.example", "-s", "CRITICAL", "-t", "PROBLEM", "-u", "IPMI Sensors", "-4", "192.0.2.10",
            "-f", "icinga@bench.example"]
    return argv, env


def compile_package() -> None:
    """Byte-compile the tkalert the hook runs, as installing a package does (no .pyc writes during timing)."""
    import tkalert

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(tkalert.__file__).parent)], check=True)


CPU: dict[int, list[float]] = {}  # id of a timing list -> the CPU seconds of the same runs


def timed(args: list[str], into: list[float] | None = None, **kwargs) -> float:
    """Wall seconds of one run; its CPU seconds (user + system of it and every child it reaped) go to CPU[id(into)]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, **kwargs)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if into is not None:
        CPU.setdefault(id(into), []).append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return wall


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


def resident_flusher(tkalert: str, config: Path) -> subprocess.Popen:
    """`tkalert flusher` for `config`, listening once its socket is in place."""
    from tkalert.config.settings import load_settings
    from tkalert.sender.spool import open_site

    path = open_site(load_settings(str(config))).policy.spool.flusher_socket
    child = subprocess.Popen([tkalert, "flusher", "--config", str(config), "--idle", "3600"])
    while not os.path.exists(path):
        if child.poll() is not None:
            sys.exit("tkalert flusher did not start")
        time.sleep(0.02)
    return child


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process, from /proc (clock ticks)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--archive", type=int, default=0, metavar="N",
                        help="also time a spool whose archive holds N records, interleaved with the empty one")
    args = parser.parse_args()
    runs = args.runs
    tkalert = installed_command()
    compile_package()
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
        icinga = icinga_mail(base, inbox.port)
        helped_config = base / "tkalert-helped.conf"  # same keys, its own state and spool, the flusher listening
        helped_config.write_text(config.read_text().replace(str(base / "state"), str(base / "state-helped"))
                                 .replace(str(base / "spool"), str(base / "spool-helped"))
                                 + "[spool]\nflusher_wait = always\n")
        subprocess.run([tkalert, "--config", str(helped_config), *ALERT, "--component-name=first"], check=True,
                       capture_output=True)  # the first message of a state directory exports the system key
        handed_config = base / "tkalert-handed.conf"
        handed_config.write_text(helped_config.read_text().replace("-helped", "-handed")
                                 .replace("flusher_wait = always", "flusher_wait = check"))
        subprocess.run([tkalert, "--config", str(handed_config), *ALERT, "--component-name=first"], check=True,
                       capture_output=True)
        helper = resident_flusher(tkalert, helped_config)
        handed_helper = resident_flusher(tkalert, handed_config)
        hook, floor, full, stock, helped, handed = [], [], [], [], [], []
        gpg = ["gpg", "--homedir", home, "--batch", "--trust-model", "always", "--armor", "--local-user",
               f"{system}!", "--sign", "--encrypt", "--recipient", vendor]
        try:
            timed(gpg, input=document)  # start gpg-agent once for both sides
            helper_cpu, handed_cpu = cpu_seconds(helper.pid), cpu_seconds(handed_helper.pid)
            for n in range(runs):
                floor.append(timed([sys.executable, "-c", "pass"], floor) + timed(gpg, floor, input=document))
                CPU[id(floor)][-2:] = [sum(CPU[id(floor)][-2:])]  # one floor run: python start + one gpg
                pair = [(hook, config, "run"), (helped, helped_config, "helped"), (handed, handed_config, "handed"),
                        (full, full_config, "full")][: 4 if full_config else 3]
                for times, which, name in pair if n % 2 == 0 else reversed(pair):  # neither always goes first
                    times.append(timed([tkalert, "--config", str(which), *ALERT, f"--component-name={name} {n}"],
                                       times))
                if icinga:
                    stock.append(timed(icinga[0], env=icinga[1]))
            expected = runs * (3 + bool(full_config) + bool(icinga)) + (1 if full_config else 0) + 2
            deadline = time.monotonic() + 60
            while len(inbox.mails) < expected and time.monotonic() < deadline:  # the handed ones go out after
                time.sleep(0.05)
            helper_cpu = cpu_seconds(helper.pid) - helper_cpu
            handed_cpu = cpu_seconds(handed_helper.pid) - handed_cpu
        finally:
            for child in (helper, handed_helper):
                child.terminate()
                child.wait(30)
            inbox.stop()
            kill_agent(Path(home))
            kill_agent(base / "vendor")
    if len(inbox.mails) != expected:
        print(f"only {len(inbox.mails)} of {expected} messages arrived", file=sys.stderr)
        return 1
    hook_ms, floor_ms = statistics.median(hook) * 1000, statistics.median(floor) * 1000
    print(f"interpreter: {sys.executable} (Python {sys.version.split()[0]}); hook: {tkalert}")
    print(f"runs: {runs}, all {len(inbox.mails)} messages delivered")
    print(f"hook  (tkalert --type service, delivered): median {hook_ms:.1f} ms")
    print(f"floor (python3 -c pass + gpg --sign --encrypt): median {floor_ms:.1f} ms")
    print(f"ratio hook/floor: {hook_ms / floor_ms:.2f}  (goal <= 1.5)")
    hook_cpu, floor_cpu = (statistics.median(CPU[id(times)]) * 1000 for times in (hook, floor))
    print(f"CPU time (user + system): hook median {hook_cpu:.1f} ms, floor median {floor_cpu:.1f} ms, "
          f"ratio {hook_cpu / floor_cpu:.2f}")
    helped_ms, helped_cpu = statistics.median(helped) * 1000, statistics.median(CPU[id(helped)]) * 1000
    print(f"hook with the resident flusher, flusher_wait = always (waits for its word): median {helped_ms:.1f} ms, "
          f"ratio hook/floor: {helped_ms / floor_ms:.2f}  (goal <= 1.5)")
    print(f"  CPU: hook median {helped_cpu:.1f} ms (ratio {helped_cpu / floor_cpu:.2f}), plus the flusher's "
          f"{helper_cpu / runs * 1000:.1f} ms per event (mean over the runs); hook + flusher "
          f"{(helped_cpu + helper_cpu / runs * 1000) / floor_cpu:.2f} x the floor")
    handed_ms, handed_hook_cpu = statistics.median(handed) * 1000, statistics.median(CPU[id(handed)]) * 1000
    print(f"hook with the resident flusher, flusher_wait = check, the default (leaves once handed over): median "
          f"{handed_ms:.1f} ms, ratio hook/floor: {handed_ms / floor_ms:.2f}  (goal <= 1.5)")
    print(f"  CPU: hook median {handed_hook_cpu:.1f} ms (ratio {handed_hook_cpu / floor_cpu:.2f}), plus the "
          f"flusher's {handed_cpu / runs * 1000:.1f} ms per event")
    if icinga:
        stock_ms = statistics.median(stock) * 1000
        print(f"Icinga's mail-service-notification.sh (bash + mailutils mail): median {stock_ms:.1f} ms; "
              f"hook/script: {hook_ms / stock_ms:.2f}")
    else:
        print(f"(no comparison: needs {ICINGA_SCRIPT} and {MAILUTILS}; scripts/install-bench)")
    if full_config:
        full_ms = statistics.median(full) * 1000
        print(f"hook with {args.archive} archive records: median {full_ms:.1f} ms")
        print(f"ratio hook/floor with {args.archive} archive records: {full_ms / floor_ms:.2f}  "
              f"({full_ms / hook_ms - 1:+.1%} against the empty archive; goal within 5%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
