"""Receiver config: `receiver.conf` (default /etc/tkalert/receiver.conf) read strictly into one frozen object.

Every receiver command starts here, the MTA pipe too, so only cheap standard modules are imported (no Django: the
Django settings are built from this object by tkalert.receiver.django_setup). One section, `[receiver]`:

  database         sqlite:PATH (default <state_dir>/receiver.sqlite3) or postgresql://user:pass@host:port/name
  state_dir        the receiver's own files [/var/lib/tkalert-receiver]
  store_dir        raw messages as they came in, before a worker imports them [<state_dir>/store]
  gnupg_home       the vendor's GnuPG home (the secret key messages are encrypted to) [<state_dir>/gnupg]
  passphrase_file  the vendor key's passphrase, when it has one [none]
  smtp_listen      HOST:PORT[, ...] of the built-in SMTP listener [127.0.0.1:2525]; empty: none
  lmtp_listen      HOST:PORT[, ...] of the LMTP listener (Postfix's lmtp transport) [none]
  https_listen     HOST:PORT of the HTTPS endpoint [none]; needs certificate and certificate_key
  certificate      the HTTPS certificate chain (PEM) [none]
  certificate_key  its private key (PEM) [none]
  size_limit       largest message in bytes (SMTP answers 552 above it) [10485760]
  workers          worker processes `serve` starts [2]
  claim_lease      how long a claimed message stays a worker's before another may take it over [5m]
  replay_window    how far a system's sequence may go back (delivery retries reorder) before it is a replay [1000]
  clock_skew       signed time further than this from the receipt time is recorded as skew [5m]
  web_listen, web_tls, web_session, metrics_allow: the dashboard's (tkalert.receiver.web.options)
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

from tkalert.config.fields import Section
from tkalert.errors import ConfigError, one_line
from tkalert.receiver.web.options import WEB_KEYS, WebConfig, web_config

DEFAULT_CONFIG = Path("/etc/tkalert/receiver.conf")
CONFIG_ENV = "TKALERT_RECEIVER_CONFIG"
HINT = "see tkalert-receiver(8)"
KNOWN = {
    "database": None, "state_dir": "/var/lib/tkalert-receiver", "store_dir": None, "gnupg_home": None,
    "passphrase_file": None, "smtp_listen": "127.0.0.1:2525", "lmtp_listen": None, "https_listen": None,
    "certificate": None, "certificate_key": None, "size_limit": "10485760", "workers": "2",
    "claim_lease": "5m", "replay_window": "1000", "clock_skew": "5m", **WEB_KEYS,
}


@dataclass(frozen=True)
class Database:
    """Where the receiver's tables live: `engine` is "sqlite" (`path`) or "postgresql" (`url`)."""

    engine: str
    path: Path | None = None
    url: str | None = None


@dataclass(frozen=True)
class ReceiverConfig:
    path: Path | None
    database: Database
    state_dir: Path
    store_dir: Path
    gnupg_home: Path
    passphrase_file: Path | None
    smtp_listen: tuple[tuple[str, int], ...]
    lmtp_listen: tuple[tuple[str, int], ...]
    https_listen: tuple[str, int] | None
    certificate: Path | None
    certificate_key: Path | None
    size_limit: int
    workers: int
    claim_lease: float
    replay_window: int
    clock_skew: float
    web: WebConfig

    def passphrase(self) -> str | None:
        """The vendor key's passphrase (read on use, so a config without one never opens a file)."""
        from tkalert.config.fields import secret

        return secret(self.passphrase_file, "passphrase_file", str(self.path)) if self.passphrase_file else None


def config_path(path: str | os.PathLike | None, env=os.environ) -> Path:
    return Path(path if path is not None else env.get(CONFIG_ENV, DEFAULT_CONFIG))


def load_config(path: str | os.PathLike | None = None, env=os.environ) -> ReceiverConfig:
    """Read receiver.conf; a missing file is an error (the receiver has no useful built-in defaults for keys)."""
    cfg_path = config_path(path, env)
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none", inline_comment_prefixes=(";", "#"))
    try:
        with open(cfg_path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {cfg_path} does not exist (create it, or give one with --config; "
                          f"{HINT})") from None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigError(f"cannot read config file {cfg_path}: {one_line(exc)}") from None
    others = [name for name in parser.sections() if name != "receiver"]
    if others:
        raise ConfigError(f"{cfg_path}: unknown section [{others[0]}] (the receiver reads only [receiver]; {HINT})")
    values = dict(parser["receiver"]) if parser.has_section("receiver") else {}
    return from_section(Section(values, KNOWN, "receiver", cfg_path, hint=HINT), cfg_path)


def from_section(section: Section, cfg_path: Path) -> ReceiverConfig:
    state_dir = section.path("state_dir")
    https = addresses(section, "https_listen")
    certificate, key = section.path("certificate"), section.path("certificate_key")
    if https and not (certificate and key):
        raise section.error("https_listen needs certificate and certificate_key (the HTTPS endpoint's PEM files)")
    if len(https) > 1:
        raise section.error("https_listen takes one HOST:PORT")
    return ReceiverConfig(
        path=cfg_path,
        database=database(section, state_dir),
        state_dir=state_dir,
        store_dir=section.path("store_dir", state_dir / "store"),
        gnupg_home=section.path("gnupg_home", state_dir / "gnupg"),
        passphrase_file=section.path("passphrase_file"),
        smtp_listen=addresses(section, "smtp_listen"),
        lmtp_listen=addresses(section, "lmtp_listen"),
        https_listen=https[0] if https else None,
        certificate=certificate,
        certificate_key=key,
        size_limit=section.integer("size_limit", low=1024),
        workers=section.integer("workers", low=0, high=64),
        claim_lease=section.duration("claim_lease"),
        replay_window=section.integer("replay_window", low=0),
        clock_skew=section.duration("clock_skew"),
        web=web_config(section, addresses(section, "web_listen"), bool(certificate and key)),
    )


def database(section: Section, state_dir: Path) -> Database:
    value = section.text("database")
    if value is None:
        return Database("sqlite", path=state_dir / "receiver.sqlite3")
    if value.startswith(("postgresql://", "postgres://")):
        return Database("postgresql", url=value)
    if value.startswith("sqlite:"):
        path = Path(value[len("sqlite:"):].removeprefix("//"))
        return Database("sqlite", path=path if path.is_absolute() else section.base / path)
    raise section.error(f"database must be sqlite:PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME, not {value!r}")


def addresses(section: Section, key: str) -> tuple[tuple[str, int], ...]:
    """`HOST:PORT, [V6]:PORT, ...` as (host, port) pairs; empty when the key is empty."""
    found = []
    for item in (section.text(key) or "").split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise section.error(f"{key} must be HOST:PORT[, HOST:PORT ...] (e.g. 127.0.0.1:2525), not {item!r}")
        found.append((host, int(port)))
    return tuple(found)
