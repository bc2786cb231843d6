"""Receipt: a signed answer to the sender's contact for every test message (1.5's "TKmon Setup OK" loop).

act writes the receipt's text into the outbox (key `receipt:<message id>`, so a duplicate test message gets no
second one); the outbox signs it with the vendor key as it sends it (`clearsign`, RFC 4880 section 7), so the
customer can check with the vendor's public key that the vendor's receiver, not anyone, got the test.
"""

from __future__ import annotations

import os
import subprocess

from tkalert.errors import SealError, one_line


def contact_of(message) -> str:
    """Where a mail about `message` goes: the contact it names, else its system's last known one ("" if none)."""
    return (message.fields or {}).get("contact-mail") or (message.system.contact_mail if message.system else "")


def receipt(message, act, what: str = "test message") -> bool:
    from tkalert.receiver.outbox import enqueue
    from tkalert.receiver.models import Outbox

    contact = contact_of(message)
    if not contact or (what == "test message" and not act.receipts):
        return False
    body = (f"tkalert-receiver: {what} {message.message_id} from system {message.system.system_id} "
            f"received {message.received_at:%Y-%m-%d %H:%M:%S} UTC and accepted"
            + (" (Service: Invalid: the contract is revoked or expired)" if message.service_invalid else "")
            + ".\n" + ("Your call-home set-up works.\n" if what == "test message" else ""))
    return enqueue(f"receipt:{message.message_id}", Outbox.Kind.MAIL, "receipt", contact,
                   f"tkalert Setup OK: {what} {message.message_id} received" if what == "test message" else
                   f"tkalert: {what} {message.message_id} received", body, message.received_at,
                   system=message.system)


def clearsign(config, text: str) -> str:
    """`text` clearsigned by the vendor key in the receiver's GnuPG home (its passphrase from passphrase_file)."""
    passphrase = config.passphrase()
    args = ["gpg", "--homedir", str(config.gnupg_home), "--batch", "--yes", "--pinentry-mode", "loopback"]
    read_end = None
    if passphrase is not None:
        read_end, write_end = os.pipe()
        os.write(write_end, passphrase.encode() + b"\n")
        os.close(write_end)
        args += ["--passphrase-fd", str(read_end)]
    else:
        args += ["--passphrase", ""]
    try:
        done = subprocess.run([*args, "--clearsign"], input=text.encode(), capture_output=True, check=False,
                              pass_fds=(read_end,) if read_end is not None else (), timeout=60)
    finally:
        if read_end is not None:
            os.close(read_end)
    if done.returncode:
        said = one_line(done.stderr.decode(errors="replace"))
        raise SealError(f"cannot sign the receipt with the vendor key: {said}")
    return done.stdout.decode()
