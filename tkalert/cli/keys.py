"""`tkalert keygen`: create this system's signing key (no passphrase: tkalert signs unattended)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import click

from tkalert.errors import SealError


def generate_system_key(home: Path, name: str) -> str:
    """Create an Ed25519 signing key in `home` (created 0700 if missing); return its fingerprint."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    uid = f"tkalert system key <tkalert@{name}>"
    base = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    made = subprocess.run([*base, "--quick-gen-key", uid, "ed25519", "sign", "0"], capture_output=True, text=True,
                          check=False)
    if made.returncode != 0:
        raise SealError(f"gpg could not create the system key in {home}: {made.stderr.strip().splitlines()[-1:]}")
    listing = subprocess.run([*base, "--with-colons", "--list-secret-keys", uid], capture_output=True, text=True,
                             check=True)
    lines = listing.stdout.splitlines()
    last = max(i for i, line in enumerate(lines) if line.startswith("sec:"))
    return next(line for line in lines[last:] if line.startswith("fpr:")).split(":")[9]


def export_public(home: Path, fingerprint: str) -> bytes:
    done = subprocess.run(["gpg", "--homedir", str(home), "--armor", "--export", fingerprint], capture_output=True,
                          check=True)
    return done.stdout


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
    home = home or resolve_home(settings.gnupg_home, None)
    fingerprint = generate_system_key(home, name or socket.getfqdn())
    public = home / "system-key.asc"
    public.write_bytes(export_public(home, fingerprint))
    click.echo(f"created system key {fingerprint} in {home}")
    click.echo(f"put this in [gnupg] of the config:  system_key = {fingerprint}")
    click.echo(f"send the public key {public} to the vendor")
    return 0
