"""Benchmark: the receiver's open step (tkalert.receiver.open.open_message) against its floor, per message.

The floor is one plain `gpg --decrypt` of the same armored message in the same vendor home: whatever the receiver
does, it decrypts and verifies once. open_message adds the mail parse, the armor, gpg's status lines, the hardened
parse, the schema and the pin check. Both are timed in the same run, interleaved message by message, so machine
noise hits both alike; the ratio floor / open is the figure to watch (issue goal for the whole receiver: >= 0.8).

    python3 bench/open.py [--messages 200]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tkalert.document.event import Event
from tkalert.document.stamp import Stamp, new_message_id
from tkalert.document.writer import build_document
from tkalert.openpgp.keys import add_encryption_subkey, export_public, generate_system_key, import_keys, kill_agent
from tkalert.openpgp.seal import seal_document
from tkalert.receiver.open import open_message
from tkalert.sender.deliver.mail import compose
from tkalert.sender.message import SealedMessage


class Pins:
    def __init__(self, fingerprint: str):
        self.fingerprint = fingerprint

    def pinned_key(self, system_id: str) -> str | None:
        return self.fingerprint

    def legacy_allowed(self, auth_key: str) -> bool:
        return False


def messages(count: int, sender: Path, vendor: str, system: str) -> list[tuple[bytes, bytes]]:
    """(armored payload, raw RFC 3156 mail) per alert, as the sender's smtp transport sends them."""
    made = []
    for sequence in range(1, count + 1):
        event = Event(event_type="service", auth_key="0123456789a", host="web01", host_status="UP",
                      service="IPMI Sensors", service_status="CRITICAL", output="Critical [PS 1 Status]",
                      perf="'FAN 1'=1725.00", duration=3600.5).checked()
        stamp = Stamp(new_message_id(), "bench", sequence, time.time())
        armored = seal_document(build_document(event, stamp), sender, (vendor,), system)
        sealed = SealedMessage(stamp.message_id, "alert", "bench", sequence, "", armored, b"")
        made.append((armored, compose(sealed, "tkalert@bench.example", "callhome@vendor.example").as_bytes()))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    count = parser.parse_args().messages
    base = Path(tempfile.mkdtemp(prefix="tkalert-bench-open-"))
    vendor_home, sender = base / "vendor", base / "system"
    try:
        vendor = generate_system_key(vendor_home, "vendor.example")
        add_encryption_subkey(vendor_home, vendor)
        system = generate_system_key(sender, "bench.example")
        import_keys(sender, export_public(vendor_home, vendor))
        import_keys(vendor_home, export_public(sender, system))
        made = messages(count, sender, vendor, system)
        floor, opened = [], []
        for armored, raw in made:
            start = time.perf_counter()
            subprocess.run(["gpg", "--homedir", str(vendor_home), "--batch", "--quiet", "--decrypt"], input=armored,
                           capture_output=True, check=True)
            floor.append(time.perf_counter() - start)
            start = time.perf_counter()
            open_message(raw, home=vendor_home, passphrase=None, directory=Pins(system))
            opened.append(time.perf_counter() - start)
        low, high = statistics.median(floor), statistics.median(opened)
        print(f"{count} messages: gpg --decrypt {low * 1000:.1f} ms, open_message {high * 1000:.1f} ms (medians); "
              f"ratio floor/open {low / high:.2f} (medians), {sum(floor) / sum(opened):.2f} (totals)")
    finally:
        for home in (vendor_home, sender):
            kill_agent(home)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
