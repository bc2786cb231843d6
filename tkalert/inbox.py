"""A small SMTP inbox on localhost: the vendor's end of the pipeline, after deliver.

`tkalert demo` sends to it and reads what arrived as the vendor would (the tests' SMTP servers build on it too).
`Inbox` is an aiosmtpd handler that keeps every mail it accepts; `start()` runs it on a `PortLearningController`,
which listens on port 0 and learns the port the kernel gave it from the socket, so there is no race for a "free"
port. Use it as a context manager, or call start() and stop().
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller


class PortLearningController(Controller):
    """Listen on the port asked for (0: any) and learn the real one from the socket before anyone connects."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass(frozen=True)
class Received:
    """One accepted mail: the envelope and the raw message as it came over the wire."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    def message(self):
        from email import message_from_bytes, policy

        return message_from_bytes(self.content, policy=policy.default)


class Inbox:
    """aiosmtpd handler: keeps every mail it accepts in `mails`; `wait(count)` blocks until that many arrived."""

    def __init__(self):
        self.mails: list[Received] = []
        self.port = 0
        self.controller: Controller | None = None
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self._arrived:
            self.mails.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                       envelope.original_content or envelope.content))
            self._arrived.notify_all()
        return "250 OK"

    def emails(self) -> list:
        """Every accepted mail, parsed (email.message.EmailMessage)."""
        return [mail.message() for mail in self.mails]

    def wait(self, count: int = 1, timeout: float = 10) -> bool:
        """True once at least `count` mails arrived, False when `timeout` seconds passed first."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.mails) >= count, timeout)

    def start(self, hostname: str = "127.0.0.1", port: int | None = None, **options) -> "Inbox":
        """Listen on hostname:port, then in self.port; options go to aiosmtpd's Controller.

        port 0 is one the kernel picks; None (the default) is self.port: any port at first, the same one when the
        inbox is started again after stop().
        """
        port = self.port if port is None else port
        self.controller = PortLearningController(self, hostname=hostname, port=port, **options)
        self.controller.start()
        self.port = self.controller.port
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> "Inbox":
        return self if self.controller is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
