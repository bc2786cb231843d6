"""The vendor's receiver for tests: its own site (receiver.conf, a copy of the vendor's GnuPG home, SQLite or a
PostgreSQL database), the real `python -m tkalert.receiver` run as a child, `serve` started on free ports.

`make_receiver(root, keys, database_url)` writes the config, runs `init` and adds the cast's contract (the auth key
the cast's tkalert.conf sends); `site.rows()` reads the message table directly (sqlite3 or psycopg), so the tests
see what the receiver stored, not what its commands print.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cast.ports import free_port

AUTH_KEY = "0123456789a"  # the one cast.config writes
SYSTEM_ID = "test-system"


@dataclass
class ReceiverSite:
    root: Path
    config: Path
    database_url: str | None
    gnupg_home: Path
    store_dir: Path
    smtp_port: int
    https_port: int | None = None
    processes: list = field(default_factory=list)

    def run(self, *args: str, input: bytes | None = None, timeout: float = 120, env: dict | None = None):
        return subprocess.run([sys.executable, "-m", "tkalert.receiver", "--config", str(self.config), *args],
                              input=input, capture_output=True, timeout=timeout, check=False,
                              env=env if env is not None else dict(os.environ))

    def ok(self, *args: str, **kwargs) -> str:
        done = self.run(*args, **kwargs)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout.decode()

    def serve(self) -> subprocess.Popen:
        """Start `serve` and return once its SMTP port (and HTTPS port) accept connections."""
        process = subprocess.Popen([sys.executable, "-m", "tkalert.receiver", "--config", str(self.config), "serve"],
                                   stdout=subprocess.DEVNULL, stderr=open(self.root / "serve.log", "ab"))
        self.processes.append(process)
        for port in (self.smtp_port, self.https_port):
            if port is not None:
                wait_for_port(port, process, self.root / "serve.log")
        return process

    def stop(self) -> None:
        """Stop the `serve` processes and the gpg-agent of the site's home (a later command starts another)."""
        from tkalert.openpgp.keys import kill_agent

        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()
        kill_agent(self.gnupg_home)

    def rows(self, sql: str = "SELECT verdict, reason, message_id FROM receiver_message WHERE parent_id IS NULL "
                              "ORDER BY id", params: tuple = ()) -> list[tuple]:
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url) as connection:
                return [tuple(row) for row in connection.execute(sql.replace("?", "%s"), params).fetchall()]
        import sqlite3

        connection = sqlite3.connect(self.root / "state" / "receiver.sqlite3", timeout=60)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def wait_done(self, count: int, timeout: float = 120) -> list[tuple]:
        """Block until `count` top-level messages are judged; their (verdict, reason, message id) rows."""
        deadline = time.monotonic() + timeout
        while True:
            done = self.rows("SELECT verdict, reason, message_id FROM receiver_message "
                             "WHERE parent_id IS NULL AND state = 'done' ORDER BY id")
            if len(done) >= count or time.monotonic() > deadline:
                return done
            time.sleep(0.2)


    def wait_settled(self, timeout: float = 180) -> None:
        """Block until the store is empty and every imported message is judged (workers running)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = self.rows("SELECT count(*) FROM receiver_message WHERE state <> 'done'")[0][0]
            if not left and not any((self.store_dir / "new").iterdir()):
                return
            time.sleep(0.2)


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not listen on {port}: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)


def make_receiver(root: Path, keys, database_url: str | None = None, *, workers: int = 0, certificate=None,
                  extra: str = "", contract: bool = True, trust: bool = True) -> ReceiverSite:
    """A receiver site under root, initialised; with `certificate` (cast.smtp.Certificate) it serves HTTPS too.
    `trust`: the cast's system key is registered for system id test-system (`systems trust`), as the sender's
    mails do not carry their key."""
    root.mkdir(parents=True, exist_ok=True)
    home = root / "gnupg"
    shutil.copytree(keys.vendor_home, home, ignore=shutil.ignore_patterns("S.*", "*.lock"))
    home.chmod(0o700)
    keys.homes.append(home)
    smtp_port = free_port()
    https = ""
    https_port = None
    if certificate is not None:
        https_port = free_port()
        cert, key = root / "cert.pem", root / "key.pem"
        certificate.cert.cert_chain_pems[0].write_to_path(str(cert))
        certificate.cert.private_key_pem.write_to_path(str(key))
        https = f"https_listen = 127.0.0.1:{https_port}\ncertificate = {cert}\ncertificate_key = {key}\n"
    database = f"database = {database_url}\n" if database_url else ""
    config = root / "receiver.conf"
    config.write_text(f"[receiver]\nstate_dir = {root / 'state'}\ngnupg_home = {home}\n{database}"
                      f"smtp_listen = 127.0.0.1:{smtp_port}\nworkers = {workers}\n{https}{extra}", encoding="utf-8")
    site = ReceiverSite(root, config, database_url, home, root / "state" / "store", smtp_port, https_port)
    site.ok("init")
    if contract:
        site.ok("contracts", "add", AUTH_KEY, "--customer", "ACME GmbH")
    if trust:
        from tkalert.openpgp.keys import export_public

        key_file = root / "system.asc"
        key_file.write_bytes(export_public(keys.sender_home, keys.system))
        site.ok("systems", "trust", SYSTEM_ID, str(key_file))
    return site


def sealed_mail(keys, sequence: int, message_id: str | None = None, event_type: str = "heartbeat",
                system_id: str = "test-system", auth_key: str = AUTH_KEY) -> tuple[str, bytes]:
    """(message id, RFC 822 mail) as the sender writes it: a real document signed by the cast's system key and
    encrypted to the vendor key, inline-armored; made in this process (no sender spool) for tests that need many."""
    import time as clock
    import uuid

    from tkalert.document.event import Event
    from tkalert.document.stamp import Stamp
    from tkalert.document.writer import build_document
    from tkalert.openpgp.seal import seal_document

    message_id = message_id or str(uuid.uuid4())
    alert = dict(host="web01", service="HTTP", service_status="CRITICAL", output="refused") \
        if event_type == "service" else {}
    event = Event(event_type=event_type, auth_key=auth_key, contact_person="Testperson",
                  contact_mail="admin@acme-gmbh.de", **alert)
    document = build_document(event, Stamp(message_id, system_id, sequence, clock.time()))
    armored = seal_document(document, keys.sender_home, (keys.vendor,), keys.system)
    head = (f"From: tkalert@customer.test\r\nTo: callhome@vendor.test\r\nSubject: tkalert {event_type}\r\n"
            f"X-Tkalert-Message-Id: {message_id}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
    return message_id, head.encode("ascii") + bytes(armored).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
