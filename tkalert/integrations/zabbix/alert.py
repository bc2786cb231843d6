"""`tkalert-zabbix SENDTO SUBJECT MESSAGE`: the alert script of the Zabbix `tkalert` media type.

Zabbix runs it from AlertScriptsPath as its own user, with an empty environment (no HOME, no TKALERT_CONFIG), kills
it after 40 s, keeps what it prints only when it exits non-zero (that line is the error in the action log) and
retries a non-zero exit. So the config comes from SENDTO when that is an absolute path (else the default
/etc/tkalert/tkalert.conf), GnuPG's home from the config, and the hook imports only the send path.

Steps: parse MESSAGE (zabbix.alert_message) -> fill serial and OS from the host inventory when they are
missing and the config has a [zabbix] API section (integrations.zabbix.api; a failure there is only a warning) ->
send as `tkalert --type=service` does (tkalert.sender.pipeline). SUBJECT is only for Zabbix's own views.

Exit status (tkalert-zabbix(1)): 0 when the alert was sent or tkalert's spool holds it (queued for retry, or in
failed/ for the administrator): a retry by Zabbix could only duplicate it. Otherwise nothing holds the alert, so
it exits non-zero and Zabbix shows the reason and retries, which can succeed once the cause is fixed and can never
duplicate: 75 spool not writable, 78 configuration, 2 message not from the tkalert template, 1 anything else.
"""

from __future__ import annotations

import os
import sys

from tkalert.cli.boundary import command_failure, guard
from tkalert.errors import TkalertError

USAGE = "usage: tkalert-zabbix SENDTO SUBJECT MESSAGE (Zabbix passes {ALERT.SENDTO} {ALERT.SUBJECT} {ALERT.MESSAGE})"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if len(args) != 3:
        return say(f"{USAGE}; got {len(args)} argument(s)", 2)
    # Zabbix shows the boundary's one line in the action log
    return guard(lambda: run(*args), command_failure("tkalert-zabbix"))


def run(sendto: str, subject: str, message: str) -> int:
    from tkalert.config.settings import load_settings
    from tkalert.openpgp.home import resolve_home
    from tkalert.sender.pipeline import SendOptions, send_event
    from tkalert.integrations.zabbix.alert_message import event_from_message

    settings = load_settings(config_path(sendto))
    if not settings.enabled:
        print("tkalert not enabled, exit.")
        return 0
    event = with_inventory(event_from_message(message), settings)
    result = send_event(event, settings, SendOptions(gnupg_home=resolve_home(settings.gnupg_home, None)))
    for warning in result.warnings:
        say(f"warning: {warning}")
    if result.state != "sent":
        say(f"{result.state}: {result.reason or ''}")
    return 0


def config_path(sendto: str) -> str | None:
    """SENDTO names the config when it is an absolute path; any other word (Zabbix needs one) means the default."""
    sendto = sendto.strip()
    return sendto if sendto.startswith("/") else None


def with_inventory(event, settings):
    """Fill a missing serial or OS from the host inventory, when the config names the Zabbix API."""
    if (event.serial and event.os) or not settings.section("zabbix"):
        return event
    from tkalert.integrations.zabbix.api import access_from_section, inventory_within

    try:
        access = access_from_section(settings.section("zabbix"), os.path.dirname(settings.path), settings.path)
        if access is None:
            return event
        inventory = inventory_within(access, event.host)
    except TkalertError as exc:  # serial and OS are optional: the alert goes out without them
        say(f"warning: no inventory lookup: {exc}")
        return event
    return event.replace(serial=event.serial or inventory.get("serial"), os=event.os or inventory.get("os"))


def say(line: str, code: int = 0) -> int:
    print(f"tkalert-zabbix: {' '.join(line.split())}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
