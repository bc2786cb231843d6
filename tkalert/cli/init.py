"""`tkalert init`: set up this system once: config directory and commented config, system id, signing key, the
vendor's key pinned by fingerprint.

Each step looks first and changes only what is missing, and says which it did, so a second run changes nothing
and says so. What it makes: the config directory (0700) with a commented config that parses
(tkalert.config.template), the system id kept in the state directory (tkalert.document.identity; `--system-id`
re-uses an old one after a move to new hardware), this system's Ed25519 signing key in the GnuPG home with its
fingerprint written to `[gnupg] system_key`, and with `--vendor-key FILE` the vendor's public key imported, its
fingerprint printed and pinned in `[gnupg] vendor_keys`. Errors go to the admin group's boundary.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import click

from tkalert.config.settings import DEFAULT_CONFIG, Settings, load_settings
from tkalert.errors import ConfigError, SealError, UsageError

DEFAULT_HOME = Path("/var/lib/tkalert/gnupg")


@dataclass(frozen=True)
class Done:
    """One step's outcome: what it looked at, whether it changed anything, and the words for the admin."""

    what: str
    changed: bool
    detail: str


@click.command(name="init")
@click.option("--config", envvar="TKALERT_CONFIG", metavar="FILE", type=click.Path(path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, help="Config file to create or complete.")
@click.option("--system-id", "system_id", metavar="ID", default=None,
              help="Use this system id (the old one, after a move to new hardware) instead of a new one.")
@click.option("--vendor-key", "vendor_key", metavar="FILE", type=click.Path(path_type=Path), default=None,
              help="The vendor's public key file: imported, its fingerprint printed and pinned.")
@click.option("--home", type=click.Path(path_type=Path), default=None,
              help=f"GnuPG home written into a new config (default {DEFAULT_HOME}).")
@click.option("--state-dir", type=click.Path(path_type=Path), default=None,
              help=f"state_dir written into a new config (default {Settings.state_dir}).")
@click.option("--spool-dir", type=click.Path(path_type=Path), default=None,
              help=f"spool_dir written into a new config (default {Settings.spool_dir}).")
@click.option("--name", default=None, help="Host name in the signing key's user id (default: this host's FQDN).")
def init(config, system_id, vendor_key, home, state_dir, spool_dir, name):
    """Set up this system: config, system id, signing key, vendor key. A second run changes nothing."""
    steps = run_init(config, system_id=system_id, vendor_key=vendor_key, home=home, state_dir=state_dir,
                     spool_dir=spool_dir, name=name)
    for step in steps:
        click.echo(f"{step.what}: {step.detail}")
    changed = any(step.changed for step in steps)
    click.echo("tkalert init: done; check the set-up with 'tkalert test'" if changed
               else "tkalert init: nothing changed (already set up)")
    return 0


def run_init(config: Path, *, system_id: str | None = None, vendor_key: Path | None = None,
             home: Path | None = None, state_dir: Path | None = None, spool_dir: Path | None = None,
             name: str | None = None) -> list[Done]:
    from tkalert.document.identity import id_problem

    if system_id is not None and id_problem(system_id):
        raise UsageError(f"--system-id {system_id!r} {id_problem(system_id)}")
    if vendor_key is not None and not vendor_key.is_file():
        raise UsageError(f"--vendor-key {vendor_key}: no such file (give the vendor's public key file)")
    config = Path(config).absolute()
    steps = [config_dir_step(config.parent), config_file_step(config, home, state_dir, spool_dir)]
    settings = load_settings(config)
    steps.append(system_id_step(settings, system_id))
    from tkalert.openpgp.home import resolve_home

    gnupg_home = Path(resolve_home(settings.gnupg_home, None))
    steps.append(system_key_step(config, settings, gnupg_home, name or socket.getfqdn()))
    if vendor_key is not None:
        steps.extend(vendor_key_steps(config, gnupg_home, vendor_key))
    elif not settings.vendor_keys:
        steps.append(Done("vendor key", False, "none pinned yet: run tkalert init --vendor-key FILE"))
    load_settings(config)  # what was written parses
    return steps


def config_dir_step(directory: Path) -> Done:
    if directory.is_dir():
        return Done("config directory", False, f"{directory} exists")
    directory.mkdir(mode=0o700, parents=True)
    os.chmod(directory, 0o700)  # mkdir's mode passes through the umask
    return Done("config directory", True, f"{directory} created (mode 0700)")


def config_file_step(config: Path, home, state_dir, spool_dir) -> Done:
    from tkalert.config.template import render_template

    if config.exists():
        return Done("config", False, f"{config} exists (kept; init only fills in what is missing)")
    text = render_template(state_dir or Settings.state_dir, spool_dir or Settings.spool_dir, home or DEFAULT_HOME)
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Done("config", True, f"{config} created (commented; every key is in tkalert.conf(5))")


def system_id_step(settings: Settings, wanted: str | None) -> Done:
    from tkalert.document.identity import ID_FILE, derived_id, keep_id, stored_id
    from tkalert.sender.spool.disk import ensure_dir

    if settings.system_id:
        if wanted is not None and wanted != settings.system_id:
            raise ConfigError(f"{settings.path}: system_id = {settings.system_id} in [tkalert] wins over "
                              f"--system-id {wanted}: change or remove that line, then run tkalert init again")
        return Done("system id", False, f"{settings.system_id} (system_id in the config)")
    state = ensure_dir(Path(settings.state_dir))
    where = state / ID_FILE
    found = stored_id(state)
    if wanted is not None:
        if found == wanted:
            return Done("system id", False, f"{found} (kept in {where})")
        keep_id(state, wanted, replace=True)
        was = f", was {found}" if found else ""
        return Done("system id", True, f"{wanted} (set by --system-id{was}; kept in {where})")
    if found:
        return Done("system id", False, f"{found} (kept in {where}, never made again)")
    value, source = derived_id()
    kept = keep_id(state, value)
    return Done("system id", True, f"{kept} (new: {source}; kept in {where})")


def system_key_step(config: Path, settings: Settings, home: Path, host: str) -> Done:
    from tkalert.config.template import set_value
    from tkalert.openpgp.keys import export_public, generate_system_key

    if settings.system_key:
        if has_secret_key(home, settings.system_key):
            return Done("system key", False, f"{settings.system_key} in {home}")
        raise ConfigError(f"{config}: [gnupg] system_key = {settings.system_key} has no secret key in {home}: "
                          "fix the home, or remove the system_key line to have tkalert init make a new key")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    fingerprint = generate_system_key(home, host)
    public = home / "system-key.asc"
    public.write_bytes(export_public(home, fingerprint))
    rewrite(config, lambda text: set_value(text, "gnupg", "system_key", fingerprint))
    return Done("system key", True, f"{fingerprint} created in {home}, written to [gnupg] system_key; "
                                    f"send the public key {public} to the vendor")


def vendor_key_steps(config: Path, home: Path, key_file: Path) -> list[Done]:
    from tkalert.config.template import set_value
    from tkalert.openpgp.keys import import_keys, vendor_key_problem
    from tkalert.openpgp.seal import open_keyring

    found = keys_in_file(home, key_file)
    if not found:
        raise UsageError(f"--vendor-key {key_file} holds no OpenPGP public key")
    before = {fpr: key_state(home, fpr) for fpr, _ in found}
    import_keys(home, key_file.read_bytes())
    gpg = open_keyring(home)
    pinned = list(load_settings(config).vendor_keys)
    newly = []
    steps = []
    for fingerprint, uid in found:
        problem = vendor_key_problem(gpg, fingerprint, home)
        if problem:
            raise SealError(f"{problem} (the key from {key_file} was not pinned)")
        imported = "unchanged in" if key_state(home, fingerprint) == before[fingerprint] else "imported into"
        if fingerprint in pinned:
            steps.append(Done("vendor key", imported != "unchanged in",
                              f"{fingerprint} ({uid}) {imported} {home}, already pinned"))
            continue
        pinned.append(fingerprint)
        newly.append(fingerprint)
        steps.append(Done("vendor key", True, f"{fingerprint} ({uid}) {imported} {home}, pinned in "
                                              "[gnupg] vendor_keys"))
    if newly:
        rewrite(config, lambda text: set_value(text, "gnupg", "vendor_keys", ", ".join(pinned)))
    return steps


def keys_in_file(home: Path, key_file: Path) -> list[tuple[str, str]]:
    """(fingerprint, first user id) of every primary key in the file, read without importing it."""
    from tkalert.openpgp.keys import gpg

    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    lines = gpg(home, "--with-colons", "--show-keys", str(key_file)).stdout.decode("utf-8", "replace").splitlines()
    found, current = [], None
    for line in lines:
        fields = line.split(":")
        if fields[0] == "pub":
            found.append(["", "?"])
            current = found[-1]
        elif fields[0] == "fpr" and current is not None and not current[0]:
            current[0] = fields[9].upper()
        elif fields[0] == "uid" and current is not None and current[1] == "?":
            current[1] = fields[9]
    return [(fpr, uid) for fpr, uid in found if fpr]


def key_state(home: Path, fingerprint: str) -> str:
    """What the keyring holds of one key (its colon listing), to tell an import that changed it from one that
    did not."""
    import subprocess

    done = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--with-colons", "--list-keys", fingerprint],
                          capture_output=True, check=False)
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else ""


def has_secret_key(home: Path, fingerprint: str) -> bool:
    import subprocess

    done = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--with-colons", "--list-secret-keys",
                           fingerprint], capture_output=True, check=False)
    return done.returncode == 0


def rewrite(config: Path, change) -> None:
    """Apply a one-key edit to the config when it changes anything; the new text must parse before it replaces
    the old one (written to a temporary file next to it, then renamed over it, keeping the file's mode)."""
    old = config.read_text(encoding="utf-8")
    new = change(old)
    if new == old:
        return
    tmp = config.with_name(f".{config.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, config.stat().st_mode & 0o777)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new)
        load_settings(tmp)
        os.replace(tmp, config)
    finally:
        tmp.unlink(missing_ok=True)
