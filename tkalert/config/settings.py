"""Settings: the INI file (default /etc/tkalert/tkalert.conf) read into one frozen object.

Everything after the command line reads its settings from here; nothing else opens the config file. The parser
is strict (tkalert.config.fields reads every value): an unknown key in a known section is an error that names the
key, so a typo never silently falls back to a default. Secrets (auth key, SMTP password) can come from files named
in the config or from the environment so that they never have to appear on a command line.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from types import MappingProxyType
from collections.abc import Mapping

from tkalert.config.fields import Section
from tkalert.errors import ConfigError, one_line
from tkalert.record import Record

DEFAULT_CONFIG = Path("/etc/tkalert/tkalert.conf")
DEFAULT_GNUPG_CONFIG = Path("/etc/tkalert/gnupg.conf")
AUTH_KEY_ENV = "TKALERT_AUTH_KEY"
CONFIG_ENV = "TKALERT_CONFIG"

MAIN_KEYS = {
    "enabled", "auth_key", "auth_key_file", "contact_person", "contact_mail", "system_id",
    "state_dir", "spool_dir", "destinations", "syslog", "attach_key",
}
GNUPG_KEYS = {"home", "vendor_keys", "system_key"}
INLINE_COMMENTS = (";", "#")


class Destination(Record):
    """One place messages go, from a `[destination NAME]` section; the transport reads its own options."""

    name: str
    transport: str
    options: Mapping[str, str]


class Settings(Record):
    path: Path | None = None
    enabled: bool = True
    auth_key: str | None = None
    contact_person: str | None = None
    contact_mail: str | None = None
    system_id: str | None = None
    state_dir: Path = Path("/var/lib/tkalert")
    spool_dir: Path = Path("/var/spool/tkalert")
    gnupg_home: Path | None = None
    vendor_keys: tuple[str, ...] = ()
    system_key: str | None = None
    destinations: tuple[Destination, ...] = ()
    syslog: str | None = "/dev/log"  # the syslog socket each message's way is logged to; None: not logged
    attach_key: bool = True  # the system's public key goes with every sealed message (RFC 3156 section 7)
    # Sections other steps own ([spool], [storm], ...): they validate their own keys.
    sections: Mapping[str, Mapping[str, str]] = MappingProxyType({})

    def section(self, name: str) -> Mapping[str, str]:
        return self.sections.get(name, MappingProxyType({}))


def load_settings(path: str | os.PathLike | None, env: Mapping[str, str] = os.environ) -> Settings:
    """Read the config; a missing file is an error only when it was named explicitly."""
    explicit = path is not None or CONFIG_ENV in env
    cfg_path = Path(path if path is not None else env.get(CONFIG_ENV, DEFAULT_CONFIG))
    # An inline comment needs whitespace before its ';' or '#' (configparser's rule), so `a;b` stays one value.
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none",
                                       inline_comment_prefixes=INLINE_COMMENTS)
    try:
        with open(cfg_path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {cfg_path} does not exist (give an existing file with --config)")
        return _with_env_secrets(Settings(), env)
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigError(f"cannot read config file {cfg_path}: {one_line(exc)}") from None
    return _with_env_secrets(_settings_from(parser, cfg_path), env)


def _settings_from(parser: configparser.ConfigParser, cfg_path: Path) -> Settings:
    main = _known(parser, "tkalert", MAIN_KEYS, cfg_path)
    gpg = _known(parser, "gnupg", GNUPG_KEYS, cfg_path)
    destinations = _destinations(parser, main.text("destinations"), cfg_path)
    vendor_keys = split_fingerprints(gpg.text("vendor_keys"))
    others = {
        name: MappingProxyType(dict(parser[name]))
        for name in parser.sections()
        if name not in ("tkalert", "gnupg") and not name.startswith("destination ")
    }
    return Settings(
        path=cfg_path,
        enabled=main.boolean("enabled", True, spelled="0 or 1"),
        auth_key=main.text("auth_key") or main.secret("auth_key_file"),
        contact_person=main.text("contact_person"),
        contact_mail=main.text("contact_mail"),
        system_id=main.text("system_id"),
        state_dir=main.path("state_dir", Settings.state_dir),
        spool_dir=main.path("spool_dir", Settings.spool_dir),
        gnupg_home=gpg.path("home"),
        vendor_keys=tuple(_fingerprint(fpr, "vendor_keys", gpg) for fpr in vendor_keys),
        system_key=_fingerprint(gpg.text("system_key"), "system_key", gpg) if gpg.text("system_key") else None,
        destinations=destinations,
        syslog=_syslog(main.text("syslog")),
        attach_key=main.boolean("attach_key", True),
        sections=MappingProxyType(others),
    )


def _syslog(value: str | None) -> str | None:
    if value is None:
        return Settings.syslog
    return None if value.strip().lower() in ("off", "no", "none", "") else value.strip()


def _known(parser, section: str, keys: set[str], cfg_path: Path) -> Section:
    return Section(dict(parser[section]) if parser.has_section(section) else {}, keys, section, cfg_path)


def _destinations(parser, order: str | None, cfg_path: Path) -> tuple[Destination, ...]:
    found = {s.split(None, 1)[1].strip(): s for s in parser.sections() if s.startswith("destination ")}
    names = order.replace(",", " ").split() if order else list(found)
    result = []
    for name in names:
        if name not in found:
            raise ConfigError(f"{cfg_path}: destinations names {name!r} but there is no [destination {name}] section")
        options = dict(parser[found[name]])
        transport = options.pop("transport", "smtp")
        result.append(Destination(name, transport, MappingProxyType(options)))
    return tuple(result)


def _with_env_secrets(settings: Settings, env: Mapping[str, str]) -> Settings:
    if env.get(AUTH_KEY_ENV):
        return settings.replace(auth_key=env[AUTH_KEY_ENV])
    return settings


def split_fingerprints(text: str | None) -> list[str]:
    """`vendor_keys` -> one string per key: fingerprints apart by commas or whitespace, each whole or in gpg's
    grouped form (`E4FE A96E ... 3D8C`, ten groups of four): short groups are joined until 40 digits."""
    found: list[str] = []
    for part in (text or "").split(","):
        pending = ""
        for token in part.split():
            if not pending and len(token) >= 16:
                found.append(token)
                continue
            pending += token
            if len(pending) >= 40:
                found.append(pending)
                pending = ""
        if pending:
            found.append(pending)
    return found


def _fingerprint(value: str, key: str, section: Section) -> str:
    fpr = "".join(value.split()).upper()
    if len(fpr) != 40 or any(c not in "0123456789ABCDEF" for c in fpr):
        raise section.error(
            f"{key}: {value!r} is not a full 40-hex-digit key fingerprint "
            "(user ids and short key ids are refused: another key could carry the same one)"
        )
    return fpr

