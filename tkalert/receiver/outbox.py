"""Outbox: every mail and webhook the receiver sends, written durably first (delivered by tkalert.receiver.relay).

`enqueue` runs inside the transaction of the step that decided to notify (act, escalate): the row commits with
that decision or not at all, and its unique `key` makes a second decision for the same thing (another worker, a
retry) a no-op. The mail's fixed headers (`headers_for`, `message_id_for`) live here too, so every attempt of one
row is the same mail. The relay is the sending half, run by `sweep` and `serve`'s timer:
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

from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate

from django.db import IntegrityError, transaction

from tkalert.receiver.models import Outbox


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


def headers_for(row: Outbox, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = row.recipient
    message["Date"] = formatdate(row.created_at.timestamp(), usegmt=True)
    message["Message-ID"] = message_id_for(row.key)
    if not row.purpose.startswith("ticket-"):
        # RFC 3834: no vacation replies to a machine; but a ticket system's autoreply is wanted: it brings the
        # ticket's subject tag (RT sends none to a mail marked auto-generated)
        message["Auto-Submitted"] = "auto-generated"
    return message


def message_id_for(key: str) -> str:
    """The same Message-ID for every attempt of one outbox row: a resend after a crash is recognisably the same."""
    import hashlib

    return f"<tkalert-{hashlib.sha256(key.encode()).hexdigest()[:32]}@tkalert-receiver>"
