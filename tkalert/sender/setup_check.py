"""The set-up test protocol behind `tkalert test` (after KBR's Maintenance Service "Test" page).

Takes the config path and walks the whole sending side in order: config parsed, system id, auth key, GnuPG home
and its permissions, each vendor key (present, fingerprint, expiry, can encrypt), the system key, a seal round
trip, the state directory, and per destination the transport's own probe (connect, TLS, authenticate). With
`send=True` it ends with a real `--type test` message. Hands back a list of `Step`s: each PASS or FAIL with the
reason and the fix. Nothing raises past it: a failure is a step.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tkalert.sender.deliver.probe import Step
from tkalert.errors import TkalertError


def run_checklist(config: str | None, gnupg_config: str | None = None, send: bool = False) -> list[Step]:
    steps: list[Step] = []
    for step in _walk(config, gnupg_config, send):
        steps.append(step)
    return steps


def _walk(config, gnupg_config, send) -> Iterator[Step]:
    from tkalert.config.settings import load_settings

    settings = yield from _stage("config", lambda: load_settings(config), _describe_config)
    if settings is None:
        yield from _key_hints(config, gnupg_config)
        return
    yield from _identity(settings)
    home = yield from _gnupg(settings, gnupg_config)
    yield _state_dir(settings.state_dir)
    for destination in settings.destinations:
        yield from _destination(destination, settings)
    if not settings.destinations:
        yield Step("destinations", False, "no destination configured",
                   "add a [destination NAME] section (see tkalert.conf(5))")
    if send and home is not None:
        yield _send_test(settings, home)


def _stage(name: str, action: Callable, describe: Callable) -> Iterator[Step]:
    """Run one action as a step; return its value, or None when it failed."""
    try:
        value = action()
    except TkalertError as exc:
        yield Step(name, False, str(exc), None)
        return None
    yield Step(name, True, describe(value))
    return value


def _describe_config(settings) -> str:
    return f"read {settings.path}" if settings.path else "no config file: built-in defaults"


def _key_hints(config, gnupg_config) -> Iterator[Step]:
    """After a refused config: for each [gnupg] key name that is no fingerprint (a long key id, a typo), the key of
    the keyring it probably means. Best effort: a config that cannot even be read gives no hints."""
    import configparser

    from tkalert.config.settings import CONFIG_ENV, DEFAULT_CONFIG, INLINE_COMMENTS, split_fingerprints
    from tkalert.openpgp.home import resolve_home
    from tkalert.openpgp.keys import probable_key
    from tkalert.openpgp.seal import open_keyring

    path = Path(config if config is not None else os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))
    parser = configparser.ConfigParser(interpolation=None, default_section="\0none",
                                       inline_comment_prefixes=INLINE_COMMENTS)
    try:
        parser.read(path, encoding="utf-8")
        section = parser["gnupg"]
    except (OSError, UnicodeDecodeError, configparser.Error, KeyError):
        return
    names = [("vendor key", False, name) for name in split_fingerprints(section.get("vendor_keys"))]
    names += [("system key", True, name) for name in split_fingerprints(section.get("system_key"))]
    names = [(what, secret, name) for what, secret, name in names if len("".join(name.split())) != 40]
    if not names:
        return
    configured = section.get("home", "").strip()
    try:
        gpg = open_keyring(resolve_home(path.parent / configured if configured else None, gnupg_config))
    except TkalertError:
        return
    for what, secret, name in names:
        meant = probable_key(gpg.list_keys(secret), name)
        if meant:
            yield Step(f"{what} {name}", False, f"{name} is not a fingerprint, {meant}")


def _identity(settings) -> Iterator[Step]:
    from tkalert.document.stamp import system_id

    yield Step("system id", True, system_id(settings.system_id))
    if settings.auth_key:
        yield Step("auth key", True, f"set (ends in ...{settings.auth_key[-4:]})")
    else:
        yield Step("auth key", False, "no auth key configured",
                   "set auth_key_file in [tkalert] (or $TKALERT_AUTH_KEY) to the key from your contract")


def _gnupg(settings, gnupg_config) -> Iterator[Step]:
    from tkalert.openpgp.home import checked_home, resolve_home
    from tkalert.openpgp.seal import open_keyring

    home = resolve_home(settings.gnupg_home, gnupg_config)
    if (yield from _stage("gnupg home", lambda: checked_home(home), _describe_home)) is None:
        return None
    gpg = yield from _stage("gnupg", lambda: open_keyring(home), lambda g: f"gpg {'.'.join(map(str, g.version))}")
    if gpg is None:
        return None
    yield from _keys(gpg, home, settings)
    yield _round_trip(home, settings)
    return home


def _describe_home(home: Path) -> str:
    info = home.stat()
    return f"{home} (mode {info.st_mode & 0o777:04o}, owner uid {info.st_uid})"


def _keys(gpg, home, settings) -> Iterator[Step]:
    from tkalert.openpgp.keys import system_key_problem, vendor_key_problem

    if not settings.vendor_keys:
        yield Step("vendor key", False, "no vendor key configured",
                   "set vendor_keys in [gnupg] to the vendor key's 40-digit fingerprint")
    for fingerprint in settings.vendor_keys:
        problem = vendor_key_problem(gpg, fingerprint, home)
        yield Step(f"vendor key {fingerprint}", problem is None, problem or _expiry(gpg.list_keys(), fingerprint))
    if not settings.system_key:
        yield Step("system key", False, "no system key configured: messages would go out unsigned",
                   "run 'tkalert keygen' and set system_key in [gnupg]")
        return
    problem = system_key_problem(gpg, settings.system_key, home)
    yield Step(f"system key {settings.system_key}", problem is None,
               problem or _expiry(gpg.list_keys(True), settings.system_key))


def _expiry(keys, fingerprint: str) -> str:
    for key in keys:
        if key.get("fingerprint") == fingerprint:
            expires = key.get("expires") or ""
            until = time.strftime("%Y-%m-%d", time.gmtime(int(expires))) if expires.isdigit() else "never"
            return f"present, {key.get('uids', ['?'])[0]}, expires {until}"
    return "present"


def _round_trip(home, settings) -> Step:
    from tkalert.openpgp.seal import seal_document

    try:
        payload = seal_document(b"<test/>", home, settings.vendor_keys, settings.system_key)
    except TkalertError as exc:
        return Step("seal round trip", False, str(exc))
    return Step("seal round trip", True, f"signed and encrypted a test document ({len(payload)} bytes)")


def _state_dir(path: Path) -> Step:
    if path.is_dir() and os.access(path, os.W_OK | os.X_OK):
        return Step("state directory", True, f"{path} is writable")
    if not path.exists() and os.access(_existing_parent(path), os.W_OK):
        return Step("state directory", True, f"{path} will be created")
    return Step("state directory", False, f"{path} is not writable by uid {os.geteuid()}",
                f"create it for this user ('install -d -m 700 -o {os.geteuid()} {path}') or set state_dir")


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _destination(destination, settings) -> Iterator[Step]:
    from dataclasses import replace

    from tkalert.sender.deliver import open_transport

    try:
        transport = open_transport(destination, settings)
    except TkalertError as exc:
        yield Step(f"{destination.name}: options", False, str(exc))
        return
    for step in transport.probe():
        yield replace(step, name=f"{destination.name}: {step.name}")


def _send_test(settings, home) -> Step:
    from tkalert.document.event import Event
    from tkalert.sender.pipeline import SendOptions, send_event

    try:
        result = send_event(Event(event_type="test"), settings, SendOptions(gnupg_home=home))
    except TkalertError as exc:
        return Step("send test message", False, str(exc))
    if result.state == "sent":
        return Step("send test message", True, f"sent test message {result.message_id}")
    return Step("send test message", result.state == "queued", f"{result.state}: {result.reason}")
