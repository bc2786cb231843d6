"""A private PostgreSQL server for the receiver's tests: Debian's postgresql binaries, a throw-away cluster in a
scratch directory, listening on 127.0.0.1 at a free port, stopped and removed afterwards.

`postgres_server()` is a context manager giving a `PostgresServer`; `server.create_database()` makes an empty
database owned by the superuser and returns its `postgresql://` URL. initdb refuses to run as root, so as root the
cluster belongs to the `postgres` user (Debian's postgresql-common creates it); as anyone else, to that user.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from cast.ports import free_port

SUPERUSER = "tkalert"


def postgres_bin() -> Path | None:
    """The newest installed server's bin directory (bookworm: /usr/lib/postgresql/15/bin), or None."""
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    return max(found, key=lambda p: int(p.parent.name)) if found else None


class PostgresServer:
    def __init__(self, root: Path, port: int, process: subprocess.Popen):
        self.root, self.port, self.process = root, port, process
        self.url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        self._names = itertools.count(1)

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(["psql", "-q", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                               "-p", str(self.port), "-U", SUPERUSER, "-d", database, "-c", sql],
                              capture_output=True, text=True, check=False, timeout=60)
        if done.returncode:
            raise RuntimeError(f"psql {sql!r} failed: {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str | None = None) -> str:
        name = name or f"test_{os.getpid()}_{next(self._names)}"
        self.psql(f'CREATE DATABASE "{name}"')
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"


def _as_owner(owner: str | None) -> list[str]:
    return ["/usr/bin/setpriv", f"--reuid={owner}", f"--regid={owner}", "--init-groups", "--"] if owner else []


@contextmanager
def postgres_server(durable: bool = False):
    """`durable`: PostgreSQL's own fsync and synchronous commits on, as in production (bench/ingest.py)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (scripts/install-receiver installs it)")
    owner = "postgres" if os.geteuid() == 0 else None
    # Not under pytest's tmp_path: that is private to root and the cluster belongs to the postgres user.
    root = Path(tempfile.mkdtemp(prefix="tkalert-pg-", dir="/var/tmp"))
    data, run_dir = root / "data", root / "run"
    for path in (data, run_dir):
        path.mkdir(mode=0o700)
        if owner:
            shutil.chown(path, owner, owner)
    if owner:
        os.chmod(root, 0o755)
    process = None
    try:
        subprocess.run([*_as_owner(owner), str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER,
                        "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
                       capture_output=True, check=True, timeout=120)
        port = free_port()
        log = open(root / "postgres.log", "wb")
        # In the foreground, as our child. Durability settings off: a crash of PostgreSQL itself is not what the
        # tests are about (they kill the receiver, not the database), and it makes them several times faster.
        fast = [] if durable else ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        process = subprocess.Popen(
            [*_as_owner(owner), str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(run_dir),
             "-c", "listen_addresses=127.0.0.1", *fast, "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        ready = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]
        while subprocess.run(ready, check=False).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start: "
                                   + (root / "postgres.log").read_text(errors="replace")[-2000:])
            time.sleep(0.1)
        yield PostgresServer(root, port, process)
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown: disconnects clients, then exits
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        shutil.rmtree(root, ignore_errors=True)
