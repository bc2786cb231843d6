"""`tkalert demo`: the whole sender pipeline on an embedded default: no server, no keys, no config needed.

In a temporary directory it creates a vendor key and a system key (tkalert.openpgp.keys), starts an SMTP inbox on a
localhost port the kernel picks (tkalert.inbox), sends a heartbeat and TKalert 1.5's reference IPMI alert through the
real document -> seal -> spool -> deliver steps, then plays the vendor: opens each mail (tkalert.openpgp.unseal),
checks the signature and validates the document against the XSD.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from tkalert.document.event import Event

IPMI_ALERT = Event(
    event_type="service", auth_key="0123456789a", contact_person="Testperson", contact_mail="admin@acme-gmbh.de",
    host="host1.example.com", host_status="UP", ip="127.0.0.200", os="Ubuntu 16.04.3 LTS", serial="90000xxxxx",
    service="IPMI Sensors", service_status="CRITICAL",
    output="Critical [PS 1 Status = 'Presence detected' 'Power Supply Failure detected']",
    perf="'System Temp'=28.00 'Peripheral Temp'=36.00 'FAN 1'=1725.00", duration="3600",
    component_serial="012345", component_name="IPMI", notification_type="PROBLEM",
)


@click.command()
def demo():
    """Send a heartbeat and an alert to an embedded SMTP server and decrypt them as the vendor would."""
    return run_demo(click.echo)


def run_demo(say=print) -> int:
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
                               for event in (Event(event_type="heartbeat", auth_key="0123456789a"), IPMI_ALERT))
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
