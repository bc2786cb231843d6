"""`contracts add|list|show|revoke|legacy`: the auth keys the receiver accepts, and on which terms."""

from __future__ import annotations

from datetime import datetime, time, timezone

import click

from tkalert.cli.boundary import emit
from tkalert.errors import UsageError
from tkalert.receiver.cli.group import pass_context
from tkalert.receiver.cli.show import one, pairs, table, when


def end_of_day(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise UsageError(f"usage error: --valid-until must be a date YYYY-MM-DD, not {text!r}") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc)


@click.group()
def contracts():
    """Contracts: the auth keys the receiver knows."""


@contracts.command("add")
@click.argument("auth_key")
@click.option("--customer", default="", help="who holds the contract")
@click.option("--legacy", is_flag=True, help="also accept TKalert 1.5 documents (unsigned, inline PGP)")
@click.option("--valid-until", metavar="YYYY-MM-DD", help="last day of the contract (UTC) [none: open-ended]")
@pass_context
def add(ctx, auth_key, customer, legacy, valid_until):
    """Add a contract for AUTH_KEY."""
    ctx.django()
    from tkalert.receiver.models import Contract
    from tkalert.receiver.work import utcnow

    if Contract.objects.filter(auth_key=auth_key).exists():
        raise UsageError(f"contract {auth_key!r} exists already (see tkalert-receiver contracts show {auth_key})")
    Contract.objects.create(auth_key=auth_key, customer=customer, legacy=legacy,
                            valid_until=end_of_day(valid_until), created_at=utcnow())
    emit(f"contract {auth_key} added")
    return 0


@contracts.command("list")
@pass_context
def list_(ctx):
    """List the contracts."""
    ctx.django()
    from tkalert.receiver.models import Contract

    rows = [[c.auth_key, c.customer, "yes" if c.legacy else "no", when(c.valid_until), when(c.revoked_at)]
            for c in Contract.objects.order_by("auth_key")]
    table(["AUTH KEY", "CUSTOMER", "LEGACY", "VALID UNTIL", "REVOKED"], rows)
    return 0


@contracts.command("show")
@click.argument("auth_key")
@pass_context
def show(ctx, auth_key):
    """Show one contract, its systems and message counts."""
    ctx.django()
    from tkalert.receiver.models import Contract, Message, System
    from tkalert.receiver.work import utcnow

    contract = one(Contract.objects, "contract", auth_key=auth_key)
    counts = {v: Message.objects.filter(contract=contract, verdict=v).count() for v in Message.Verdict.values}
    pairs([("auth key", contract.auth_key), ("customer", contract.customer),
           ("legacy", "yes" if contract.legacy else "no"), ("valid until", when(contract.valid_until)),
           ("revoked", when(contract.revoked_at)),
           ("service", "valid" if contract.valid_at(utcnow()) else "invalid"),
           ("systems", ", ".join(System.objects.filter(contract=contract).values_list("system_id", flat=True))),
           ("messages", ", ".join(f"{count} {verdict}" for verdict, count in counts.items()))])
    return 0


@contracts.command("revoke")
@click.argument("auth_key")
@pass_context
def revoke(ctx, auth_key):
    """Revoke a contract: its messages are still accepted, flagged "Service: Invalid"."""
    ctx.django()
    from tkalert.receiver.models import Contract
    from tkalert.receiver.work import utcnow

    one(Contract.objects, "contract", auth_key=auth_key)
    Contract.objects.filter(auth_key=auth_key, revoked_at__isnull=True).update(revoked_at=utcnow())
    emit(f"contract {auth_key} revoked")
    return 0


@contracts.command("legacy")
@click.argument("auth_key")
@click.argument("switch", type=click.Choice(["yes", "no"]))
@pass_context
def legacy(ctx, auth_key, switch):
    """Allow (yes) or refuse (no) TKalert 1.5 documents for a contract."""
    ctx.django()
    from tkalert.receiver.models import Contract

    one(Contract.objects, "contract", auth_key=auth_key)
    Contract.objects.filter(auth_key=auth_key).update(legacy=switch == "yes")
    emit(f"contract {auth_key}: legacy {switch}")
    return 0


def _escalation_commands():
    from tkalert.receiver.cli.escalation import sink, stages

    return stages, sink


for _command in _escalation_commands():
    contracts.add_command(_command)
