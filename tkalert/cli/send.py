"""`tkalert [options]`: the TKalert 1.5 command line, option for option, plus tkalert's additions.

It turns argv into an `Event` and `SendOptions`, runs `tkalert.sender.pipeline`, and shows the outcome: one line and
an exit code, or in `--check` mode a Nagios plugin line (errors through tkalert.cli.boundary). It is the notification
hook: it imports the send path only.
"""

from __future__ import annotations

import logging
import sys
import time
from functools import lru_cache

from tkalert import __version__
from tkalert.cli.options import OPTIONS, fast_parse
from tkalert.cli.boundary import check_failure, command_failure, fail, guard, plugin_line
from tkalert.errors import one_line

log = logging.getLogger("tkalert")
LOG_FORMAT = "%(asctime)s [%(levelname)s] %(message)s"


@lru_cache(maxsize=1)
def click_command():
    """The click command for the same options: --help, --version, error messages, unusual argv."""
    import click

    def command(**params):
        return params

    for option in reversed(OPTIONS):
        if option.metavar is None:
            command = click.option(*option.names, option.dest, is_flag=True, help=option.help)(command)
        else:
            command = click.option(*option.names, option.dest, default=None, metavar=option.metavar,
                                   envvar=option.envvar, help=option.help)(command)
    command = click.version_option(__version__, "--version", prog_name="tkalert",
                                   message="%(prog)s %(version)s")(command)
    command.__doc__ = "Send a signed, encrypted heartbeat or alert to the vendor (drop-in for TKalert 1.5)."
    return click.command(name="tkalert", context_settings={"help_option_names": ["-h", "--help"]})(command)


def parse(args: list[str]) -> dict | None:
    """Parse argv; None when click already answered (--help, --version)."""
    import click

    try:
        result = click_command().main(args=args, prog_name="tkalert", standalone_mode=False)
    except click.exceptions.Exit:
        return None
    return result if isinstance(result, dict) else None


def run_send(args: list[str]) -> int:
    started = time.perf_counter()
    check = "--check" in args
    verbose = "--verbose" in args
    params = fast_parse(args)
    if params is None:
        import click

        try:
            params = parse(args)
        except click.UsageError as exc:
            return _usage(exc, check)
        except click.Abort:
            return fail("interrupted", 130)
    if params is None:
        return 0
    logging.basicConfig(level=logging.DEBUG if params["verbose"] else logging.WARNING, format=LOG_FORMAT,
                        stream=sys.stderr)
    log.debug("Starting up")
    on_failure = check_failure(started) if check else command_failure("tkalert")
    return guard(lambda: _run(params, started), on_failure, verbose)


def _usage(exc, check: bool) -> int:
    name = f"'{exc.param.opts[0]}'" if getattr(exc, "param", None) is not None and exc.param.opts else ""
    message = one_line(exc.format_message())
    if name and name not in message:
        message = f"{name}: {message}"
    if check:
        return plugin_line("UNKNOWN", f"usage error: {message}")
    return fail(f"usage error: {message} (see 'tkalert --help')", 2)


def _run(params: dict, started: float) -> int:
    from tkalert.document.event import Event, absent_to_none
    from tkalert.config.settings import load_settings

    if absent_to_none(params["enabled"]) is not None and _disabled(params["enabled"]):
        print("tkalert not enabled, exit.")
        return 0
    settings = load_settings(params["config"])
    if not settings.enabled:
        print("tkalert not enabled, exit.")
        return 0
    event_type = (params["event_type"] or "heartbeat").strip().lower()
    event = Event(event_type=event_type, **{k: params[k] for k in Event.given_fields()})
    if params["dump"] is not None:
        return _dump(event, settings, params["dump"])
    return _send(event, settings, params, started)


def _disabled(value: str) -> bool:
    """--enabled takes the words the config's `enabled` key takes (tkalert.config.fields)."""
    from tkalert.config.fields import SWITCH_WORDS, truth
    from tkalert.errors import UsageError

    enabled = truth(value)
    if enabled is None:
        raise UsageError(f"--enabled must be 0 or 1 (any of {SWITCH_WORDS}, any case), not {value!r}")
    return not enabled


def _dump(event, settings, target: str) -> int:
    from tkalert.document.reader import parse_valid
    from tkalert.sender.pipeline import complete_event, render, skip_reason

    event = complete_event(event, settings)
    if skip_reason(event):
        print(f"tkalert: skipped: {skip_reason(event)}", file=sys.stderr)
        return 0
    document, _ = render(event, settings)
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
    from tkalert.openpgp.home import resolve_home
    from tkalert.sender.pipeline import SendOptions, send_event

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


# SendResult.state -> plugin state and words (check_tkalert_heartbeat judges the same way)
CHECK_LINES = {"sent": ("OK", "sent {}"), "queued": ("WARNING", "queued {} for retry"),
               "skipped": ("WARNING", "did not send {}"), "failed": ("CRITICAL", "could not send {}")}


def _check_line(result, started: float) -> int:
    state, words = CHECK_LINES[result.state]
    summary = words.format(result.document_type)
    detail = "; ".join(result.warnings) if result.state == "sent" else result.reason
    if result.state == "sent" and result.warnings:
        state = "WARNING"
    return plugin_line(state, f"{summary}: {detail}" if detail else summary, started)


def _exit_code(result) -> int:
    for warning in result.warnings:
        print(f"tkalert: warning: {one_line(warning)}", file=sys.stderr)
    if result.state in ("sent", "queued", "skipped"):
        if result.state != "sent":
            print(f"tkalert: {result.state}: {one_line(result.reason or '')}", file=sys.stderr)
        return 0
    return fail(f"could not send {result.document_type}: {result.reason}", 1)
