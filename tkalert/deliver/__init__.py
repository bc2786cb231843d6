"""Deliver: hand sealed messages to a destination and say, per message, whether it arrived.

Takes `SealedMessage`s and the configured `Destination`s; returns one `Outcome` per message. A transport
delivers a whole batch over one connection. Expected failures (server down, 4xx, 5xx, bad credentials) are
outcomes, not exceptions: the spool records them and retries the temporary ones. Only misconfiguration raises
(`ConfigError`).
"""

from __future__ import annotations

from typing import Sequence

from tkalert.config import Destination, Settings
from tkalert.deliver.outcome import Outcome
from tkalert.errors import ConfigError
from tkalert.message import SealedMessage

# transport name -> "module:class"; imported only when a destination uses it (the hook path stays lean).
TRANSPORTS = {
    "smtp": "tkalert.deliver.smtp:SmtpTransport",
}


def open_transport(destination: Destination, settings: Settings):
    try:
        target = TRANSPORTS[destination.transport]
    except KeyError:
        raise ConfigError(
            f"[destination {destination.name}]: unknown transport {destination.transport!r} "
            f"(known: {', '.join(sorted(TRANSPORTS))})"
        ) from None
    module_name, class_name = target.split(":")
    module = __import__(module_name, fromlist=[class_name])
    return getattr(module, class_name)(destination, settings)


def deliver_batch(messages: Sequence[SealedMessage], settings: Settings, override_to: str | None = None) -> list[Outcome]:
    """Try each destination in order; a message goes to the next one only when the previous failed."""
    if not settings.destinations:
        raise ConfigError(
            "no destination configured: add a [destination NAME] section with transport, host, port and mail_to "
            "to the config file (see tkalert.conf(5))"
        )
    pending = list(messages)
    final: dict[str, Outcome] = {}
    for destination in settings.destinations:
        if not pending:
            break
        transport = open_transport(destination, settings)
        if override_to:
            transport.override_recipient(override_to)
        outcomes = transport.deliver(pending)
        for outcome in outcomes:
            final[outcome.message_id] = outcome
        pending = [m for m, o in zip(pending, outcomes) if not o.delivered]
    return [final[m.message_id] for m in messages]
