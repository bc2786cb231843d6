"""`tkalert flush`, `tkalert log`, `tkalert show ID`: the spool's admin commands (see tkalert.sender.spool).

flush delivers what is due (run by tkalert-flush.timer or cron); log lists every message with its delivery state;
show prints the exact plaintext document that was sealed. Each loads the config itself (--config or
$TKALERT_CONFIG) and leaves errors to the admin group's boundary.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import click

from tkalert.errors import one_line

STATES = ("unsealed", "queued", "folded", "sent", "failed", "expired")
COLUMNS = ("TIME", "TYPE", "HOST/SERVICE", "STATE", "DESTINATION", "MESSAGE-ID", "LAST ERROR")

config_option = click.option("--config", envvar="TKALERT_CONFIG", metavar="FILE", default=None,
                             help="Config file (default /etc/tkalert/tkalert.conf).")


def _site(config):
    from tkalert.config.settings import load_settings
    from tkalert.sender.spool import open_site

    settings = load_settings(config)
    return settings, open_site(settings)


@click.command()
@config_option
@click.option("--wait", type=float, default=60.0, show_default=True, metavar="SECONDS",
              help="How long to wait for a running flush to finish before leaving the work to it.")
@click.option("--retry-failed", "retry", is_flag=True, help="First put every entry in failed/ back into the outbox.")
@click.option("--now", "now", is_flag=True, help="Try every queued message now, ignoring its back-off.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing unless something failed.")
def flush(config, wait, retry, now, quiet):
    """Seal what waits unsealed, then deliver every queued message that is due, one connection per destination."""
    from tkalert.config.settings import load_settings
    from tkalert.openpgp.home import resolve_home
    from tkalert.sender.pipeline import SendOptions, digest_maker, reseal_pending
    from tkalert.sender.spool import flush as flush_spool, retry_failed

    settings = load_settings(config)
    options = SendOptions(gnupg_home=resolve_home(settings.gnupg_home, None))
    sealed, unsealed = reseal_pending(settings, options)
    if sealed and not quiet:
        click.echo(f"sealed {sealed} kept message(s)")
    if unsealed:
        click.echo(f"{unsealed} message(s) still not sealed (see tkalert log --state unsealed)", err=True)
    if retry:
        moved = retry_failed(settings, wait=wait)
        if not quiet:
            click.echo(f"requeued {len(moved)} failed message(s)")
    report = flush_spool(settings, make_digest=digest_maker(settings, options), wait=wait, ignore_backoff=now)
    if not quiet or report.failed or report.expired:
        click.echo(report.summary())
    for message_id, reason in {**report.failed, **report.expired}.items():
        click.echo(f"{message_id}: moved to failed/: {reason}", err=True)
    return 1 if report.failed or report.expired or unsealed else 0


@click.command(name="log")
@config_option
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Only these states (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
def log(config, states, as_json):
    """List every message: time, type, host/service, state, destination, message id, last error."""
    from tkalert.sender.spool import read_log

    _, site = _site(config)
    records = read_log(site, set(states) or None)
    if as_json:
        for record in records:
            click.echo(json.dumps(_as_dict(record), sort_keys=True))
        return 0
    rows = [COLUMNS] + [_row(r) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0


@click.command()
@config_option
@click.argument("message_id")
def show(config, message_id):
    """Print the exact plaintext document that was sealed for MESSAGE_ID (a unique prefix is enough)."""
    from tkalert.errors import UsageError
    from tkalert.sender.spool import find_entry

    _, site = _site(config)
    entry = find_entry(site, message_id)
    if not entry.message.plaintext:
        raise UsageError(f"{entry.message_id} was {entry.status}, but its document was not archived "
                         "([categories] archive = off when it was sent)")
    click.get_binary_stream("stdout").write(entry.message.plaintext)
    return 0


def _row(record) -> tuple[str, ...]:
    where = "/".join(p for p in (record.host, record.service) if p) or "-"
    error = record.last_error or ""
    if record.digest_id:
        error = f"in digest {record.digest_id}" + (f" ({error})" if error else "")
    if record.digest_of:
        error = f"digest of {len(record.digest_of)} alert(s)" + (f"; {error}" if error else "")
    if record.state == "queued" and record.attempts:
        error = f"{error} (attempt {record.attempts}, next {_when(record.next_try)})"
    return (_when(record.time), record.kind, where, record.state, record.destination or "-", record.message_id,
            one_line(error))


def _when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_dict(record) -> dict:
    from dataclasses import asdict

    data = asdict(record)
    data["digest_of"] = list(record.digest_of)
    for key in ("time", "next_try", "finished"):
        data[key + "_iso"] = _when(data[key])
    return data
