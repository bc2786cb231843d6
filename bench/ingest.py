"""Benchmark: the receiver's throughput against a plain `gpg --decrypt` loop, and the MTA pipe's start-up cost.

N signed and encrypted messages (real documents, sealed with tkalert's own seal step) are sent over SMTP to
`tkalert-receiver serve` (SQLite, --workers worker processes) and timed until all are judged. The floor is the
least any receiver must do with the same messages on the same cores: one `gpg --decrypt` per message, in as many
parallel loops (the faster of one and two per core counts, so the floor is never handicapped). Both are measured
in the same run; the ratio of throughputs is the figure to watch (goal >= 0.8). Where the receiver's time goes is
printed as CPU milliseconds per message (from /proc, over the timed stretch): the listener (`serve`), the workers'
Python, the gpg processes they ran and the vendor home's gpg-agent, against the floor's gpg and agent. Then the pipe
(`tkalert-receiver ingest`, one process per mail) is timed against `python3 -c pass`, interleaved.

    python3 bench/ingest.py [--count 2000] [--workers CORES] [--runs 30] [--database sqlite|postgresql]

`--database postgresql` runs the receiver on a private PostgreSQL server (Debian's binaries, as the tests start
it: tests/cast/postgres.py), with its fsync and synchronous commits on.
"""

from __future__ import annotations

import argparse
import os
import resource
import smtplib
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from tkalert.document.event import Event
from tkalert.document.stamp import Stamp, new_message_id
from tkalert.document.writer import build_document
from tkalert.openpgp.keys import add_encryption_subkey, export_public, generate_system_key, import_keys, kill_agent
from tkalert.openpgp.seal import seal_document

AUTH_KEY = "0123456789a"
SYSTEM_ID = "bench"


def receiver(*args: str, config: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tkalert.receiver", "--config", str(config), *args], check=True,
                          capture_output=True, **kwargs)


def make_keys(base: Path) -> tuple[Path, Path, str, str]:
    vendor_home, home = base / "vendor", base / "system"
    vendor = generate_system_key(vendor_home, "vendor.example")
    add_encryption_subkey(vendor_home, vendor)
    system = generate_system_key(home, "bench.example")
    import_keys(home, export_public(vendor_home, vendor))
    import_keys(vendor_home, export_public(home, system))  # the floor verifies the signature too, as the receiver
    return vendor_home, home, vendor, system


def sealed(home: Path, vendor: str, system: str, sequence: int) -> tuple[str, bytes, bytes]:
    """(message id, armored payload, mail) of one alert."""
    message_id = new_message_id()
    event = Event(event_type="service", auth_key=AUTH_KEY, contact_person="Bench", contact_mail="b@bench.example",
                  host="web01", service="HTTP", service_status="CRITICAL", output=f"run {sequence}")
    armored = bytes(seal_document(build_document(event, Stamp(message_id, SYSTEM_ID, sequence, time.time())),
                                  home, (vendor,), system))
    head = (f"From: tkalert@bench.example\r\nTo: callhome@vendor.example\r\nSubject: tkalert alert\r\n"
            f"X-Tkalert-Message-Id: {message_id}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
    return message_id, armored, head.encode() + armored.replace(b"\n", b"\r\n")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def send_all(port: int, mails: list[bytes], clients: int = 4) -> None:
    chunks = [mails[n::clients] for n in range(clients)]

    def send(chunk):
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            for data in chunk:
                client.sendmail("tkalert@bench.example", ["callhome@vendor.example"], data)

    threads = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def connect(database: Path | str):
    """A connection to the receiver's database: the SQLite file, or a postgresql:// URL."""
    if isinstance(database, Path):
        connection = sqlite3.connect(database, timeout=60)
        connection.isolation_level = None  # autocommit: every poll sees the newest commit
        return connection
    import psycopg

    return psycopg.connect(database, autocommit=True)


def judged(database: Path | str) -> list[tuple[str, int]]:
    connection = connect(database)
    try:
        return connection.execute("SELECT verdict, count(*) FROM receiver_message WHERE state = 'done' "
                                  "GROUP BY verdict").fetchall()
    finally:
        connection.close()


def done_count(connection) -> int:
    """How many are judged, from the (state, id) index alone: the rows (raw bytes and all) are not read, so the
    bench's polling takes next to nothing from the cores it measures."""
    return connection.execute("SELECT count(*) FROM receiver_message WHERE state = 'done'").fetchone()[0]


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own, waited-for children's) CPU seconds of a process, user + system (/proc/PID/stat)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0, 0.0
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state is field 3, utime field 14
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime) / TICKS, (cutime + cstime) / TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def agents_of(home: Path) -> list[int]:
    """The gpg-agent processes serving `home` (gpg starts it on demand; it is nobody's child we wait for)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                command = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if command and command[0].endswith(b"gpg-agent") and str(home).encode() in command:
                found.append(int(proc.name))
    return found


class Cpu:
    """CPU seconds spent by parts of the receiver between `start` and `stop` (with PostgreSQL: its server too)."""

    def __init__(self, serve: int, vendor_home: Path, database_pid: int | None = None):
        self.serve, self.vendor_home, self.database_pid = serve, vendor_home, database_pid

    def sample(self) -> dict[str, float]:
        workers = [c for c in children_of(self.serve) if b" work" in Path(f"/proc/{c}/cmdline").read_bytes()
                   .replace(b"\0", b" ")] if Path(f"/proc/{self.serve}").exists() else []
        own = [cpu_seconds(w) for w in workers]
        spent = {"listener": cpu_seconds(self.serve)[0], "workers": sum(o for o, _ in own),
                 "gpg": sum(c for _, c in own), "agent": sum(cpu_seconds(a)[0] for a in agents_of(self.vendor_home))}
        if self.database_pid:  # the postmaster, the backends it reaped, and those still serving
            spent["database"] = sum(cpu_seconds(self.database_pid)) + sum(
                cpu_seconds(c)[0] for c in children_of(self.database_pid))
        return spent

    def start(self) -> None:
        self.before = self.sample()

    def stop(self) -> dict[str, float]:
        after = self.sample()
        return {part: after[part] - self.before[part] for part in after}


def receiver_seconds(base: Path, vendor_home: Path, home: Path, system: str, mails: list[bytes],
                     workers: int, database_url: str | None, database_pid: int | None) -> tuple[float, dict]:
    port = free_port()
    config = base / "receiver.conf"
    database = database_url or base / "state" / "receiver.sqlite3"
    config.write_text(f"[receiver]\nstate_dir = {base / 'state'}\ngnupg_home = {vendor_home}\n"
                      f"smtp_listen = 127.0.0.1:{port}\nworkers = {workers}\n"
                      + (f"database = {database_url}\n" if database_url else ""))
    receiver("init", config=config)
    receiver("contracts", "add", AUTH_KEY, config=config)
    (base / "system.asc").write_bytes(export_public(home, system))
    receiver("systems", "trust", SYSTEM_ID, str(base / "system.asc"), config=config)
    serve = subprocess.Popen([sys.executable, "-m", "tkalert.receiver", "--config", str(config), "serve"],
                             stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        time.sleep(2)  # the workers' own start-up (Django) is not part of the throughput
        cpu = Cpu(serve.pid, vendor_home, database_pid)
        cpu.start()
        start = time.perf_counter()
        send_all(port, mails)
        sent = time.perf_counter() - start
        polling = connect(database)
        try:
            while done_count(polling) < len(mails):
                time.sleep(0.05)
        finally:
            polling.close()
        seconds = time.perf_counter() - start
        spent = cpu.stop()
    finally:
        serve.terminate()
        serve.wait(30)
    verdicts = dict(judged(database))
    if verdicts != {"accepted": len(mails)}:
        sys.exit(f"not all accepted: {verdicts}")
    return seconds, {**spent, "sent": sent}


def gpg_seconds(vendor_home: Path, payloads: list[bytes], cores: int) -> tuple[float, dict[str, float]]:
    command = ["gpg", "--homedir", str(vendor_home), "--batch", "--quiet", "--decrypt"]

    def loop(chunk):
        for payload in chunk:
            subprocess.run(command, input=payload, capture_output=True, check=True)

    agents = sum(cpu_seconds(a)[0] for a in agents_of(vendor_home))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(loop, [payloads[n::cores] for n in range(cores)]))
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, {"gpg": after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime,
                     "agent": sum(cpu_seconds(a)[0] for a in agents_of(vendor_home)) - agents}


def pipe_startup(base: Path, mail: bytes, runs: int) -> tuple[float, float]:
    config = base / "pipe.conf"
    config.write_text(f"[receiver]\nstate_dir = {base / 'pipe-state'}\n")
    (base / "pipe-state" / "store" / "tmp").mkdir(parents=True)
    (base / "pipe-state" / "store" / "new").mkdir()
    pipe, floor = [], []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        floor.append(time.perf_counter() - start)
        start = time.perf_counter()
        receiver("ingest", config=config, input=mail)
        pipe.append(time.perf_counter() - start)
    return statistics.median(pipe), statistics.median(floor)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30, help="pipe start-up runs")
    parser.add_argument("--workers", type=int, default=0, help="receiver workers [one per core]")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    workers = args.workers or cores
    with tempfile.TemporaryDirectory(prefix="tkalert-bench-ingest-") as tmp, ExitStack() as stack:
        base = Path(tmp)
        database_url = database_pid = None
        if args.database == "postgresql":
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
            from cast.postgres import postgres_server

            server = stack.enter_context(postgres_server(durable=True))
            database_url, database_pid = server.create_database("bench"), server.process.pid
        vendor_home, home, vendor, system = make_keys(base)
        try:
            with ThreadPoolExecutor(cores) as pool:
                made = list(pool.map(lambda n: sealed(home, vendor, system, n), range(1, args.count + 1)))
            payloads, mails = [p for _, p, _ in made], [m for _, _, m in made]
            floor, floor_cpu = min((gpg_seconds(vendor_home, payloads, loops) for loops in (cores, 2 * cores)),
                                   key=lambda run: run[0])
            full, cpu = receiver_seconds(base, vendor_home, home, system, mails, workers, database_url,
                                         database_pid)
            pipe, python = pipe_startup(base, mails[0], args.runs)
        finally:
            kill_agent(home)
            kill_agent(vendor_home)
    database = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[args.database]
    print(f"messages: {args.count} sealed alerts, cores: {cores}")
    print(f"receiver (SMTP -> store -> {workers} workers -> judged, {database}): {full:.1f} s, "
          f"{args.count / full:.1f} msg/s")
    print(f"floor (gpg --decrypt loops, the faster of {cores} and {2 * cores} in parallel): {floor:.1f} s, "
          f"{args.count / floor:.1f} msg/s")
    print(f"ratio receiver/floor throughput: {floor / full:.2f}  (goal >= 0.8)")
    print(f"SMTP: all {args.count} answered 250 after {cpu.pop('sent'):.1f} s (the workers judging meanwhile)")
    per = {part: seconds * 1000 / args.count for part, seconds in cpu.items()}
    floor_per = {part: seconds * 1000 / args.count for part, seconds in floor_cpu.items()}
    print(f"CPU ms per message, receiver: {sum(per.values()):.1f} = listener {per['listener']:.1f} + workers' "
          f"Python {per['workers']:.1f} + gpg {per['gpg']:.1f} + gpg-agent {per['agent']:.1f}"
          + (f" + PostgreSQL {per['database']:.1f}" if "database" in per else "") + "; floor: "
          f"{sum(floor_per.values()):.1f} = gpg {floor_per['gpg']:.1f} + gpg-agent {floor_per['agent']:.1f}")
    print(f"pipe (tkalert-receiver ingest): median {pipe * 1000:.1f} ms; python3 -c pass: {python * 1000:.1f} ms; "
          f"ratio {pipe / python:.2f}, +{(pipe - python) * 1000:.1f} ms per mail")
    return 0


if __name__ == "__main__":
    sys.exit(main())
