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


def run_checklist(config: str | None, gnupg_config: str | None = None, send: bool = False,
                  auth_key: str | None = None) -> list[Step]:
    """`auth_key`: one given on the command line (TKmon passes it there), used instead of the configured one."""
    steps: list[Step] = []
    for step in _walk(config, gnupg_config, send, auth_key):
        steps.append(step)
    return steps


def _walk(config, gnupg_config, send, auth_key=None) -> Iterator[Step]:

    from tkalert.config.settings import CONFIG_ENV, DEFAULT_CONFIG, load_settings

    if config is None and CONFIG_ENV not in os.environ and not os.path.exists(DEFAULT_CONFIG):
        yield Step("config", False, f"config file {DEFAULT_CONFIG} does not exist",
                   f"create {DEFAULT_CONFIG} (see tkalert.conf(5) and the README's sample) or name one with "
                   f"--config FILE or $TKALERT_CONFIG")
        return
    settings = yield from _stage("config", lambda: load_settings(config), _describe_config)
    if settings is None:
        yield from _key_hints(config, gnupg_config)
        return
    if auth_key:
        settings = settings.replace(auth_key=auth_key)
    yield from _identity(settings, from_command_line=bool(auth_key))
    yield from _categories_and_health(settings)
    home = yield from _gnupg(settings, gnupg_config)
    yield _state_dir(Path(settings.state_dir))
    yield from _ownership(settings)
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


def _identity(settings, from_command_line: bool = False) -> Iterator[Step]:
    yield Step("system id", True, _describe_system_id(settings))
    if settings.auth_key:
        where = ", from --auth-key" if from_command_line else ""
        yield Step("auth key", True, f"set (ends in ...{settings.auth_key[-4:]}{where})")
    else:
        yield Step("auth key", False, "no auth key configured",
                   "set auth_key_file in [tkalert] (or $TKALERT_AUTH_KEY) to the key from your contract")


def _categories_and_health(settings) -> Iterator[Step]:
    """What the vendor will not hear about ([categories] off), and the health the heartbeat would carry."""
    from tkalert.sender.health import check_health
    from tkalert.sender.pipeline import switched_off
    from tkalert.sender.spool.policy import load_policy

    try:
        load_policy(settings)
        off = switched_off(settings)
        yield Step("categories", True, f"off: {', '.join(off)} (said in every heartbeat)" if off else "all on")
        health = None if "health" in off else check_health(settings)
    except TkalertError as exc:
        yield Step("categories" if "[categories]" in str(exc) else "health", False, str(exc), None)
        return
    if health is not None and health.error:
        yield Step(f"health {health.source}", False, health.error,
                   "fix [health] in the config (see tkalert.conf(5)); heartbeats carry this error meanwhile")
    elif "health" not in off:
        yield Step("health", True, _describe_health(health))


def _describe_health(health) -> str:
    if health is None:
        return "off ([health] source = off): heartbeats carry no health"
    services = ", ".join(f"{count} {state}" for state, count in health.services.items())
    return (f"source {health.source}: {sum(health.hosts.values())} hosts, services {services}, "
            f"{health.unhandled_problems} unhandled problems")


def _describe_system_id(settings) -> str:
    from tkalert.document.identity import ID_FILE, stored_id
    from tkalert.document.stamp import system_id

    if settings.system_id:
        return f"{settings.system_id} (system_id in the config)"
    if stored_id(settings.state_dir):
        return f"{stored_id(settings.state_dir)} (kept in {Path(settings.state_dir) / ID_FILE})"
    return (f"{system_id(None, Path(settings.state_dir), store=False)} (not kept yet: the first message or "
            "'tkalert init' keeps it)")


def _gnupg(settings, gnupg_config) -> Iterator[Step]:
    from tkalert.openpgp.home import checked_home, resolve_home
    from tkalert.openpgp.seal import open_keyring

    home = Path(resolve_home(settings.gnupg_home, gnupg_config))
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


def _ownership(settings) -> Iterator[Step]:
    """Every directory and file of the state and spool directories must belong to, and be writable by, the user
    running this test, which should be the user the monitoring daemon runs tkalert as (`sudo -u nagios tkalert
    test`): one root-owned file left by a manual run as root makes the daemon's next send or flush fail."""
    me = os.geteuid()
    state_dir, spool_dir = Path(settings.state_dir), Path(settings.spool_dir)
    for name, top in (("state files", state_dir), ("spool files", spool_dir)):
        if not top.exists():
            continue
        skip = spool_dir if top == state_dir else None  # the spool is checked on its own
        bad = next(_not_mine(top, me, skip), None)
        if bad is None:
            yield Step(name, True, f"{top}: everything belongs to {_user(me)} and is writable")
            continue
        path, why = bad
        yield Step(name, False, f"{path} {why}, but tkalert runs as {_user(me)} here",
                   f"chown -R {_user(me)} {top}, and run every tkalert command as {_user(me)} "
                   f"(run 'tkalert test' as the user the monitoring daemon runs tkalert as)")


def _not_mine(top: Path, me: int, skip: Path | None) -> Iterator[tuple[Path, str]]:
    for directory, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if Path(directory) / d != skip)
        for path in (Path(directory), *(Path(directory) / f for f in files)):
            try:
                info = path.lstat()
            except OSError:
                continue  # gone meanwhile (a flush moved it)
            if info.st_uid != me:
                yield path, f"belongs to {_user(info.st_uid)}"
            elif not os.access(path, os.W_OK):
                yield path, f"is not writable (mode {info.st_mode & 0o777:04o})"


def _user(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


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
        if not step.ok and step.detail.startswith("certificate refused") and not step.detail.count("pinned"):
            step = replace(step, fix=_pin_advice(transport) or step.fix)
        yield replace(step, name=f"{destination.name}: {step.name}")


def _pin_advice(transport) -> str | None:
    """For a self-signed or otherwise untrusted certificate: the pin_sha256 line to paste, from the certificate the
    server shows right now (compare it with the server's own before trusting it)."""
    from tkalert.sender.deliver.probe import peer_fingerprint
    from tkalert.sender.deliver.tls import pretty

    if getattr(transport, "security", None) not in ("starttls", "smtps"):
        return None
    fpr = peer_fingerprint(transport.host, transport.port, transport.security, transport.timeout)
    if fpr is None:
        return None
    return (f"if the server's certificate is self-signed or from a private CA, check this fingerprint against "
            f"the server's own ('openssl x509 -noout -fingerprint -sha256') and add to [destination "
            f"{transport.name}]: pin_sha256 = {pretty(fpr)}  (or give its CA in ca_file)")


def _send_test(settings, home) -> Step:
    from tkalert.document.event import Event
    from tkalert.sender.pipeline import SendOptions, send_event

    try:
        # a trial: delivered once from a private spool, never left queued in the real one
        result = send_event(Event(event_type="test"), settings, SendOptions(gnupg_home=home, trial=True))
    except TkalertError as exc:
        return Step("send test message", False, str(exc))
    if result.state == "sent":
        return Step("send test message", True, f"sent test message {result.message_id}")
    return Step("send test message", False, f"{result.state}: {result.reason}")
