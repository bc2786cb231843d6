"""`sweep`, `systems maintenance`, `contracts stages|sink`, `tickets reply`: acting and escalating by hand."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import click

from tkalert.cli.boundary import emit
from tkalert.errors import UsageError
from tkalert.receiver.cli.group import pass_context
from tkalert.receiver.cli.show import one

STAGE = re.compile(r"^(?P<after>[0-9.]+[smhdw]?):(?P<notify>customer|support)(?:/(?P<repeat>[0-9.]+[smhdw]?))?$")


@click.command()
@click.option("--loop", is_flag=True, help="sweep every sweep_every until SIGTERM (what serve runs)")
@pass_context
def sweep(ctx, loop):
    """Run the escalation stages that are due, then deliver the outbox; once, or --loop."""
    import signal
    import time

    config = ctx.django()
    from tkalert.receiver.escalate import sweep as run_sweep
    from tkalert.receiver.relay import deliver_due
    from tkalert.receiver.work import utcnow

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    while True:
        now = utcnow()
        done = run_sweep(config.act, now)
        sent = deliver_due(config, now)
        if not loop:
            emit(f"{done.looked_at} systems due, {done.fired} stages fired, {done.site_notices} site notices, "
                 f"{done.held} held by maintenance; {sent} outgoing messages sent")
            return 0
        until = time.monotonic() + config.act.sweep_every
        while time.monotonic() < until and not stopping:
            time.sleep(0.5)
        if stopping:
            return 0


def moment(text: str) -> datetime:
    """`2026-12-24T08:00` (UTC), `2026-12-24` or a duration from now (`4h`)."""
    from tkalert.config.fields import moment as epoch
    from tkalert.errors import ConfigError
    from tkalert.receiver.work import utcnow

    try:
        return datetime.fromtimestamp(epoch(text, utcnow().timestamp()), timezone.utc)
    except ConfigError as exc:
        raise UsageError(f"usage error: {exc}") from None


@click.command()
@click.argument("system_id")
@click.option("--until", "until", required=True, metavar="TIME", help="UTC time or duration from now")
@click.option("--reason", default="", help="why, for the record")
@pass_context
def maintenance(ctx, system_id, until, reason):
    """Hold stages and tickets for SYSTEM_ID until TIME (a maintenance window)."""
    ctx.django()
    from tkalert.receiver.models import Maintenance, System
    from tkalert.receiver.work import utcnow

    system = one(System.objects, "system", system_id=system_id)
    end, now = moment(until), utcnow()
    if end <= now:
        raise UsageError(f"usage error: --until {until} is not in the future")
    Maintenance.objects.create(system=system, starts_at=now, until=end, reason=reason)
    emit(f"system {system_id}: maintenance until {end:%Y-%m-%d %H:%M} UTC")
    return 0


@click.command()
@click.argument("auth_key")
@click.argument("stages", nargs=-1)
@pass_context
def stages(ctx, auth_key, stages):
    """Set the contract's stages: AFTER:customer|support[/REPEAT] ... (e.g. 2h:customer 3h:support/1h); none
    given: back to receiver.conf's warn_after and alarm_after."""
    ctx.django()
    from django.db import transaction

    from tkalert.config.fields import duration
    from tkalert.receiver.models import Contract, Stage

    contract = one(Contract.objects, "contract", auth_key=auth_key)
    parsed = []
    for position, text in enumerate(stages, 1):
        found = STAGE.match(text)
        if not found:
            raise UsageError(f"usage error: a stage is AFTER:customer|support[/REPEAT] (e.g. 2h:customer), "
                             f"not {text!r}")
        repeat = found["repeat"]
        parsed.append(Stage(contract=contract, position=position, notify=found["notify"],
                            after=timedelta(seconds=duration(found["after"], "stage", "command line")),
                            repeat=timedelta(seconds=duration(repeat, "repeat", "command line")) if repeat else None))
    if any(b.after <= a.after for a, b in zip(parsed, parsed[1:], strict=False)):
        raise UsageError("usage error: each stage must come later than the one before it")
    from tkalert.receiver.escalate import schedule
    from tkalert.receiver.models import System
    from tkalert.receiver.work import utcnow

    with transaction.atomic():
        Stage.objects.filter(contract=contract).delete()
        Stage.objects.bulk_create(parsed)
        # each system's due row was written for the old stages (a healthy one's look may be a whole old first
        # stage away): the next sweep looks at every system of the contract and schedules it by the new ones
        now = utcnow()
        schedule([(pk, now) for pk in System.objects.filter(contract=contract).values_list("pk", flat=True)])
    emit(f"contract {auth_key}: " + (" ".join(stages) if stages else "receiver.conf's stages"))
    return 0


@click.command()
@click.argument("auth_key")
@click.argument("sink", type=click.Choice(["mail", "webhook", "none", "default"]))
@click.argument("target", required=False, default="")
@pass_context
def sink(ctx, auth_key, sink, target):
    """Where the contract's alert episodes become tickets: mail ADDRESS, webhook URL, none, or default
    (receiver.conf's ticket_sink)."""
    ctx.django()
    from tkalert.receiver.models import Contract

    one(Contract.objects, "contract", auth_key=auth_key)
    if sink in ("mail", "webhook") and not target:
        raise UsageError(f"usage error: {sink} needs a target ({'an address' if sink == 'mail' else 'a URL'})")
    Contract.objects.filter(auth_key=auth_key).update(sink="" if sink == "default" else sink,
                                                     sink_target=target if sink in ("mail", "webhook") else "")
    emit(f"contract {auth_key}: tickets by {sink}" + (f" to {target}" if target else ""))
    return 0


@click.group()
def tickets():
    """Tickets: replies from the ticket system."""


@tickets.command("reply")
@pass_context
def reply(ctx):
    """Read a ticket system's reply (RFC 822) on stdin and learn its ticket tag (an MTA pipe for mail_from)."""
    import sys

    config = ctx.django()
    from tkalert.receiver.tickets.mail import learn_reply

    episode = learn_reply(sys.stdin.buffer.read(), config.act.ticket_tag)
    emit(f"episode {episode.pk}: ticket {episode.ticket_ref}" if episode else "no episode matched this reply")
    return 0
