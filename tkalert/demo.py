"""The whole sender pipeline on an embedded default: no server, no keys, no config needed.

In a temporary directory it creates a vendor key and a system key, starts an SMTP server on a free localhost
port, sends a heartbeat and TKalert 1.5's reference IPMI alert through the real build -> seal -> deliver steps,
then plays the vendor: decrypts each mail, checks the signature and validates the document against the XSD.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from tkalert.document.event import Event
from tkalert.cli.keys import export_public, generate_system_key

IPMI_ALERT = Event(
    kind="service", auth_key="0123456789a", contact_person="Testperson", contact_mail="admin@acme-gmbh.de",
    host="host1.example.com", host_status="UP", ip="127.0.0.200", os="Ubuntu 16.04.3 LTS", serial="90000xxxxx",
    service="IPMI Sensors", service_status="CRITICAL",
    output="Critical [PS 1 Status = 'Presence detected' 'Power Supply Failure detected']",
    perf="'System Temp'=28.00 'Peripheral Temp'=36.00 'FAN 1'=1725.00", duration="3600",
    component_serial="012345", component_name="IPMI", notification_type="PROBLEM",
)


class Inbox:
    """aiosmtpd handler: keeps what the embedded server accepts."""

    def __init__(self):
        self.mails: list[bytes] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(envelope.original_content or envelope.content)
        self.arrived.set()
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_demo(say=print) -> int:
    from aiosmtpd.controller import Controller

    with tempfile.TemporaryDirectory(prefix="tkalert-demo-") as tmp:
        base = Path(tmp)
        vendor_home, system_home = base / "vendor", base / "system"
        vendor = generate_system_key(vendor_home, "vendor.example")
        _encryption_subkey(vendor_home, vendor)
        system = generate_system_key(system_home, "demo.example")
        _import(system_home, export_public(vendor_home, vendor))
        _import(vendor_home, export_public(system_home, system))
        say(f"vendor key {vendor}, system key {system}")
        inbox, port = Inbox(), free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            settings = _settings(base, port, vendor, system, system_home)
            failures = sum(_send_and_read(event, settings, system_home, vendor_home, system, inbox, say)
                           for event in (Event(kind="heartbeat", auth_key="0123456789a"), IPMI_ALERT))
        finally:
            controller.stop()
            for home in (vendor_home, system_home):
                subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False)
    say("demo: all steps passed" if not failures else f"demo: {failures} step(s) failed")
    return 1 if failures else 0


def _send_and_read(event, settings, system_home, vendor_home, system, inbox, say) -> int:
    import gnupg

    from tkalert.document.reader import parse_valid
    from tkalert.sender.deliver.mail import payload_of
    from tkalert.sender.pipeline import SendOptions, send_event

    inbox.arrived.clear()
    result = send_event(event, settings, SendOptions(gnupg_home=system_home))
    say(f"sent {result.kind} {result.message_id}: {result.state}" + (f" ({result.reason})" if result.reason else ""))
    if result.state != "sent" or not inbox.arrived.wait(10):
        return 1
    from email import message_from_bytes, policy

    mail = message_from_bytes(inbox.mails[-1], policy=policy.default)
    opened = gnupg.GPG(gnupghome=str(vendor_home)).decrypt(payload_of(mail), always_trust=True)
    root = parse_valid(bytes(opened.data))
    signed = opened.valid and opened.pubkey_fingerprint == system
    say(f"vendor decrypted <{root.tag}> {root.findtext('message-id')}: signature by system key "
        f"{'valid' if signed else 'NOT valid'}, document valid against tkalert.xsd")
    say(bytes(opened.data).decode("utf-8"))
    return 0 if signed else 1


def _settings(base: Path, port: int, vendor: str, system: str, home: Path):
    from tkalert.config.settings import load_settings

    config = base / "tkalert.conf"
    config.write_text(
        f"[tkalert]\nstate_dir = {base / 'state'}\nspool_dir = {base / 'spool'}\nsystem_id = demo\n"
        f"[gnupg]\nhome = {home}\nvendor_keys = {vendor}\nsystem_key = {system}\n"
        f"[destination vendor]\ntransport = smtp\nhost = 127.0.0.1\nport = {port}\n"
        f"mail_to = callhome@vendor.example\nmail_from = tkalert@demo.example\n",
        encoding="utf-8",
    )
    return load_settings(config)


def _encryption_subkey(home: Path, fingerprint: str) -> None:
    subprocess.run(["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                    "--quick-add-key", fingerprint, "cv25519", "encr", "0"], capture_output=True, check=True)


def _import(home: Path, key: bytes) -> None:
    subprocess.run(["gpg", "--homedir", str(home), "--batch", "--import"], input=key, capture_output=True, check=True)
