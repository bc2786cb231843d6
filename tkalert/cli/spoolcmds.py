"""`tkalert flush`, `log`, `show ID`, `resend ID`, `status`: the spool's admin commands (see tkalert.sender.spool).

flush delivers what is due (run by tkalert-flush.timer or cron); log lists every message with its delivery state
(--since, --limit); show prints the exact plaintext document that was sealed; resend puts one failed message back
into the queue; status sums it up: the last heartbeat sent, the queue, failed messages and when the keys expire.
Each loads the config itself (--config or $TKALERT_CONFIG) and leaves errors to the admin group's boundary.
"""

from __future__ import annotations

import json
import time
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
@click.option("--since", metavar="DURATION|TIME", default=None,
              help="Only messages spooled since then: a duration back from now (90m, 2h, 7d) or an ISO time "
                   "(2026-11-24T08:00, UTC unless it names an offset).")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=None, metavar="N", help="Only the newest N.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
def log(config, states, since, limit, as_json):
    """List every message: time, type, host/service, state, destination, message id, last error."""
    from tkalert.sender.spool import read_log

    start = parse_since(since, time.time()) if since else None
    _, site = _site(config)
    records = read_log(site, set(states) or None)
    if start is not None:
        records = [r for r in records if r.time >= start]
    if limit is not None:
        records = records[-limit:]  # oldest first: the newest N are the last
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


@click.command()
@config_option
@click.argument("message_id")
@click.option("--wait", type=float, default=30.0, show_default=True, metavar="SECONDS",
              help="How long to wait for a running flush to let go of the spool.")
def resend(config, message_id, wait):
    """Put one failed or expired message (MESSAGE_ID, a unique prefix is enough) back into the queue."""
    from tkalert.errors import SpoolError, UsageError
    from tkalert.sender.spool import find_entry, retry_failed

    settings, site = _site(config)
    entry = find_entry(site, message_id)
    if entry.status not in ("failed", "expired"):
        raise UsageError(f"{entry.message_id} is {entry.status}: only a failed or expired message can be resent "
                         "(see tkalert log --state failed --state expired)")
    if entry.message_id not in retry_failed(settings, [entry.message_id], wait=wait):
        raise SpoolError(f"could not requeue {entry.message_id}: a flush held the spool for {wait:g}s; try again")
    click.echo(f"requeued {entry.message_id} ({entry.status} before): the next flush sends it ('tkalert flush')")
    return 0


@click.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def status(config, as_json):
    """The last heartbeat sent and its age, the queue, failed messages, and when the keys expire."""
    from tkalert.sender.spool import read_log, take_census

    now = time.time()
    settings, site = _site(config)
    census = take_census(site, now)
    beats = [r.finished or r.time for r in read_log(site, {"sent"}) if r.kind == "heartbeat"]
    last = max(beats, default=None)
    data = {
        "last_heartbeat": _when(last) if last is not None else None,
        "last_heartbeat_age": round(now - last) if last is not None else None,
        "queue_depth": census.depth, "oldest_age": round(census.oldest_age), "failed": census.failed,
        "keys": _key_expiry(settings, now),
    }
    if as_json:
        click.echo(json.dumps(data, sort_keys=True))
        return 0
    beat = f"{data['last_heartbeat']} ({_age(data['last_heartbeat_age'])} ago)" if last is not None else "never"
    oldest = f", oldest {_age(data['oldest_age'])}" if census.depth else ""
    failed = " (see tkalert log --state failed --state expired)" if census.failed else ""
    lines = [("last heartbeat", beat), ("queue", f"{census.depth} waiting{oldest}"),
             ("failed", f"{census.failed}{failed}")]
    for key in data["keys"]:
        lines.append((f"{key['role']} key {key['fingerprint']}",
                      key["problem"] or f"expires {key['expires'] or 'never'}"))
    width = max(len(name) for name, _ in lines)
    for name, value in lines:
        click.echo(f"{name:<{width}}  {value}")
    return 0


def parse_since(text: str, now: float) -> float:
    """`--since`: a duration back from now (tkalert.config.fields) or an ISO time (UTC unless it has an offset)."""
    from tkalert.config.fields import duration
    from tkalert.errors import ConfigError

    try:
        return now - duration(text, "--since", "--since", positive=False)
    except ConfigError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither a duration (90m, 2h, 7d) nor an ISO time "
                                 "(2026-11-24T08:00Z)", param_hint="--since") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _key_expiry(settings, now: float) -> list[dict]:
    """Each configured key: role, fingerprint, expiry (ISO date or None for never) or the problem finding it."""
    from tkalert.errors import TkalertError
    from tkalert.openpgp.home import resolve_home
    from tkalert.openpgp.seal import open_keyring

    wanted = [("vendor", fpr) for fpr in settings.vendor_keys]
    wanted += [("system", settings.system_key)] if settings.system_key else []
    if not wanted:
        return []
    try:
        gpg = open_keyring(resolve_home(settings.gnupg_home, None))
        listed = {False: gpg.list_keys(), True: gpg.list_keys(True)}
    except TkalertError as exc:
        return [{"role": role, "fingerprint": fpr, "expires": None, "problem": one_line(exc)} for role, fpr in wanted]
    found = []
    for role, fpr in wanted:
        key = next((k for k in listed[role == "system"] if k.get("fingerprint", "").upper() == fpr), None)
        expires = (key or {}).get("expires") or ""
        problem = None if key else f"not in the keyring{' (no secret key)' if role == 'system' else ''}"
        if expires.isdigit() and int(expires) <= now:
            problem = f"EXPIRED on {_when(int(expires))[:10]}"
        found.append({"role": role, "fingerprint": fpr, "problem": problem,
                      "expires": _when(int(expires))[:10] if expires.isdigit() else None})
    return found


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    for unit, size, smaller, small_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if seconds >= size:
            rest = (seconds % size) // small_size
            return f"{seconds // size}{unit}" + (f" {rest}{smaller}" if rest else "")
    return f"{seconds // 60}m" if seconds >= 60 else f"{seconds}s"


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
