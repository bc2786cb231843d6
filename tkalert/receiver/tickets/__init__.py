"""Tickets: an alert episode becomes one ticket, its later events updates, its recovery the close.

act (tkalert.receiver.act) calls `ticket_event(episode, message, event, config, now)` with event "open", "change"
or "close"; the contract's sink (`contracts sink`) or receiver.conf's `ticket_sink` decides where it goes:
  mail     one mail per event to the ticket system's address (tickets.mail: 1.5's subject, threading by the
           ticket system's subject tag and References);
  webhook  one signed JSON POST per event (tickets.webhook: HMAC-SHA256 signature, idempotency key);
  none     nothing (the episode is still kept and shown).
Each event is one Outbox row under the key `episode:<id>:<event>[:<n>]`, so a retried or racing worker writes
it once. An episode opened during a maintenance window makes no ticket at all.
"""

from __future__ import annotations

from datetime import datetime

from tkalert.receiver.models import Episode, Message, Outbox

EVENTS = ("open", "change", "close")


def sink_of(episode: Episode, act) -> tuple[str, str | None]:
    """(sink, target) for the episode's contract: the contract's own, else receiver.conf's."""
    contract = episode.system.contract
    if contract is not None and contract.sink:
        return contract.sink, contract.sink_target or None
    target = act.ticket_mail if act.ticket_sink == "mail" else act.webhook_url
    return act.ticket_sink, target


def ticket_event(episode: Episode, message: Message, event: str, act, now: datetime) -> bool:
    """Write the event's outbox row; True when this call wrote it (False: no sink, suppressed, or written)."""
    from tkalert.receiver.outbox import enqueue
    from tkalert.receiver.tickets import mail, webhook

    if episode.suppressed:
        return False
    sink, target = sink_of(episode, act)
    if sink == "none" or not target:
        return False
    key = f"episode:{episode.pk}:{event}" + (f":{episode.changes}" if event == "change" else "")
    if sink == "mail":
        closing = event == "close" and target == act.ticket_mail and act.ticket_close_mail
        recipient = act.ticket_close_mail if closing else target
        subject, body = mail.subject(episode, message), mail.body(episode, message, event)
        return enqueue(key, Outbox.Kind.MAIL, f"ticket-{event}", recipient, subject, body, now,
                       headers={"episode": episode.pk}, episode=episode, system=episode.system)
    body = webhook.payload(episode, message, event, key)
    return enqueue(key, Outbox.Kind.WEBHOOK, f"ticket-{event}", target, "", body, now,
                   headers={"episode": episode.pk}, episode=episode, system=episode.system)


def prepare_mail(config, row: Outbox, now: datetime):
    """The mail for one outbox row, as it goes out now: a ticket mail gets the ticket's subject tag and the
    References of the episode's first mail; a receipt is signed by the vendor key."""
    from tkalert.receiver.outbox import headers_for
    from tkalert.receiver.tickets.mail import threaded

    message = headers_for(row, config.act.mail_from)
    subject, body = row.subject, row.body
    if row.episode_id is not None:
        subject = threaded(row, message)
    if row.purpose == "receipt":
        from tkalert.receiver.receipt import clearsign

        body = clearsign(config, body)
    message["Subject"] = subject
    message.set_content(body)
    return message
