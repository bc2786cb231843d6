"""Receiver config: `receiver.conf` (default /etc/tkalert-receiver/receiver.conf) read strictly into one frozen object.

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

Acting and escalating (tkalert.receiver.act, .escalate, .tickets, .outbox; a contract's own stages and sink,
set with `contracts stages` and `contracts sink`, win over these):
  warn_after       first stage: this long without a heartbeat mails the system's last contact [50h]
  alarm_after      second stage: mails support_mail with the list of silent systems [75h]
  repeat_every     fire the last stage reached again every so long while still silent [none]
  support_mail     the vendor's support address (second stage, site notices) [none: those mails are not sent]
  mail_from        From of every mail the receiver sends [tkalert-receiver@localhost]
  ticket_sink      mail | webhook | none: where alert episodes become tickets [none]
  ticket_mail      the ticket system's address (ticket_sink = mail)
  ticket_close_mail the address that resolves a ticket (RT: an alias with --action correspond-resolve) [ticket_mail]
  ticket_wait      how long an update waits for the ticket system's reply (its tag) after the opening mail [10m]
  ticket_tag       regular expression of the ticket system's subject tag [any "[... #123]"]
  webhook_url      the JSON webhook (ticket_sink = webhook)
  webhook_secret_file  the HMAC-SHA256 key of the webhook's X-Tkalert-Signature
  site_share       share of a contract's systems silent within one hour that makes one site notice [0.8]
  site_minimum     fewer silent systems than this never make a site notice [3]
  drift_limit      signed time this far from receipt raises one clock-drift notice per episode [5m]
  sweep_every      how often `serve` sweeps and delivers the outbox [1m]
  retry_max        the longest wait between two delivery attempts of an outgoing message [1h]
  receipts         yes | no: a signed receipt to the sender's contact for every test message [yes]
  maintenance_max  the longest maintenance window a system may declare itself (tkalert maintenance) [7d]
A `[relay]` section holds the SMTP options of tkalert.conf(5)'s smtp transport (host, port, security, username,
password_file, ...): the relay every outgoing mail goes through [localhost:25].
Dashboard (tkalert.receiver.web.options):
  web_listen, web_tls, web_session, metrics_allow
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, replace
from pathlib import Path

from tkalert.config.fields import Section
from tkalert.errors import ConfigError, one_line
from tkalert.receiver.web.options import WEB_KEYS, WebConfig, web_config

DEFAULT_CONFIG = Path("/etc/tkalert-receiver/receiver.conf")
CONFIG_ENV = "TKALERT_RECEIVER_CONFIG"
HINT = "see tkalert-receiver(8)"
KNOWN = {
    "database": None, "state_dir": "/var/lib/tkalert-receiver", "store_dir": None, "gnupg_home": None,
    "passphrase_file": None, "smtp_listen": "127.0.0.1:2525", "lmtp_listen": None, "https_listen": None,
    "certificate": None, "certificate_key": None, "size_limit": "10485760", "workers": "2",
    "claim_lease": "5m", "replay_window": "1000", "clock_skew": "5m",
    "warn_after": "50h", "alarm_after": "75h", "repeat_every": None, "support_mail": None,
    "mail_from": "tkalert-receiver@localhost", "ticket_sink": "none", "ticket_mail": None, "ticket_close_mail": None,
    "ticket_wait": "10m",
    "ticket_tag": r"\[[^]]*#[0-9]+\]", "webhook_url": None, "webhook_secret_file": None, "site_share": "0.8",
    "site_minimum": "3", "drift_limit": "5m", "sweep_every": "1m", "retry_max": "1h", "receipts": "yes",
    "maintenance_max": "7d",
    **WEB_KEYS,
}
SECTIONS = ("receiver", "relay")
SINKS = ("mail", "webhook", "none")


@dataclass(frozen=True)
class ActConfig:
    """What act, escalate, the ticket sinks and the outbox read (receiver.conf's defaults for every contract)."""

    warn_after: float = 50 * 3600.0
    alarm_after: float = 75 * 3600.0
    repeat_every: float | None = None
    support_mail: str | None = None
    mail_from: str = "tkalert-receiver@localhost"
    ticket_sink: str = "none"
    ticket_mail: str | None = None
    ticket_close_mail: str | None = None
    ticket_tag: str = r"\[[^]]*#[0-9]+\]"
    ticket_wait: float = 600.0
    webhook_url: str | None = None
    webhook_secret_file: Path | None = None
    site_share: float = 0.8
    site_minimum: int = 3
    drift_limit: float = 300.0
    sweep_every: float = 60.0
    retry_max: float = 3600.0
    receipts: bool = True
    maintenance_max: float = 7 * 86400.0
    relay: tuple[tuple[str, str], ...] = ()

    def webhook_secret(self) -> bytes:
        from tkalert.config.fields import secret

        if self.webhook_secret_file is None:
            return b""
        return secret(self.webhook_secret_file, "webhook_secret_file", "receiver.conf").encode()


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
    web: WebConfig = WebConfig()
    act: ActConfig = ActConfig()

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
    others = [name for name in parser.sections() if name not in SECTIONS]
    if others:
        raise ConfigError(f"{cfg_path}: unknown section [{others[0]}] (the receiver reads only [receiver] and "
                          f"[relay]; {HINT})")
    values = dict(parser["receiver"]) if parser.has_section("receiver") else {}
    relay = tuple(parser["relay"].items()) if parser.has_section("relay") else ()
    config = from_section(Section(values, KNOWN, "receiver", cfg_path, hint=HINT), cfg_path)
    return replace(config, act=act_config(Section(values, KNOWN, "receiver", cfg_path, hint=HINT), relay))


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


def act_config(section: Section, relay: tuple[tuple[str, str], ...] = ()) -> ActConfig:
    import re

    sink = section.choice("ticket_sink", SINKS)
    if sink == "mail" and not section.text("ticket_mail"):
        raise section.error("ticket_sink = mail needs ticket_mail (the ticket system's address)")
    if sink == "webhook" and not section.text("webhook_url"):
        raise section.error("ticket_sink = webhook needs webhook_url")
    tag = section.text("ticket_tag")
    try:
        re.compile(tag)
    except re.error as exc:
        raise section.error(f"ticket_tag is not a regular expression: {exc}") from None
    share = section.text("site_share")
    try:
        site_share = float(share)
    except ValueError:
        site_share = -1.0
    if not 0 < site_share <= 1:
        raise section.error(f"site_share must be a share above 0 and at most 1 (e.g. 0.8), not {share!r}")
    warn, alarm = section.duration("warn_after"), section.duration("alarm_after")
    if alarm <= warn:
        raise section.error("alarm_after must be longer than warn_after")
    return ActConfig(
        warn_after=warn, alarm_after=alarm,
        repeat_every=section.duration("repeat_every") if section.text("repeat_every") else None,
        support_mail=section.text("support_mail"), mail_from=section.text("mail_from"), ticket_sink=sink,
        ticket_mail=section.text("ticket_mail"),
        ticket_close_mail=section.text("ticket_close_mail") or section.text("ticket_mail"), ticket_tag=tag,
        ticket_wait=section.duration("ticket_wait", positive=False),
        webhook_url=section.text("webhook_url"), webhook_secret_file=section.path("webhook_secret_file"),
        site_share=site_share, site_minimum=section.integer("site_minimum", low=1),
        drift_limit=section.duration("drift_limit"), sweep_every=section.duration("sweep_every"),
        retry_max=section.duration("retry_max"), receipts=section.boolean("receipts"),
        maintenance_max=section.duration("maintenance_max"), relay=relay)


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
