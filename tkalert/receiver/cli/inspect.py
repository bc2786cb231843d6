"""`quarantine list|show|retry|drop` and `messages list|show ID`: what arrived and what was decided."""

from __future__ import annotations

import sys

import click

from tkalert.cli.boundary import emit
from tkalert.errors import UsageError
from tkalert.receiver.cli.group import pass_context
from tkalert.receiver.cli.show import pairs, table, when


def message_by_id(number: int, **lookup):
    from tkalert.receiver.models import Message

    found = Message.objects.filter(pk=number, **lookup).first()
    if found is None:
        kind = "quarantined message" if lookup else "message"
        raise UsageError(f"no {kind} #{number} (see tkalert-receiver quarantine list)")
    return found


def describe(message) -> None:
    pairs([("message", f"#{message.pk}"), ("message id", message.message_id), ("channel", message.channel),
           ("received", when(message.received_at)), ("state", message.state), ("verdict", message.verdict),
           ("reason", message.reason), ("detail", message.detail), ("type", message.document_type),
           ("auth key", message.auth_key), ("system", message.system.system_id if message.system else ""),
           ("sequence", message.sequence), ("signer", message.signer), ("signed", when(message.signed_at)),
           ("clock skew", f"{message.clock_skew:.0f} s" if message.clock_skew is not None else ""),
           ("service", "invalid" if message.service_invalid else "valid" if message.verdict == "accepted" else ""),
           ("legacy", "yes" if message.legacy else "no"), ("attempts", message.attempts),
           ("digest", f"#{message.parent_id}" if message.parent_id else ""),
           ("events", ", ".join(f"#{e}" for e in message.events.values_list("pk", flat=True)))])
    for key, value in sorted(message.fields.items()):
        emit(f"  {key}: {value}")


@click.group()
def quarantine():
    """Quarantined messages: list, show, retry after fixing the cause, drop."""


@quarantine.command("list")
@click.option("--reason", help="only messages quarantined for this reason")
@pass_context
def list_(ctx, reason):
    """List quarantined messages, oldest first."""
    ctx.django()
    from tkalert.receiver.quarantine import quarantined

    rows = [[f"#{m.pk}", when(m.received_at), m.channel, m.reason, m.message_id, m.auth_key]
            for m in quarantined(reason).order_by("received_at", "pk")]
    table(["ID", "RECEIVED", "CHANNEL", "REASON", "MESSAGE ID", "AUTH KEY"], rows)
    return 0


@quarantine.command("show")
@click.argument("number", type=int, metavar="ID")
@pass_context
def show(ctx, number):
    """Show one quarantined message."""
    ctx.django()
    describe(message_by_id(number, verdict="quarantined"))
    return 0


@quarantine.command("retry")
@click.argument("numbers", type=int, nargs=-1, metavar="[ID]...")
@click.option("--reason", help="retry every message quarantined for this reason")
@click.option("--all", "everything", is_flag=True, help="retry every quarantined message")
@pass_context
def retry(ctx, numbers, reason, everything):
    """Queue quarantined messages again: the workers judge them anew (after a contract or key was added)."""
    ctx.django()
    from tkalert.receiver import quarantine as q

    if not (numbers or reason or everything):
        raise UsageError("usage error: name message IDs, --reason REASON or --all")
    selected = q.quarantined(reason)
    if numbers:
        selected = selected.filter(pk__in=numbers)
    emit(f"{q.retry(selected)} messages queued again")
    return 0


@quarantine.command("drop")
@click.argument("numbers", type=int, nargs=-1, required=True, metavar="ID...")
@pass_context
def drop(ctx, numbers):
    """Delete quarantined messages for good."""
    ctx.django()
    from tkalert.receiver import quarantine as q

    emit(f"{q.drop(q.quarantined().filter(pk__in=numbers))} messages dropped")
    return 0


@click.group()
def messages():
    """Messages: any one, whatever its verdict."""


@messages.command("list")
@click.option("--system", "system_id", metavar="SYSTEM_ID", help="only messages from this system")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="the newest N")
@pass_context
def list_messages(ctx, system_id, limit):
    """List the newest messages, whatever their verdict; a digest's events under it, marked with its ID."""
    ctx.django()
    from tkalert.receiver.models import Message

    found = Message.objects.select_related("system").order_by("-received_at", "-pk")
    if system_id:
        found = found.filter(system__system_id=system_id)
    rows = [[f"#{m.pk}", when(m.received_at), m.channel, m.document_type, m.state, m.verdict, m.reason,
             m.system.system_id if m.system else "", f"#{m.parent_id}" if m.parent_id else "", m.message_id]
            for m in reversed(found[:limit])]
    table(["ID", "RECEIVED", "CHANNEL", "TYPE", "STATE", "VERDICT", "REASON", "SYSTEM", "DIGEST", "MESSAGE ID"],
          rows)
    return 0


@messages.command("show")
@click.argument("number", type=int, metavar="ID")
@click.option("--raw", "part", flag_value="raw", help="write the raw message as received, nothing else")
@click.option("--plaintext", "part", flag_value="plaintext", help="write the opened XML document, nothing else")
@pass_context
def show_message(ctx, number, part):
    """Show a message: verdict and fields; or its raw bytes or plaintext."""
    ctx.django()
    message = message_by_id(number)
    if part:
        data = message.raw if part == "raw" else message.document
        if data is None:
            raise UsageError(f"message #{number} has no plaintext (it was not opened: {message.reason or 'not yet'})")
        sys.stdout.buffer.write(bytes(data))
        sys.stdout.flush()
        return 0
    describe(message)
    return 0
