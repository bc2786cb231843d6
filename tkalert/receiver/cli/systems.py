"""`systems list|show|trust|forget-key|files`: the sending systems, their pinned signing keys, when they were seen
and the configuration files their reports carried (tkalert.receiver.reports)."""

from __future__ import annotations

from pathlib import Path

import click

from tkalert.cli.boundary import emit
from tkalert.errors import UsageError
from tkalert.receiver.cli.group import pass_context
from tkalert.receiver.cli.show import one, pairs, table, when


@click.group()
def systems():
    """Systems: who sends, with which key."""


@systems.command("list")
@pass_context
def list_(ctx):
    """List the systems."""
    ctx.django()
    from tkalert.receiver.models import System

    rows = [[s.system_id, s.contract.auth_key if s.contract else "", s.pinned_key, when(s.last_seen),
             s.contact_mail, str(s.replays)] for s in System.objects.select_related("contract").order_by("system_id")]
    table(["SYSTEM", "AUTH KEY", "PINNED KEY", "LAST SEEN", "CONTACT", "REPLAYS"], rows)
    return 0


@systems.command("show")
@click.argument("system_id")
@pass_context
def show(ctx, system_id):
    """Show one system."""
    ctx.django()
    from tkalert.receiver.models import Maintenance, Message, ReportFile, System
    from tkalert.receiver.work import utcnow

    system = one(System.objects, "system", system_id=system_id)
    now = utcnow()
    window = Maintenance.objects.filter(system=system, starts_at__lte=now, until__gt=now).order_by("-until").first()
    newest = Message.objects.filter(system=system).order_by("-received_at").first()
    reported = ReportFile.objects.filter(system=system)
    needs_full = reported.filter(state=ReportFile.State.NEEDS_FULL).count()
    pairs([("system", system.system_id), ("contract", system.contract.auth_key if system.contract else ""),
           ("pinned key", system.pinned_key), ("pinned", when(system.pinned_at)),
           ("last seen", when(system.last_seen)), ("contact", f"{system.contact_name} <{system.contact_mail}>"),
           ("last sequence", system.last_sequence), ("replays", system.replays),
           ("maintenance", f"until {when(window.until)} ({window.reason})" if window else "none"),
           ("newest message", f"#{newest.pk} {newest.verdict} {when(newest.received_at)}" if newest else ""),
           ("report files", f"{reported.count()}" + (f" ({needs_full} need a full report)" if needs_full else ""))])
    return 0


@systems.command("trust")
@click.argument("system_id")
@click.argument("key_file", type=click.Path(exists=True, dir_okay=False))
@pass_context
def trust(ctx, system_id, key_file):
    """Pin the public key in KEY_FILE for SYSTEM_ID (before its first contact, or to replace a changed key)."""
    config = ctx.django()
    from tkalert.receiver.models import System
    from tkalert.receiver.open import trust_key
    from tkalert.receiver.work import utcnow

    armored = Path(key_file).read_bytes()
    fingerprints = key_fingerprints(config.gnupg_home, armored)
    if len(fingerprints) != 1:
        raise UsageError(f"{key_file} holds {len(fingerprints)} keys; give a file with exactly one public key")
    trust_key(config.gnupg_home, armored)
    system, _ = System.objects.get_or_create(system_id=system_id)
    System.objects.filter(pk=system.pk).update(pinned_key=fingerprints[0], pinned_at=utcnow(),
                                               public_key=armored.decode("ascii", "replace"))
    emit(f"system {system_id}: key {fingerprints[0]} pinned")
    return 0


@systems.command("forget-key")
@click.argument("system_id")
@pass_context
def forget_key(ctx, system_id):
    """Unpin the system's key: the next message that brings its key pins it again (trust on first use)."""
    ctx.django()
    from tkalert.receiver.models import System

    one(System.objects, "system", system_id=system_id)
    System.objects.filter(system_id=system_id).update(pinned_key="", public_key="", pinned_at=None)
    emit(f"system {system_id}: pinned key forgotten")
    return 0


@systems.command("files")
@click.argument("system_id")
@click.argument("path", required=False)
@click.option("--version", "number", type=click.IntRange(min=1), help="that version of PATH (1: the first report)")
@pass_context
def files(ctx, system_id, path, number):
    """The reported configuration files; with PATH, its full current content (or --version N)."""
    ctx.django()
    from tkalert.receiver.models import ReportFile, System

    system = one(System.objects, "system", system_id=system_id)
    if path is None:
        if number is not None:
            raise UsageError("--version needs a PATH")
        rows = [[f.path, "" if f.size is None else str(f.size), f.sha256, f.state, when(f.changed_at),
                 str(f.versions.count())] for f in ReportFile.objects.filter(system=system).order_by("path")]
        table(["PATH", "SIZE", "SHA256", "STATE", "CHANGED", "VERSIONS"], rows)
        return 0
    file = ReportFile.objects.filter(system=system, path=path).first()
    if file is None:
        raise UsageError(f"system {system_id} reported no file {path!r} (list them with "
                         f"tkalert-receiver systems files {system_id})")
    shown = file if number is None else file.versions.filter(number=number).first()
    if shown is None:
        raise UsageError(f"{path} has no version {number} (it has {file.versions.count()})")
    if shown.content is None:
        raise UsageError(f"{path}{'' if number is None else f' version {number}'} has no content: {shown.state}"
                         + (f" ({shown.note})" if shown.note else ""))
    click.echo(shown.content, nl=False)
    return 0


def key_fingerprints(home: Path, armored: bytes) -> list[str]:
    """The primary keys' fingerprints in `armored`, read without importing anything."""
    import subprocess

    done = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--with-colons", "--import-options",
                           "show-only", "--import"], input=armored, capture_output=True, check=False)
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    return [line.split(":")[9] for previous, line in zip(lines, lines[1:], strict=False)
            if previous.startswith("pub:") and line.startswith("fpr:")]


def _maintenance():
    from tkalert.receiver.cli.escalation import maintenance

    return maintenance


systems.add_command(_maintenance(), "maintenance")
