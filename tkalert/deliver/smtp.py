"""SMTP transport: one connection per batch to a relay or the local MTA (default localhost:25).

Options from the `[destination NAME]` section: host, port, mail_to, mail_from, timeout. A 4xx reply, a refused
or dropped connection and a timeout are temporary; a 5xx reply is permanent (RFC 5321 section 4.2.1).
"""

from __future__ import annotations

import smtplib
import socket

from tkalert.config import Destination, Settings
from tkalert.deliver.mail import inline_mail
from tkalert.deliver.outcome import Outcome
from tkalert.errors import ConfigError
from tkalert.message import SealedMessage

KNOWN = {"host", "port", "mail_to", "mail_from", "timeout"}


class SmtpTransport:
    def __init__(self, destination: Destination, settings: Settings):
        options = dict(destination.options)
        unknown = sorted(set(options) - KNOWN)
        if unknown:
            raise ConfigError(f"[destination {destination.name}]: unknown smtp option {unknown[0]!r}")
        self.name = destination.name
        self.host = options.get("host", "localhost")
        self.port = _int(options.get("port", "25"), "port", destination.name)
        self.timeout = _int(options.get("timeout", "20"), "timeout", destination.name)
        self.mail_to = options.get("mail_to")
        self.mail_from = options.get("mail_from") or f"tkalert@{socket.getfqdn()}"

    def override_recipient(self, mail_to: str) -> None:
        self.mail_to = mail_to

    def deliver(self, messages: list[SealedMessage]) -> list[Outcome]:
        if not self.mail_to:
            raise ConfigError(f"[destination {self.name}]: mail_to is not set (or give --override-target-mail)")
        try:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            return [self._failed(m, f"cannot connect to {self.host}:{self.port}: {_reason(exc)}", exc) for m in messages]
        outcomes = []
        try:
            for message in messages:
                outcomes.append(self._send_one(client, message))
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        return outcomes

    def _send_one(self, client: smtplib.SMTP, message: SealedMessage) -> Outcome:
        mail = inline_mail(message, self.mail_from, self.mail_to)
        try:
            client.send_message(mail, self.mail_from, [self.mail_to])
        except (OSError, smtplib.SMTPException) as exc:
            return self._failed(message, f"{self.host}:{self.port}: {_reason(exc)}", exc)
        return Outcome.sent(message.message_id, self.name)

    def _failed(self, message: SealedMessage, text: str, exc: Exception) -> Outcome:
        return Outcome.failed(message.message_id, self.name, text, permanent=_permanent(exc))


def _permanent(exc: Exception) -> bool:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        return bool(codes) and all(c >= 500 for c in codes)
    return isinstance(code, int) and code >= 500


def _reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {' '.join(text.split())}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r}: {c} {m.decode('utf-8', 'replace')}" for r, (c, m) in exc.recipients.items())
    return " ".join(str(exc).split()) or type(exc).__name__


def _int(value: str, key: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"[destination {name}]: {key} must be a whole number, not {value!r}") from None
