"""The mail sink: one mail per episode event to a ticket system's address, threaded the way ticket systems thread.

The subject keeps TKalert 1.5's form, `<serial>-<service>-<status>- Service: Valid|Invalid`, which support desks
filter on. Ticket systems (Request Tracker, OTRS/Znuny, Zammad) file a mail into an existing ticket by the tag
they put in the subject of their reply (`[rt.example #123]`, `[Ticket#123]`): receiver.conf's `ticket_tag` says
what it looks like. The tag is learnt from the ticket system's reply (`learn_reply`, fed by
`tkalert-receiver tickets reply` as an MTA pipe for the From address), matched to the episode by the
In-Reply-To/References the reply carries; until it is known, updates carry References to the opening mail, which
systems that thread by headers use instead.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy

from tkalert.receiver.models import Episode, Message, Outbox

LABELS = (("system", "system"), ("host", "host"), ("service", "service"), ("state", "state"))


def subject(episode: Episode, message: Message) -> str:
    fields = message.fields or {}
    serial = fields.get("host/server-serial") or episode.system.system_id
    service = episode.service or episode.host
    valid = "Invalid" if message.service_invalid else "Valid"
    return f"{serial}-{service}-{episode.state}- Service: {valid}"


def body(episode: Episode, message: Message, event: str) -> str:
    fields = message.fields or {}
    opening = {"open": "A problem was reported", "change": "The problem changed state",
               "close": "The problem recovered"}[event]
    lines = [f"{opening} (tkalert episode {episode.pk}).", "",
             f"System:   {episode.system.system_id}", f"Host:     {episode.host}",
             f"Service:  {episode.service or '(host)'}", f"State:    {episode.state}",
             f"Output:   {fields.get('service/plugin-output') or fields.get('host/output') or ''}",
             f"Serial:   {fields.get('host/server-serial', '')}", f"IP:       {fields.get('host/ip', '')}",
             f"OS:       {fields.get('host/operating-system', '')}",
             f"Contact:  {fields.get('contact-name', '')} <{fields.get('contact-mail', '')}>",
             f"Received: {message.received_at:%Y-%m-%d %H:%M:%S} UTC", f"Message:  {message.message_id}"]
    if message.service_invalid:
        lines += ["", "Service: Invalid (the contract is revoked or expired)."]
    return "\n".join(lines) + "\n"


def threaded(row: Outbox, mail) -> str:
    """The row's subject with the ticket's tag once it is known; References/In-Reply-To to the opening mail."""
    from tkalert.receiver.outbox import message_id_for

    episode = Episode.objects.get(pk=row.episode_id)
    first = message_id_for(f"episode:{episode.pk}:open")
    if row.key != f"episode:{episode.pk}:open":
        mail["In-Reply-To"] = first
        mail["References"] = first
    mail["X-Tkalert-Episode"] = str(episode.pk)
    if episode.ticket_ref and episode.ticket_ref not in row.subject:
        return f"{episode.ticket_ref} {row.subject}"
    return row.subject


def learn_reply(raw: bytes, tag_pattern: str) -> Episode | None:
    """The episode a ticket system's reply is about, its tag recorded (once: the first tag learnt stays)."""
    from tkalert.receiver.outbox import message_id_for

    reply = message_from_bytes(raw, policy=policy.default)
    found = re.search(tag_pattern, str(reply.get("Subject", "")))
    if not found:
        return None
    referred = set(re.findall(r"<[^>]+>", f"{reply.get('In-Reply-To', '')} {reply.get('References', '')}"))
    episode_header = str(reply.get("X-Tkalert-Episode", "")).strip()
    candidates = Episode.objects.filter(pk=int(episode_header)) if episode_header.isdigit() else \
        Episode.objects.filter(thread_id__in=referred) if referred else Episode.objects.none()
    for episode in candidates:
        if episode.thread_id in referred or message_id_for(f"episode:{episode.pk}:open") in referred \
                or episode_header:
            Episode.objects.filter(pk=episode.pk, ticket_ref="").update(ticket_ref=found.group(0))
            episode.refresh_from_db()
            return episode
    return None
