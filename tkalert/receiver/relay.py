"""Relay: the outbox's sending half. Due rows are claimed, sent and their outcomes recorded (tkalert.receiver.outbox
says how, and why nothing is lost or sent twice).

`deliver_due(config, now)` claims batches of due rows (compare-and-set under a lease on the wall clock, SKIP
LOCKED on PostgreSQL), composes each mail as it goes out (tkalert.receiver.tickets.prepare_mail: the ticket tag
once learnt, the vendor's signature on a receipt), sends the mails through the sender's SMTP transport on
receiver.conf's [relay] and the webhooks through tickets.webhook, and records every outcome on its row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from django.db import transaction
from django.db.models import F, Q

from tkalert.errors import one_line
from tkalert.receiver.models import Outbox

CLAIM = 50
LEASE = timedelta(minutes=5)
FIRST_WAIT = 60.0


@dataclass(frozen=True)
class Outgoing:
    """One claimed row as a transport sees it: `message_id` is what the sender's transports report outcomes by."""

    message_id: str
    row: Outbox


def wall_clock() -> datetime:
    from tkalert.receiver.work import utcnow

    return utcnow()


def claim_due(now: datetime, size: int = CLAIM) -> tuple[str, list[Outbox]]:
    """Due rows (by `now`, which tests inject) claimed under a lease on the wall clock: a lease is about whether
    the claiming process still lives, which only real time tells."""
    token, lease_now = secrets.token_hex(16), wall_clock()
    due = Q(state=Outbox.State.PENDING, due_at__lte=now) | Q(state=Outbox.State.SENDING,
                                                              claimed_at__lt=lease_now - LEASE)
    with transaction.atomic():
        ids = list(Outbox.objects.select_for_update(skip_locked=True).filter(due).order_by("due_at", "id")
                   .values_list("id", flat=True)[:size])
        Outbox.objects.filter(due, id__in=ids).update(state=Outbox.State.SENDING, claim_token=token,
                                                      claimed_at=lease_now)
    return token, list(Outbox.objects.filter(claim_token=token, state=Outbox.State.SENDING).order_by("id"))


def deliver_due(config, now: datetime) -> int:
    """Claim and send what is due, batch after batch; how many were sent (delivered) this time."""
    sent = 0
    while True:
        token, rows = claim_due(now)
        if not rows:
            return sent
        held = {row.key for row in rows if waiting_for_ticket(row, now, config.act.ticket_wait)}
        outcomes = send_all(config, [row for row in rows if row.key not in held], now)
        for row in rows:
            if row.key in held:
                hold(row, token, now)
            else:
                sent += record(row, token, outcomes.get(row.key), now, config.act.retry_max)


def waiting_for_ticket(row: Outbox, now: datetime, wait: float) -> bool:
    """A ticket mail's update waits until the opening mail is sent and the ticket system's reply taught its tag
    (tickets.mail), at most `wait` after the opening went out: sent earlier, it would open a second ticket."""
    if row.kind != Outbox.Kind.MAIL or row.purpose not in ("ticket-change", "ticket-close"):
        return False
    from tkalert.receiver.models import Episode

    if Episode.objects.filter(pk=row.episode_id).exclude(ticket_ref="").exists():
        return False
    opening = Outbox.objects.filter(key=f"episode:{row.episode_id}:open").values_list("state", "sent_at").first()
    if opening is None or opening[0] == Outbox.State.FAILED:
        return False
    return opening[0] != Outbox.State.SENT or now < opening[1] + timedelta(seconds=wait)


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


def hold(row: Outbox, token: str, now: datetime) -> None:
    """Back to pending without an attempt counted: it waits for something else, not for the relay."""
    Outbox.objects.filter(pk=row.pk, state=Outbox.State.SENDING, claim_token=token).update(
        state=Outbox.State.PENDING, due_at=now + timedelta(seconds=FIRST_WAIT), claim_token="")


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

        def plain(self) -> bool:  # the sender's byte-level fast path writes sealed messages only
            return False

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


