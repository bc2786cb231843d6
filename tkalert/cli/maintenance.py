"""`tkalert maintenance --until TIME`: declare a maintenance window to the vendor, or end it (`--end`).

Sends one heartbeat carrying `<maintenance until="...">reason</maintenance>` through the usual path (sealed,
spooled, delivered, retried); the vendor's receiver holds escalation stages and tickets for this system until
then. A window is capped by the receiver (`maintenance_max` in receiver.conf), so a typo cannot silence a system
for a year.
"""

from __future__ import annotations

import time

import click


@click.command(name="maintenance")
@click.option("--config", envvar="TKALERT_CONFIG", metavar="FILE", default=None,
              help="Config file (default /etc/tkalert/tkalert.conf).")
@click.option("--gnupg-config", metavar="FILE", default=None,
              help="TKalert 1.5 gnupg.conf (its directory is the GnuPG home).")
@click.option("--until", "until", metavar="TIME", default=None,
              help="End of the window: a UTC time (2026-12-24T08:00) or a duration from now (4h).")
@click.option("--end", is_flag=True, help="End the window now (the vendor escalates again from here).")
@click.option("--reason", default="", metavar="TEXT", help="Why, for the vendor's record.")
def maintenance(config, gnupg_config, until, end, reason):
    """Tell the vendor this system is in maintenance until TIME: no escalation, no tickets until then."""
    from tkalert.cli.boundary import fail
    from tkalert.config.fields import moment
    from tkalert.config.settings import load_settings
    from tkalert.document.event import Event
    from tkalert.errors import ConfigError, UsageError, one_line
    from tkalert.openpgp.home import resolve_home
    from tkalert.sender.pipeline import SendOptions, send_event

    if (until is None) == (not end):
        raise UsageError("usage error: give --until TIME (a UTC time or a duration) or --end")
    now = time.time()
    try:
        ends = now if end else moment(until, now)
    except ConfigError as exc:
        raise UsageError(f"usage error: {exc}") from None
    if not end and ends <= now:
        raise UsageError(f"usage error: --until {until} is not in the future (--end ends a window)")
    settings = load_settings(config)
    options = SendOptions(gnupg_home=resolve_home(settings.gnupg_home, gnupg_config), maintenance=(ends, reason))
    result = send_event(Event(event_type="heartbeat"), settings, options)
    if result.state == "failed":
        return fail(f"could not declare the maintenance window: {result.reason}", 1)
    window = "ended" if end else f"until {time.strftime('%Y-%m-%d %H:%M', time.gmtime(ends))} UTC"
    detail = f" ({one_line(result.reason)})" if result.reason else ""
    click.echo(f"maintenance {window}: heartbeat {result.message_id} {result.state}{detail}")
    return 0
