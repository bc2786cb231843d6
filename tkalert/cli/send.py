"""`tkalert [options]`: the TKalert 1.5 command line, option for option, plus tkalert's additions.

It turns argv into an `Event` and `SendOptions`, runs `tkalert.send`, and shows the outcome: one line and an exit
code, or in `--check` mode a Nagios plugin line. It is the notification hook: it imports the send path only.
"""

from __future__ import annotations

import logging
import sys
import time

import click

from tkalert import __version__
from tkalert.cli.runtime import EX_TEMPFAIL, fail, one_line, plugin_line, setup_logging
from tkalert.errors import TkalertError

log = logging.getLogger("tkalert")
EVENT_OPTIONS = (
    "auth_key", "contact_person", "contact_mail", "date", "host", "ip", "host_status", "os", "serial", "service",
    "service_status", "output", "perf", "duration", "component_serial", "component_name", "notification_type",
)


def _opt(*names, **kwargs):
    return click.option(*names, default=None, metavar=kwargs.pop("metavar", "TEXT"), **kwargs)


@click.command(name="tkalert", context_settings={"help_option_names": ["-h", "--help"]})
@_opt("--type", "kind", metavar="heartbeat|service|host|test", help="What to send (default: heartbeat).")
@_opt("--auth-key", envvar="TKALERT_AUTH_KEY", help="Contract key; better from the config or $TKALERT_AUTH_KEY.")
@_opt("--contact-person", help="Name of the person support should contact.")
@_opt("--contact-mail", help="Mail address support should contact.")
@_opt("--date", metavar="EPOCH", help="Time of the event in Unix seconds (floats accepted; default: now).")
@_opt("--config", envvar="TKALERT_CONFIG", metavar="FILE", help="Config file (default /etc/tkalert/tkalert.conf).")
@_opt("--gnupg-config", metavar="FILE", help="TKalert 1.5 gnupg.conf; its directory is the GnuPG home.")
@click.option("--check", is_flag=True, help="Act as a Nagios plugin: one status line, exit 0/1/2/3.")
@_opt("--host", help="Host name.")
@_opt("--ip", help="Host address (IPv4 or IPv6).")
@_opt("--host-status", metavar="UP|DOWN|UNREACHABLE", help="Host state.")
@_opt("--os", help="Operating system of the host.")
@_opt("--serial", help="Server serial number.")
@_opt("--service", help="Service name.")
@_opt("--service-status", metavar="OK|WARNING|CRITICAL|UNKNOWN", help="Service state.")
@_opt("--output", help="Plugin output.")
@_opt("--perf", help="Performance data.")
@_opt("--duration", metavar="SECONDS", help="How long the state has lasted (floats accepted).")
@_opt("--component-serial", help="Serial number of the failing component.")
@_opt("--component-name", help="Name of the failing component.")
@_opt("--notification-type", metavar="TYPE", help="PROBLEM, RECOVERY, ACKNOWLEDGEMENT, CUSTOM, FLAPPING*, DOWNTIME*.")
@_opt("--dump-xml", "--dump", "dump", metavar="FILE", help="Write the plaintext document to FILE ('-': stdout); send nothing.")
@click.option("--verbose", is_flag=True, help="Log every step with a timestamp on stderr.")
@click.option("--disable-gpg-encryption", is_flag=True, help="Send the document unencrypted and unsigned (tests only).")
@_opt("--enabled", metavar="0|1", help="0: print 'tkalert not enabled, exit.' and exit 0.")
@_opt("--override-target-mail", metavar="ADDRESS", help="Send to this address instead of the configured mail_to.")
@click.version_option(__version__, "--version", prog_name="tkalert", message="%(prog)s %(version)s")
def command(**params):
    """Send a signed, encrypted heartbeat or alert to the vendor (drop-in for TKalert 1.5)."""
    return params


def parse(args: list[str]) -> dict | None:
    """Parse argv; None when click already answered (--help, --version)."""
    try:
        result = command.main(args=args, prog_name="tkalert", standalone_mode=False)
    except click.exceptions.Exit:
        return None
    return result if isinstance(result, dict) else None


def run_send(args: list[str]) -> int:
    started = time.perf_counter()
    check = "--check" in args
    verbose = "--verbose" in args
    try:
        params = parse(args)
    except click.UsageError as exc:
        return _usage(exc, check)
    except click.Abort:
        return fail("interrupted", 130)
    if params is None:
        return 0
    setup_logging(params["verbose"])
    log.debug("Starting up")
    try:
        return _run(params, started)
    except TkalertError as exc:
        if check:
            state = "UNKNOWN" if exc.exit_code == 2 else "CRITICAL"
            return plugin_line(state, f"could not send {params['kind'] or 'heartbeat'}: {exc}", started)
        return fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except Exception as exc:  # the boundary: a bug still gets one line and a failing code
        if check:
            return plugin_line("UNKNOWN", f"internal error: {type(exc).__name__}: {exc}", started)
        return fail(f"internal error: {type(exc).__name__}: {exc} (run with --verbose for details)", 1, verbose)


def _usage(exc: click.UsageError, check: bool) -> int:
    name = f"'{exc.param.opts[0]}'" if getattr(exc, "param", None) is not None and exc.param.opts else ""
    message = one_line(exc.format_message())
    if name and name not in message:
        message = f"{name}: {message}"
    if check:
        return plugin_line("UNKNOWN", f"usage error: {message}")
    return fail(f"usage error: {message} (see 'tkalert --help')", 2)


def _run(params: dict, started: float) -> int:
    from tkalert.build.event import Event, absent_to_none
    from tkalert.config import load_settings

    if absent_to_none(params["enabled"]) is not None and _disabled(params["enabled"]):
        print("tkalert not enabled, exit.")
        return 0
    settings = load_settings(params["config"])
    if not settings.enabled:
        print("tkalert not enabled, exit.")
        return 0
    event = Event(kind=(params["kind"] or "heartbeat").strip().lower(), **{k: params[k] for k in EVENT_OPTIONS})
    if params["dump"] is not None:
        return _dump(event, settings, params["dump"])
    return _send(event, settings, params, started)


def _disabled(value: str) -> bool:
    from tkalert.errors import UsageError

    word = value.strip().lower()
    if word in ("0", "no", "false", "off"):
        return True
    if word in ("1", "yes", "true", "on"):
        return False
    raise UsageError(f"--enabled must be 0 or 1, not {value!r}")


def _dump(event, settings, target: str) -> int:
    from tkalert.build.schema import parse_valid
    from tkalert.send import complete_event, render

    document, _ = render(complete_event(event, settings), settings)
    parse_valid(document)
    log.debug("Dump xml to file (%s)", target)
    if target == "-":
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
        return 0
    try:
        with open(target, "wb") as fh:
            fh.write(document)
    except OSError as exc:
        return fail(f"cannot write --dump-xml file {target}: {exc.strerror}", 73)  # EX_CANTCREAT
    return 0


def _send(event, settings, params: dict, started: float) -> int:
    from tkalert.seal.gnupghome import resolve_home
    from tkalert.send import SendOptions, send_event

    log.debug("Testing gnupg environment")
    if params["gnupg_config"]:
        log.debug("setting --gnupg-config=%s", params["gnupg_config"])
    options = SendOptions(
        gnupg_home=resolve_home(settings.gnupg_home, params["gnupg_config"]),
        encrypt=not params["disable_gpg_encryption"],
        override_to=params["override_target_mail"] or None,
    )
    result = send_event(event, settings, options)
    for warning in result.warnings:
        log.warning("%s", warning)
    if params["check"]:
        return _check_line(result, started)
    return _exit_code(result)


def _check_line(result, started: float) -> int:
    if result.state == "sent" and not result.warnings:
        return plugin_line("OK", f"sent {result.kind}", started)
    if result.state == "sent":
        return plugin_line("WARNING", f"sent {result.kind}: {'; '.join(result.warnings)}", started)
    if result.state == "queued":
        return plugin_line("WARNING", f"queued {result.kind} for retry: {result.reason}", started)
    if result.state == "skipped":
        return plugin_line("OK", f"skipped {result.kind}: {result.reason}", started)
    return plugin_line("CRITICAL", f"could not send {result.kind}: {result.reason}", started)


def _exit_code(result) -> int:
    for warning in result.warnings:
        print(f"tkalert: warning: {one_line(warning)}", file=sys.stderr)
    if result.state in ("sent", "queued", "skipped"):
        if result.state != "sent":
            print(f"tkalert: {result.state}: {one_line(result.reason or '')}", file=sys.stderr)
        return 0
    return fail(f"could not send {result.kind}: {result.reason}", EX_TEMPFAIL if result.temporary else 1)
