"""Deliver: hand sealed messages to a destination and say, per message, whether it arrived.

Takes `SealedMessage`s and the configured `Destination`s (in the order of `[tkalert] destinations`); returns one
`Outcome` per message. Each destination gets one connection per batch; a message moves on to the next
destination only when the previous one failed, so it is delivered at most once per batch. Expected failures
(server down, 4xx, 5xx, bad credentials, certificate mismatch) are outcomes, not exceptions: the spool records
them and retries the temporary ones. Only misconfiguration raises (`ConfigError`), and it does so before anything
is sent, because every destination's options are checked first.

Transports (one module each): smtp, sendmail, microsoft365 (SMTP + XOAUTH2), https. `probe_destinations` runs
each transport's `probe()` for `tkalert test`: the connection stages one by one, nothing sent.
"""

from __future__ import annotations

import time
from _collections_abc import Callable, Sequence  # collections.abc without the collections package (hook path)

from tkalert.config.fields import choice, place
from tkalert.config.settings import Destination, Settings
from tkalert.sender.deliver.outcome import Outcome
from tkalert.errors import ConfigError
from tkalert.sender.message import SealedMessage

MIN_WAIT = 1.0  # seconds: the shortest network wait a deadline leaves a transport (a reply still has a chance)
# transport name -> "module:class"; imported only when a destination uses it (the hook path stays lean).
TRANSPORTS = {
    "smtp": "tkalert.sender.deliver.smtp:SmtpTransport",
    "sendmail": "tkalert.sender.deliver.sendmail:SendmailTransport",
    "microsoft365": "tkalert.sender.deliver.microsoft365:Microsoft365Transport",
    "https": "tkalert.sender.deliver.https:HttpsTransport",
}


def open_transport(destination: Destination, settings: Settings):
    where = place(settings.path, f"destination {destination.name}")
    target = TRANSPORTS[choice(destination.transport, "transport", where, TRANSPORTS)]
    module_name, class_name = target.split(":")
    module = __import__(module_name, fromlist=[class_name])
    return getattr(module, class_name)(destination, settings)


def deliver_batch(
    messages: Sequence[SealedMessage], settings: Settings, override_to: str | None = None,
    on_outcome: Callable[[Outcome], None] | None = None, deadline: float | None = None,
) -> list[Outcome]:
    """Try each destination in order; a message goes to the next one only when the previous failed.

    `on_outcome` hears each message's final outcome as soon as it is known (a delivery at once, a failure after
    the last destination), so the spool can record it before the next message goes: a flusher killed mid-batch
    then resends at most the one message that was on the wire. `deadline` (time.monotonic()) caps every network
    wait, so a server that accepts and never answers costs a recorded failure, not the caller's whole budget."""
    transports = _transports(settings, override_to)
    if deadline is not None:
        for transport in transports:
            transport.timeout = min(transport.timeout, max(MIN_WAIT, deadline - time.monotonic()))
    pending = list(messages)
    tried: dict[str, list[Outcome]] = {m.message_id: [] for m in messages}
    for index, transport in enumerate(transports):
        if not pending:
            break
        last = index == len(transports) - 1
        outcomes = []
        for outcome in transport.each_outcome(pending):
            tried[outcome.message_id].append(outcome)
            outcomes.append(outcome)
            if on_outcome is not None and (outcome.delivered or last):
                on_outcome(_final(tried[outcome.message_id]))
        pending = [m for m, o in zip(pending, outcomes, strict=True) if not o.delivered]
    return [_final(tried[m.message_id]) for m in messages]


def probe_destinations(settings: Settings) -> list[tuple[Destination, list]]:
    """Each destination with its probe steps (`tkalert.sender.deliver.probe.Step`), in failover order."""
    if not settings.destinations:
        raise ConfigError("no destination configured: add a [destination NAME] section (see tkalert.conf(5))")
    return [(d, open_transport(d, settings).probe()) for d in settings.destinations]


def _transports(settings: Settings, override_to: str | None) -> list:
    if not settings.destinations:
        raise ConfigError(
            "no destination configured: add a [destination NAME] section with transport, host, port and mail_to "
            "to the config file (see tkalert.conf(5))"
        )
    transports = [open_transport(d, settings) for d in settings.destinations]
    if override_to is not None:
        # --override-target-mail names a mailbox: only destinations that carry mail can honour it.
        transports = [t for t in transports if t.carries_mail]
        if not transports:
            raise ConfigError("--override-target-mail needs a mail destination (smtp, sendmail or microsoft365)")
        for transport in transports:
            transport.override_recipient(override_to)
    # Checked before anything is sent: a ConfigError after a delivery would make the spool send it twice.
    for transport in transports:
        if transport.carries_mail and not transport.mail_to:
            raise ConfigError(f"[destination {transport.name}]: mail_to is not set (or give --override-target-mail)")
    return transports


def _final(outcomes: list[Outcome]) -> Outcome:
    """The delivery, or one failure naming every destination tried; permanent only if it was everywhere."""
    if outcomes[-1].delivered or len(outcomes) == 1:
        return outcomes[-1]
    error = "; ".join(f"{o.destination}: {o.error}" for o in outcomes)
    permanent = all(o.permanent for o in outcomes)
    return Outcome.failed(outcomes[-1].message_id, outcomes[-1].destination, error, permanent=permanent)
