"""Settings: the INI file (default /etc/tkalert/tkalert.conf) read into one frozen object.

Everything after the command line reads its settings from here; nothing else opens the config file. The parser
is strict (tkalert.config.fields reads every value): an unknown key in a known section is an error that names the
key, so a typo never silently falls back to a default. Secrets (auth key, SMTP password) can come from files named
in the config or from the environment so that they never have to appear on a command line.

The notification hook reads this file on every call, so file names are text (os.path, as `Path(name)` where a
caller wants one) and a plain file (sections, `key = value` lines, comments) is read by `plain_sections` without
configparser, which with the `re` and `enum` it loads is a third of the hook's imports. Anything else (a continued
value, `key: value`, a duplicate, a line it cannot read) goes to configparser, which gives the same values and
the same errors.
"""

from __future__ import annotations

import os
from _collections_abc import Mapping  # collections.abc without the collections package (hook path)

from tkalert.config.fields import Section
from tkalert.errors import ConfigError, one_line
from tkalert.record import Record

MappingProxyType = type(type.__dict__)  # types.MappingProxyType without the types module (the hook path)

DEFAULT_CONFIG = "/etc/tkalert/tkalert.conf"
DEFAULT_GNUPG_CONFIG = "/etc/tkalert/gnupg.conf"
AUTH_KEY_ENV = "TKALERT_AUTH_KEY"
CONFIG_ENV = "TKALERT_CONFIG"

MAIN_KEYS = {
    "enabled", "auth_key", "auth_key_file", "contact_person", "contact_mail", "system_id",
    "state_dir", "spool_dir", "destinations", "syslog", "attach_key",
}
GNUPG_KEYS = {"home", "vendor_keys", "system_key"}
INLINE_COMMENTS = (";", "#")
DEFAULT_SECTION = "\0none"  # configparser's DEFAULT section would hand its keys to every section: none here


class Destination(Record):
    """One place messages go, from a `[destination NAME]` section; the transport reads its own options."""

    name: str
    transport: str
    options: Mapping[str, str]


class Settings(Record):
    path: str | None = None  # file names are text: tkalert.config.fields
    enabled: bool = True
    auth_key: str | None = None
    contact_person: str | None = None
    contact_mail: str | None = None
    system_id: str | None = None
    state_dir: str = "/var/lib/tkalert"
    spool_dir: str = "/var/spool/tkalert"
    gnupg_home: str | None = None
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
    cfg_path = os.fspath(path if path is not None else env.get(CONFIG_ENV, DEFAULT_CONFIG))
    try:
        with open(cfg_path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {cfg_path} does not exist (give an existing file with --config)")
        return _with_env_secrets(Settings(), env)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {cfg_path}: {one_line(exc)}") from None
    sections = plain_sections(text)
    if sections is None:
        sections = _configparser_sections(text, cfg_path)
    return _with_env_secrets(_settings_from(sections, cfg_path), env)


def plain_sections(text: str) -> dict[str, dict[str, str]] | None:
    """The sections of a plain INI text as configparser reads them (keys lowercased, inline comments after
    whitespace dropped), or None when the text holds anything but section headers, `key = value` lines at the
    start of a line, comments and blank lines: configparser reads those (tkalert.config.settings)."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for line in text.split("\n"):  # the file was read with universal newlines, as configparser reads it
        value = line[: _comment_start(line)].strip()
        if not value:
            continue
        if line[0].isspace():  # a continued value or an indented line: configparser's indentation rules
            return None
        if value.startswith("["):
            end = value.rfind("]")
            name = value[1:end]
            if end < 2 or name in sections or name == DEFAULT_SECTION:
                return None
            current = sections[name] = {}
            continue
        delimiter = value.find("=")
        key = value[:delimiter].rstrip().lower()
        if current is None or delimiter < 0 or ":" in value[:delimiter] or not key or key in current:
            return None
        current[key] = value[delimiter + 1:].strip()
    return sections


def _comment_start(line: str) -> int | None:
    """Where a comment starts: a line whose text starts with `;` or `#`, or one of them after whitespace
    (configparser's inline_comment_prefixes rule, so `a;b` stays one value)."""
    if line.strip().startswith(INLINE_COMMENTS):
        return 0
    starts = [index for prefix in INLINE_COMMENTS for index in _places(line, prefix)
              if index == 0 or line[index - 1].isspace()]
    return min(starts) if starts else None


def _places(line: str, text: str):
    index = line.find(text)
    while index >= 0:
        yield index
        index = line.find(text, index + 1)


def _configparser_sections(text: str, cfg_path: str) -> dict[str, dict[str, str]]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None, default_section=DEFAULT_SECTION,
                                       inline_comment_prefixes=INLINE_COMMENTS)
    try:
        parser.read_string(text, cfg_path)
    except configparser.Error as exc:
        raise ConfigError(f"cannot read config file {cfg_path}: {one_line(exc)}") from None
    return {name: dict(parser[name]) for name in parser.sections()}


def _settings_from(sections: dict[str, dict[str, str]], cfg_path: str) -> Settings:
    main = _known(sections, "tkalert", MAIN_KEYS, cfg_path)
    gpg = _known(sections, "gnupg", GNUPG_KEYS, cfg_path)
    destinations = _destinations(sections, main.text("destinations"), cfg_path)
    vendor_keys = split_fingerprints(gpg.text("vendor_keys"))
    others = {
        name: MappingProxyType(dict(values))
        for name, values in sections.items()
        if name not in ("tkalert", "gnupg") and not name.startswith("destination ")
    }
    return Settings(
        path=cfg_path,
        enabled=main.boolean("enabled", True, spelled="0 or 1"),
        auth_key=main.text("auth_key") or main.secret("auth_key_file"),
        contact_person=main.text("contact_person"),
        contact_mail=main.text("contact_mail"),
        system_id=main.text("system_id"),
        state_dir=main.filename("state_dir", Settings.state_dir),
        spool_dir=main.filename("spool_dir", Settings.spool_dir),
        gnupg_home=gpg.filename("home"),
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


def _known(sections, section: str, keys: set[str], cfg_path: str) -> Section:
    return Section(dict(sections.get(section, {})), keys, section, cfg_path)


def _destinations(sections, order: str | None, cfg_path: str) -> tuple[Destination, ...]:
    found = {s.split(None, 1)[1].strip(): s for s in sections if s.startswith("destination ")}
    names = order.replace(",", " ").split() if order else list(found)
    result = []
    for name in names:
        if name not in found:
            raise ConfigError(f"{cfg_path}: destinations names {name!r} but there is no [destination {name}] section")
        options = dict(sections[found[name]])
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

