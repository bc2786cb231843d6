"""The spool tests' cast, importable by tests and by their child processes (run as scripts).

`Mailbox` is the vendor's SMTP server; `Clock` is the time tkalert believes it is; `write_config` writes the
tkalert.conf of a temporary machine whose spool lives under the test's tmp_path; `sealed` makes a sealed message
with a plaintext payload (gpg is seal's business); `plain_digest` is the test's make_digest.
"""

from __future__ import annotations

import asyncio
import re
import socket
import sys
import threading
import uuid
from pathlib import Path

# Tests and child processes must import this tree's code, not an installed tkalert.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tkalert.sender.message import SealedMessage  # noqa: E402

HEADER_ID = re.compile(rb"^X-Tkalert-Message-Id: *(\S+)", re.M | re.I)
DIGEST_ID = re.compile(rb"<event id=\"([^\"]+)\"/>")
EPOCH = 1_700_000_040.0  # 2023-11-14T22:14:00Z, a whole minute: storm intervals start here


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Clock:
    """The injected clock: tkalert reads it, the test moves it. Never sleeps."""

    def __init__(self, now: float = EPOCH):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


class Mailbox:
    """The vendor's SMTP server (aiosmtpd) on a free 127.0.0.1 port.

    mode: "accept" | "tempfail" (451) | "permfail" (554); delay: seconds each DATA takes before the answer.
    Keeps every accepted mail's X-Tkalert-Message-Id and, for digests, the event ids inside.
    """

    def __init__(self):
        self.port = free_port()
        self.mode = "accept"
        self.delay = 0.0
        self.accepted: list[str] = []  # message ids, one per accepted mail, duplicates kept
        self.folded: list[str] = []  # event ids found inside accepted digests
        self.connections: set = set()
        self.refused = 0
        self.controller = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.connections.add(session.peer)
            if self.mode == "tempfail":
                self.refused += 1
                return "451 4.3.0 mailbox busy, try again later"
            if self.mode == "permfail":
                self.refused += 1
                return "554 5.7.1 message refused by policy"
            content = envelope.original_content or envelope.content
            self.accepted.extend(m.decode() for m in HEADER_ID.findall(content))
            self.folded.extend(m.decode() for m in DIGEST_ID.findall(content))
        return "250 2.0.0 OK"

    def start(self) -> "Mailbox":
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def delivered(self) -> set[str]:
        """Every event id that reached the vendor, on its own or inside a digest."""
        return set(self.accepted) | set(self.folded)


CONFIG = """[tkalert]
system_id = test-system
state_dir = {state}
spool_dir = {spool}
destinations = vendor

[destination vendor]
transport = smtp
host = 127.0.0.1
port = {port}
mail_to = callhome@vendor.test
mail_from = tkalert@customer.test
timeout = {timeout}
"""


def write_config(directory: Path, port: int, sections: dict[str, dict[str, str]] | None = None,
                 timeout: float = 5) -> Path:
    text = CONFIG.format(state=directory / "state", spool=directory / "spool", port=port, timeout=timeout)
    for name, values in (sections or {}).items():
        text += f"\n[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
    path = directory / "tkalert.conf"
    path.write_text(text, encoding="utf-8")
    return path


def sealed(kind: str = "alert", host: str | None = "web1", service: str | None = "disk", state: str | None = "CRITICAL",
           message_id: str | None = None, created: str = "2023-11-14T22:13:20Z") -> SealedMessage:
    """A sealed message whose payload is its plaintext document (no gpg needed at the spool's layer)."""
    message_id = message_id or str(uuid.uuid4())
    document = (f'<alert version="2"><message-id>{message_id}</message-id><host><name>{host}</name></host>'
                f'<service><name>{service}</name><status>{state}</status></service></alert>\n').encode()
    if kind != "alert":
        document = f'<{kind} version="2"><message-id>{message_id}</message-id></{kind}>\n'.encode()
        host = service = state = None
    return SealedMessage(message_id=message_id, kind=kind, system_id="test-system", sequence=1, created=created,
                         payload=document, plaintext=document, encrypted=False, host=host, service=service,
                         state=state)


def plain_digest(messages) -> SealedMessage:
    """The test's make_digest: a plaintext document naming every folded event (the lead's build_digest seals)."""
    events = "".join(f'<event id="{m.message_id}"/>\n' for m in messages)  # SMTP lines stay short
    document = f"<digest>\n{events}</digest>\n".encode()
    return SealedMessage(message_id=str(uuid.uuid4()), kind="digest", system_id="test-system", sequence=0,
                         created=messages[0].created, payload=document, plaintext=document, encrypted=False)
