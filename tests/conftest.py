"""Shared fixtures: real gpg keys in fresh homes, a real SMTP server on a free port, config files.

The cast: the *vendor* (holds the secret key messages are encrypted to), the *system* (this machine's signing key,
kept in the sender's home next to the vendor's public key), a *decoy* (another key carrying the vendor's user id,
planted in the sender's keyring) and an *expired* vendor key.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from servers import certificate, other_certificate, smtp_server  # noqa: F401  (fixtures for every folder)

VENDOR_UID = "Vendor Support <callhome@vendor.test>"
SYSTEM_UID = "tkalert system <tkalert@customer.test>"


def gpg(home: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", "",
         *args],
        input=input, capture_output=True, check=True,
    )


def new_home(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True)
    return path


def generate_key(home: Path, uid: str, expire: str = "1y", faked_time: str | None = None) -> str:
    extra = ["--faked-system-time", faked_time] if faked_time else []
    gpg(home, *extra, "--quick-gen-key", uid, "future-default", "default", expire)
    listing = gpg(home, "--with-colons", "--list-secret-keys", uid).stdout.decode().splitlines()
    # the newest key with this uid: the fpr line right after its last "sec" line
    last_sec = max(i for i, line in enumerate(listing) if line.startswith("sec:"))
    return next(line for line in listing[last_sec:] if line.startswith("fpr:")).split(":")[9]


def export(home: Path, fingerprint: str) -> bytes:
    return gpg(home, "--armor", "--export", fingerprint).stdout


def kill_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False)


@dataclass
class Keys:
    vendor_home: Path
    sender_home: Path
    vendor: str
    system: str
    decoy: str
    expired: str
    homes: list[Path] = field(default_factory=list)

    def decrypt(self, payload: bytes):
        """Decrypt as the vendor: return (plaintext, fingerprint of the valid signer or None)."""
        import gnupg

        result = gnupg.GPG(gnupghome=str(self.vendor_home)).decrypt(payload, always_trust=True)
        assert result.ok, result.stderr
        signer = result.pubkey_fingerprint if result.valid else None
        return bytes(result.data), signer

    def sender_copy(self, path: Path) -> Path:
        """A private copy of the sender's home, for tests that damage it."""
        shutil.copytree(self.sender_home, path, ignore=shutil.ignore_patterns("S.*", "*.lock"))
        path.chmod(0o700)
        self.homes.append(path)
        return path


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> Keys:
    base = tmp_path_factory.mktemp("gpg")
    vendor_home = new_home(base / "vendor")
    sender_home = new_home(base / "sender")
    decoy_home = new_home(base / "decoy")
    vendor = generate_key(vendor_home, VENDOR_UID)
    expired = generate_key(vendor_home, "Vendor Old <old@vendor.test>", "1d", faked_time="20200101T000000")
    decoy = generate_key(decoy_home, VENDOR_UID)
    system = generate_key(sender_home, SYSTEM_UID)
    for home, fpr in ((vendor_home, vendor), (vendor_home, expired), (decoy_home, decoy)):
        gpg(sender_home, "--import", input=export(home, fpr))
    gpg(vendor_home, "--import", input=export(sender_home, system))
    found = Keys(vendor_home, sender_home, vendor, system, decoy, expired, [vendor_home, sender_home, decoy_home])
    yield found
    for home in found.homes:
        kill_agent(home)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free localhost port that keeps every message it accepts."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[dict] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                  "data": envelope.original_content or envelope.content})
        return "250 OK"

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def mails(self):
        from email import message_from_bytes, policy

        return [message_from_bytes(m["data"], policy=policy.default) for m in self.messages]


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def write_config(path: Path, keys: Keys, port: int, state_dir: Path, home: Path | None = None,
                 extra: str = "") -> Path:
    path.write_text(
        f"""[tkalert]
auth_key = 0123456789a
contact_person = Testperson
contact_mail = admin@acme-gmbh.de
system_id = test-system
state_dir = {state_dir}
spool_dir = {state_dir / "spool"}
destinations = vendor

[gnupg]
home = {home or keys.sender_home}
vendor_keys = {keys.vendor}
system_key = {keys.system}

[destination vendor]
transport = smtp
host = 127.0.0.1
port = {port}
mail_to = callhome@vendor.test
mail_from = tkalert@customer.test
timeout = 5
{extra}""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(tmp_path, keys, smtp_sink, monkeypatch) -> Path:
    """A complete config sending to the test's SMTP sink; TKALERT_CONFIG points at it."""
    path = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, tmp_path / "state")
    monkeypatch.setenv("TKALERT_CONFIG", str(path))
    monkeypatch.delenv("TKALERT_AUTH_KEY", raising=False)
    return path


def run_tkalert(*args: str, env: dict | None = None, input: bytes | None = None, timeout: float = 60):
    """Run the real command in a child process, as a monitoring daemon would."""
    full_env = dict(os.environ if env is None else env)
    return subprocess.run([sys.executable, "-m", "tkalert", *args], capture_output=True, env=full_env,
                          input=input, timeout=timeout, check=False)
