"""`tkalert keygen`: create this system's signing key (no passphrase: tkalert signs unattended)."""

from __future__ import annotations

import socket
from pathlib import Path

import click

from tkalert.openpgp.keys import export_public, generate_system_key


@click.command()
@click.option("--home", type=click.Path(path_type=Path), default=None,
              help="GnuPG home (default: [gnupg] home from the config, else /etc/tkalert).")
@click.option("--config", envvar="TKALERT_CONFIG", metavar="FILE", default=None, help="Config file.")
@click.option("--name", default=None, help="Host name in the key's user id (default: this host's FQDN).")
def keygen(home, config, name):
    """Create the system signing key and print what to put in the config."""
    from tkalert.config.settings import load_settings
    from tkalert.openpgp.home import resolve_home

    settings = load_settings(config)
    home = home or Path(resolve_home(settings.gnupg_home, None))
    fingerprint = generate_system_key(home, name or socket.getfqdn())
    public = home / "system-key.asc"
    public.write_bytes(export_public(home, fingerprint))
    click.echo(f"created system key {fingerprint} in {home}")
    click.echo(f"put this in [gnupg] of the config:  system_key = {fingerprint}")
    click.echo(f"send the public key {public} to the vendor")
    return 0
