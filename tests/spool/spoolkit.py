"""The spool tests' own helpers, importable by tests and by their child processes (run as scripts).

`Clock` is the time tkalert believes it is; `sealed` makes a sealed message with a plaintext payload (gpg is seal's
business); `plain_digest` is the test's make_digest. The SMTP server and the config come from the cast (tests/cast).
"""

from __future__ import annotations

import uuid

from tkalert.sender.message import SealedMessage

EPOCH = 1_700_000_040.0  # 2023-11-14T22:14:00Z, a whole minute: storm intervals start here


class Clock:
    """The injected clock: tkalert reads it, the test moves it. Never sleeps."""

    def __init__(self, now: float = EPOCH):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def sealed(kind: str = "alert", host: str | None = "web1", service: str | None = "disk", state: str | None = "CRITICAL",
           message_id: str | None = None, created: str = "2023-11-14T22:13:20Z") -> SealedMessage:
    """A sealed message whose payload is its plaintext document (no gpg needed at the spool's layer)."""
    message_id = message_id or str(uuid.uuid4())
    document = (f'<alert version="2"><message-id>{message_id}</message-id><host><name>{host}</name></host>'
                f'<service><name>{service}</name><status>{state}</status></service></alert>\n').encode()
    if kind != "alert":
        document = f'<{kind} version="2"><message-id>{message_id}</message-id></{kind}>\n'.encode()
        host = service = state = None
    return SealedMessage(message_id=message_id, document_type=kind, system_id="test-system", sequence=1,
                         created=created,
                         payload=document, plaintext=document, encrypted=False, host=host, service=service,
                         monitored_state=state)


def plain_digest(messages) -> SealedMessage:
    """The test's make_digest: a plaintext document naming every folded event (the lead's build_digest seals)."""
    events = "".join(f'<event id="{m.message_id}"/>\n' for m in messages)  # SMTP lines stay short
    document = f"<digest>\n{events}</digest>\n".encode()
    return SealedMessage(message_id=str(uuid.uuid4()), document_type="digest", system_id="test-system", sequence=0,
                         created=messages[0].created, payload=document, plaintext=document, encrypted=False)
