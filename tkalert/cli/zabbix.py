"""`tkalert zabbix setup`: put the tkalert media type into a Zabbix 6.0 server through its API.

It imports the media type shipped in tkalert/integrations/zabbix/media_type.yaml with configuration.import (create it,
or update it to this version), and on request gives a user the media and creates the action that sends tagged
problems, recoveries and updates to it. The API access comes from the options, else from the config's [zabbix] section
(the same section the alert script reads the host inventory with). Errors go to the admin group's boundary.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

ALERT_SCRIPTS_HINT = ("the Zabbix server runs tkalert-zabbix from its AlertScriptsPath: link it there, e.g. "
                      "ln -s {script} /etc/zabbix/alert.d/ (Debian's path; Zabbix's own packages use "
                      "/usr/lib/zabbix/alertscripts/)")


@click.group()
def zabbix():
    """Zabbix 6.0: the tkalert media type and its alert script tkalert-zabbix."""


@zabbix.command()
@click.option("--config", envvar="TKALERT_CONFIG", metavar="FILE", default=None,
              help="tkalert config (default /etc/tkalert/tkalert.conf); its [zabbix] section gives the API access.")
@click.option("--url", metavar="URL", help="Zabbix frontend URL, e.g. https://zabbix.example.net/zabbix.")
@click.option("--user", metavar="NAME", help="API user (a Super admin: importing media types needs one).")
@click.option("--password-file", metavar="FILE", help="File holding the API user's password ('-': stdin).")
@click.option("--token-file", metavar="FILE", help="File holding an API token (instead of user and password).")
@click.option("--timeout", type=float, default=None, metavar="SECONDS", help="Per-request timeout [5].")
@click.option("--user-media", "media_user", metavar="USERNAME",
              help="Also give this Zabbix user the tkalert media (all severities, always active).")
@click.option("--sendto", metavar="TEXT",
              help="The media's 'Send to': the tkalert config the alert script reads [the config's absolute path].")
@click.option("--action", "action_name", metavar="NAME",
              help="Also create action NAME sending events tagged --tag to the --user-media user.")
@click.option("--tag", default="tkalert", show_default=True, metavar="TAG",
              help="The event tag (set on hosts, templates or triggers) the action reports.")
def setup(config, url, user, password_file, token_file, timeout, media_user, sendto, action_name, tag):
    """Import the tkalert media type through the Zabbix API; optionally add a user media and an action."""
    from tkalert.config.settings import load_settings
    from tkalert.errors import UsageError
    from tkalert.integrations.zabbix.api import Session, media_type_yaml

    settings = load_settings(config)
    access = _access(settings, url, user, password_file, token_file, timeout)
    if action_name and not media_user:
        raise UsageError("--action needs --user-media USERNAME: the user the action sends to")
    with Session(access) as session:
        outcome, mediatypeid = session.import_media_type(media_type_yaml())
        click.echo(f"media type tkalert: {outcome} (mediatypeid {mediatypeid}, script tkalert-zabbix)")
        if media_user:
            target = sendto or _default_sendto(settings)
            done = session.add_user_media(media_user, mediatypeid, target)
            click.echo(f"user {media_user}: tkalert media {done} (send to {target})")
        if action_name:
            done = session.ensure_action(action_name, tag, media_user, mediatypeid)
            click.echo(f"action {action_name}: {done} (problems, recoveries and updates of events tagged {tag!r})")
    click.echo("next: " + ALERT_SCRIPTS_HINT.format(script=_installed_script()))
    return 0


def _access(settings, url, user, password_file, token_file, timeout):
    """Options win over the config's [zabbix] section; secrets only ever come from files."""
    from tkalert.errors import UsageError
    from tkalert.integrations.zabbix.api import access_from_section

    section = dict(settings.section("zabbix"))
    base = Path(settings.path).parent if settings.path else Path.cwd()
    if url:
        section = {"url": url}
        base = Path.cwd()
    for key, value in (("user", user), ("token_file", token_file), ("timeout", timeout)):
        if value is not None:
            section[key] = str(value)
    if password_file == "-":
        section["password"] = sys.stdin.readline().strip()
    elif password_file:
        section["password_file"] = password_file
    access = access_from_section(section, base, settings.path, "command line" if url else None)
    if access is None:
        raise UsageError("no Zabbix API: give --url (with --user and --password-file, or --token-file), "
                         "or set url in the config's [zabbix] section")
    return access


def _default_sendto(settings) -> str:
    # The alert script reads the config named by an absolute Send to; Zabbix requires the field to be non-empty.
    return str(Path(settings.path).resolve()) if settings.path else "tkalert"


def _installed_script() -> str:
    here = Path(sys.argv[0]).resolve().parent / "tkalert-zabbix"
    return str(here) if here.exists() else "$(command -v tkalert-zabbix)"
