"""Outbox: every mail and webhook the receiver sends, written durably first, then delivered and recorded.

`enqueue` runs inside the transaction of the step that decided to notify (act, escalate): the row commits with
that decision or not at all, and its unique `key` makes a second decision for the same thing (another worker, a
retry) a no-op. `deliver_due` is the sending half, run by `sweep` and `serve`'s timer:
1. claim due rows with a compare-and-set UPDATE (pending -> sending, a token; a `sending` row whose lease ran out
   belongs to a worker that died and is taken over), SKIP LOCKED on PostgreSQL so senders pass each other;
2. send mails through the sender's own SMTP transport (tkalert.sender.deliver.smtp: its stages, TLS policy and
   failure classification, options from receiver.conf's [relay]) and webhooks through tickets.webhook;
3. record each outcome: sent; a temporary failure waits (1 min, doubling, at most `retry_max`) and is tried again,
   never dropped; a permanent one (5xx, a 4xx from a webhook) is `failed`, kept for a person to look at.
A relay outage therefore delays and never loses. A process killed between the relay's 250 and the record sends that
one message again after the lease: the mail keeps its Message-ID and the webhook its idempotency key, so the far
side can tell.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from tkalert.errors import one_line
from tkalert.receiver.models import Outbox

CLAIM = 50
LEASE = timedelta(minutes=5)
FIRST_WAIT = 60.0


def enqueue(key: str, kind: str, purpose: str, recipient: str, subject: str, body: str, now: datetime,
            headers: dict | None = None, **links) -> bool:
    """Write one outgoing message unless its key exists; True when this call wrote it."""
    try:
        with transaction.atomic():  # a savepoint: a racing writer's row leaves the caller's transaction usable
            Outbox.objects.create(key=key, kind=kind, purpose=purpose, recipient=recipient, subject=subject,
                                  body=body, headers=headers or {}, created_at=now, due_at=now, **links)
        return True
    except IntegrityError:
        return False


def mail(key: str, purpose: str, recipient: str, subject: str, body: str, now: datetime, **links) -> bool:
    return enqueue(key, Outbox.Kind.MAIL, purpose, recipient, subject, body, now, **links)


@dataclass(frozen=True)
class Outgoing:
    """One claimed row as a transport sees it: `message_id` is what the sender's transports report outcomes by."""

    message_id: str
    row: Outbox


def claim_due(now: datetime, size: int = CLAIM) -> tuple[str, list[Outbox]]:
    token = secrets.token_hex(16)
    due = Q(state=Outbox.State.PENDING, due_at__lte=now) | Q(state=Outbox.State.SENDING, claimed_at__lt=now - LEASE)
    with transaction.atomic():
        ids = list(Outbox.objects.select_for_update(skip_locked=True).filter(due).order_by("due_at", "id")
                   .values_list("id", flat=True)[:size])
        Outbox.objects.filter(due, id__in=ids).update(state=Outbox.State.SENDING, claim_token=token, claimed_at=now)
    return token, list(Outbox.objects.filter(claim_token=token, state=Outbox.State.SENDING).order_by("id"))


def deliver_due(config, now: datetime) -> int:
    """Claim and send what is due, batch after batch; how many were sent (delivered) this time."""
    sent = 0
    while True:
        token, rows = claim_due(now)
        if not rows:
            return sent
        outcomes = send_all(config, rows, now)
        for row in rows:
            sent += record(row, token, outcomes.get(row.key), now, config.act.retry_max)


def send_all(config, rows: list[Outbox], now: datetime) -> dict:
    from tkalert.receiver.tickets import prepare_mail
    from tkalert.receiver.tickets.webhook import post

    outcomes = {}
    mails = [row for row in rows if row.kind == Outbox.Kind.MAIL]
    if mails:
        transport = relay_transport(config)
        outgoing = [Outgoing(row.key, row) for row in mails]
        transport.compose = lambda row: prepare_mail(config, row, now)
        for outcome in transport.each_outcome(outgoing):
            outcomes[outcome.message_id] = outcome
    for row in rows:
        if row.kind == Outbox.Kind.WEBHOOK:
            outcomes[row.key] = post(config, row)
    return outcomes


def record(row: Outbox, token: str, outcome, now: datetime, retry_max: float) -> int:
    """The outcome on the row (only while this claim still holds it); 1 when it was delivered."""
    mine = Outbox.objects.filter(pk=row.pk, state=Outbox.State.SENDING, claim_token=token)
    if outcome is not None and outcome.delivered:
        mine.update(state=Outbox.State.SENT, sent_at=now, attempts=F("attempts") + 1, last_error="")
        return 1
    error = one_line(outcome.error if outcome else "not attempted", 2000)
    if outcome is not None and outcome.permanent:
        mine.update(state=Outbox.State.FAILED, attempts=F("attempts") + 1, last_error=error)
        return 0
    wait = min(retry_max, FIRST_WAIT * 2 ** min(row.attempts, 20))
    mine.update(state=Outbox.State.PENDING, attempts=F("attempts") + 1, last_error=error,
                due_at=now + timedelta(seconds=wait), claim_token="")
    return 0


def relay_transport(config):
    """The sender's SMTP transport on receiver.conf's [relay] options, sending prepared mails instead of sealed
    messages (its connection stages, TLS and failure classification are reused as they are)."""
    from tkalert.config.settings import Destination, Settings
    from tkalert.sender.deliver.smtp import SmtpTransport

    class RelayTransport(SmtpTransport):
        def default_sender(self, options) -> str:
            return config.act.mail_from

        def _send_one(self, outgoing: Outgoing):
            from tkalert.sender.deliver.outcome import Outcome
            from tkalert.sender.deliver.probe import EXPECTED

            try:
                message: EmailMessage = self.compose(outgoing.row)
            except Exception as exc:  # our own trouble (the vendor key cannot sign): tried again later
                return Outcome.failed(outgoing.message_id, self.name, f"cannot prepare: {one_line(exc)}")
            recipients = [address.strip() for address in outgoing.row.recipient.split(",") if address.strip()]
            try:
                self._client.send_message(message, self.mail_from, recipients)
            except EXPECTED as exc:
                return self._failed(outgoing, exc)
            return Outcome.sent(outgoing.message_id, self.name)

    options = {"mail_to": config.act.mail_from, "mail_from": config.act.mail_from, **dict(config.act.relay)}
    return RelayTransport(Destination("relay", "smtp", options), Settings(path=config.path))


def headers_for(row: Outbox, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = row.recipient
    message["Date"] = formatdate(row.created_at.timestamp(), usegmt=True)
    message["Message-ID"] = message_id_for(row.key)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a machine
    return message


def message_id_for(key: str) -> str:
    """The same Message-ID for every attempt of one outbox row: a resend after a crash is recognisably the same."""
    import hashlib

    return f"<tkalert-{hashlib.sha256(key.encode()).hexdigest()[:32]}@tkalert-receiver>"
