"""`tkalert demo`: the whole loop on an embedded default: no server, no keys, no config needed.

In a temporary directory it sets up the vendor's receiver (`tkalert-receiver init`: SQLite database and vendor key
pair; a contract for the demo's auth key) and starts it (`tkalert-receiver serve`: the SMTP listener on a localhost
port and a worker), makes a system key, and sends through the real sender path (document -> seal -> spool ->
deliver over SMTP) a heartbeat, TKalert 1.5's reference IPMI alert and an alert storm whose held-back alerts go out
as one digest. The receiver pins the system's key on first contact (the key travels with the message, RFC 3156
section 7), opens, judges and stores every message; the demo prints what it stored.

The receiver runs as its own command (`python3 -m tkalert.receiver`, what /usr/bin/tkalert-receiver runs), so the
sender never imports it. Without the receiver installed (Debian: the tkalert-receiver package) the demo plays the
vendor itself: an SMTP inbox, and each mail decrypted, its signature checked and its document validated.
TKALERT_DEMO_KEEP=1 keeps the receiver's directory (database, store, serve.log) in /tmp for a closer look.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from tkalert.document.event import Event

AUTH_KEY = "0123456789a"
IPMI_ALERT = Event(
    event_type="service", auth_key=AUTH_KEY, contact_person="Testperson", contact_mail="admin@acme-gmbh.de",
    host="host1.example.com", host_status="UP", ip="127.0.0.200", os="Ubuntu 16.04.3 LTS", serial="90000xxxxx",
    service="IPMI Sensors", service_status="CRITICAL",
    output="Critical [PS 1 Status = 'Presence detected' 'Power Supply Failure detected']",
    perf="'System Temp'=28.00 'Peripheral Temp'=36.00 'FAN 1'=1725.00", duration="3600",
    component_serial="012345", component_name="IPMI", notification_type="PROBLEM",
)
STORM = 4  # disks of one array failing at once: the first goes out alone, the rest wait for the interval's digest
# The demo's storm interval: long enough that its sends never straddle two intervals on a loaded machine (then a
# disk's alert would be the next interval's first and go out alone); the flush looks at the clock as the timer
# would once the interval is over, instead of waiting for it.
STORM_INTERVAL = 3600
STRAGGLE = 30  # seconds: closer than this to the interval's end, the demo waits for the next one


@click.command()
@click.option("--sender-only", is_flag=True, help="Play the vendor with an SMTP inbox, without the receiver.")
def demo(sender_only):
    """Send a heartbeat, an alert and a storm digest to an embedded receiver and show what it stored."""
    from importlib.util import find_spec

    if sender_only or find_spec("tkalert.receiver") is None:
        if not sender_only:
            click.echo("demo: the receiver is not installed (Debian: apt install tkalert-receiver); "
                       "playing the vendor with an SMTP inbox")
        return run_sender_demo(click.echo)
    return run_demo(click.echo)


def run_demo(say=print) -> int:
    from tkalert.openpgp.keys import export_public, generate_system_key, import_keys, kill_agent

    with tempfile.TemporaryDirectory(prefix="tkalert-demo-") as tmp:
        base = Path(tempfile.mkdtemp(prefix="tkalert-demo-keep-")) if os.environ.get("TKALERT_DEMO_KEEP") else Path(tmp)
        receiver = Receiver(base / "receiver")
        system_home = base / "system"
        try:
            vendor = receiver.init()
            say(f"receiver: database (SQLite) and vendor key made by tkalert-receiver init, "
                f"vendor key {vendor}")
            receiver.ok("contracts", "add", AUTH_KEY, "--customer", "ACME GmbH (demo)")
            system = generate_system_key(system_home, "demo.example")
            import_keys(system_home, export_public(receiver.home, vendor))
            say(f"sender: system key {system}, vendor key imported; contract {AUTH_KEY} added at the receiver")
            with receiver.serving():
                say(f"receiver: listening for SMTP on 127.0.0.1:{receiver.port}")
                settings = _settings(base, receiver.port, vendor, system, system_home)
                failures = _send_all(settings, system_home, say)
                stored = receiver.wait_judged(expected=3)  # the heartbeat, the alert and the digest
            say("")
            say("what the receiver stored (tkalert-receiver messages list):")
            say(receiver.ok("messages", "list").rstrip())
            say("")
            say("the system as the receiver knows it (tkalert-receiver systems show demo):")
            say(receiver.ok("systems", "show", "demo").rstrip())
            accepted = sum(1 for row in stored if row == "accepted")
            if accepted != len(stored) or not stored:
                failures += 1
                say(f"demo: {len(stored) - accepted} message(s) not accepted")
        finally:
            for home in (receiver.home, system_home):
                kill_agent(home)
    say("demo: all steps passed" if not failures else f"demo: {failures} step(s) failed")
    return 1 if failures else 0


def _send_all(settings, system_home: Path, say) -> int:
    from tkalert.sender.pipeline import SendOptions, digest_maker, send_event
    from tkalert.sender.spool import flush

    options = SendOptions(gnupg_home=system_home)
    failures = 0
    events = [Event(event_type="heartbeat", auth_key=AUTH_KEY), IPMI_ALERT]
    events += [IPMI_ALERT.replace(service=f"Disk {n}", output=f"CRITICAL - disk {n} failed",
                                  component_name=f"disk{n}") for n in range(1, STORM + 1)]
    left = STORM_INTERVAL - time.time() % STORM_INTERVAL
    if left < STRAGGLE:
        say(f"waiting {left:.0f} s for a fresh storm interval")
        time.sleep(left + 0.1)
    for event in events:
        result = send_event(event, settings, options)
        reason = f" ({result.reason})" if result.reason else ""
        say(f"sent {result.document_type} {result.message_id}: {result.state}{reason}")
        failures += result.state not in ("sent", "queued")
    # the storm's held-back alerts go out as one digest once their interval is over (`tkalert flush` does this)
    interval_over = (time.time() // STORM_INTERVAL + 1) * STORM_INTERVAL + 1
    report = flush(settings, make_digest=digest_maker(settings, options), wait=None,
                   clock=lambda: max(time.time(), interval_over))
    say(f"flush: {report.summary()}")
    return failures


class Receiver:
    """`tkalert-receiver` in its own processes, on a config under `root`."""

    def __init__(self, root: Path):
        root.mkdir(mode=0o700)
        self.root, self.home, self.port = root, root / "gnupg", _free_port()
        self.config = root / "receiver.conf"
        self.config.write_text(f"[receiver]\nstate_dir = {root}\ngnupg_home = {self.home}\n"
                               f"smtp_listen = 127.0.0.1:{self.port}\nworkers = 1\n", encoding="utf-8")
        self.command = [sys.executable, "-m", "tkalert.receiver", "--config", str(self.config)]

    def ok(self, *args: str) -> str:
        done = subprocess.run([*self.command, *args], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            raise click.ClickException(f"tkalert-receiver {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def init(self) -> str:
        line = self.ok("init")
        return line.split("vendor key ", 1)[1].split(";", 1)[0].strip()

    def serving(self):
        receiver = self

        class Serving:
            def __enter__(self):
                self.log = open(receiver.root / "serve.log", "wb")
                self.process = subprocess.Popen([*receiver.command, "serve"], stdout=self.log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
                deadline = time.monotonic() + 60
                while True:
                    try:
                        with socket.create_connection(("127.0.0.1", receiver.port), timeout=1):
                            return self
                    except OSError:
                        if self.process.poll() is not None or time.monotonic() > deadline:
                            self.__exit__()
                            log = (receiver.root / "serve.log").read_text(errors="replace")[-1000:]
                            raise click.ClickException(f"tkalert-receiver serve did not start: {log}")
                        time.sleep(0.1)

            def __exit__(self, *exc):
                if self.process.poll() is None:
                    self.process.terminate()
                    try:
                        self.process.wait(30)
                    except subprocess.TimeoutExpired:
                        os.killpg(self.process.pid, 9)
                        self.process.wait()
                self.log.close()

        return Serving()

    def wait_judged(self, expected: int, timeout: float = 120) -> list[str]:
        """The verdicts of the received messages once `expected` are judged (or the time is up)."""
        import sqlite3

        deadline = time.monotonic() + timeout
        verdicts: list[str] = []
        while time.monotonic() < deadline:
            try:
                with sqlite3.connect(f"file:{self.root / 'receiver.sqlite3'}?mode=ro", uri=True, timeout=30) as db:
                    verdicts = [row[0] for row in db.execute(
                        "SELECT verdict FROM receiver_message WHERE state = 'done' AND channel != 'digest'")]
                    pending = db.execute("SELECT count(*) FROM receiver_message WHERE state != 'done'").fetchone()[0]
            except sqlite3.Error:
                pending = 1
            if len(verdicts) >= expected and not pending and not any((self.root / "store" / "new").iterdir()):
                break
            time.sleep(0.2)
        return verdicts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _settings(base: Path, port: int, vendor: str, system: str, home: Path):
    from tkalert.config.settings import load_settings

    config = base / "tkalert.conf"
    config.write_text(
        f"[tkalert]\nstate_dir = {base / 'state'}\nspool_dir = {base / 'spool'}\nsystem_id = demo\n"
        f"[gnupg]\nhome = {home}\nvendor_keys = {vendor}\nsystem_key = {system}\n"
        f"[storm]\nrate = 1\ninterval = {STORM_INTERVAL}\n"
        f"[destination vendor]\ntransport = smtp\nhost = 127.0.0.1\nport = {port}\n"
        f"mail_to = callhome@vendor.example\nmail_from = tkalert@demo.example\n",
        encoding="utf-8",
    )
    return load_settings(config)


def run_sender_demo(say=print) -> int:
    """The sender alone: an SMTP inbox plays the vendor, who decrypts each mail and checks signature and schema."""
    from tkalert.inbox import Inbox
    from tkalert.openpgp.keys import (add_encryption_subkey, export_public, generate_system_key, import_keys,
                                      kill_agent)

    with tempfile.TemporaryDirectory(prefix="tkalert-demo-") as tmp:
        base = Path(tmp)
        vendor_home, system_home = base / "vendor", base / "system"
        try:
            vendor = generate_system_key(vendor_home, "vendor.example")
            add_encryption_subkey(vendor_home, vendor)
            system = generate_system_key(system_home, "demo.example")
            import_keys(system_home, export_public(vendor_home, vendor))
            import_keys(vendor_home, export_public(system_home, system))
            say(f"vendor key {vendor}, system key {system}")
            with Inbox().start() as inbox:
                settings = _settings(base, inbox.port, vendor, system, system_home)
                failures = sum(_send_and_read(event, settings, system_home, vendor_home, system, inbox, say)
                               for event in (Event(event_type="heartbeat", auth_key=AUTH_KEY), IPMI_ALERT))
        finally:
            for home in (vendor_home, system_home):
                kill_agent(home)
    say("demo: all steps passed" if not failures else f"demo: {failures} step(s) failed")
    return 1 if failures else 0


def _send_and_read(event, settings, system_home, vendor_home, system, inbox, say) -> int:
    from tkalert.document.reader import parse_valid
    from tkalert.openpgp.unseal import unseal
    from tkalert.sender.deliver.mail import payload_of
    from tkalert.sender.pipeline import SendOptions, send_event

    before = len(inbox.mails)
    result = send_event(event, settings, SendOptions(gnupg_home=system_home))
    reason = f" ({result.reason})" if result.reason else ""
    say(f"sent {result.document_type} {result.message_id}: {result.state}{reason}")
    if result.state != "sent" or not inbox.wait(before + 1, timeout=10):
        return 1
    opened = unseal(payload_of(inbox.mails[-1].message()), vendor_home)
    root = parse_valid(opened.plaintext)
    signed = opened.signer == system
    say(f"vendor decrypted <{root.tag}> {root.findtext('message-id')}: signature by system key "
        f"{'valid' if signed else 'NOT valid'}, document valid against tkalert.xsd")
    say(opened.plaintext.decode("utf-8"))
    return 0 if signed else 1
