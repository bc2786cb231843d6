"""`tkalert [options]`: the TKalert 1.5 command line, option for option, plus tkalert's additions.

It turns argv into an `Event` and `SendOptions`, runs `tkalert.sender.pipeline`, and shows the outcome: one line and
an exit code, or in `--check` mode a Nagios plugin line (errors through tkalert.cli.boundary). It is the notification
hook: it imports the send path only.
"""

from __future__ import annotations

import sys
import time

from tkalert import __version__
from tkalert.cli.options import OPTIONS, fast_parse
from tkalert.cli.boundary import check_failure, command_failure, fail, guard, plugin_line
from tkalert.errors import one_line
from tkalert.log import log, set_up



_made: list = []  # the click command, once made (functools.lru_cache would cost the hook functools)


def click_command():
    """The click command for the same options: --help, --version, error messages, unusual argv."""
    if _made:
        return _made[0]
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
    _made.append(click.command(name="tkalert", context_settings={"help_option_names": ["-h", "--help"]})(command))
    return _made[0]


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
    if any("\0" in arg for arg in args):  # never from a real argv (the kernel ends a word at NUL): a caller's bug
        return _usage_line("an argument holds a NUL character", check, started)
    params = fast_parse(args)
    if params is None:
        import click

        try:
            params = parse(args)
        except click.UsageError as exc:
            return _usage(exc, check, started)
        except click.Abort:
            return fail("interrupted", 130)
    if params is None:
        return 0
    set_up(params["verbose"])
    log.debug("Starting up")
    on_failure = check_failure(started) if check else command_failure("tkalert")
    return guard(lambda: _run(params, started), on_failure, verbose)


def _usage(exc, check: bool, started: float) -> int:
    name = f"'{exc.param.opts[0]}'" if getattr(exc, "param", None) is not None and exc.param.opts else ""
    message = one_line(exc.format_message())
    if name and name not in message:
        message = f"{name}: {message}"
    return _usage_line(message, check, started)


def _usage_line(message: str, check: bool, started: float) -> int:
    if check:
        return plugin_line("UNKNOWN", f"usage error: {message}", started)
    return fail(f"usage error: {message} (see 'tkalert --help')", 2)


def _run(params: dict, started: float) -> int:
    from tkalert.document.event import Event, absent_to_none
    from tkalert.config.settings import load_settings

    if absent_to_none(params["enabled"]) is not None and _disabled(params["enabled"]):
        return _not_enabled("--enabled=0", params, started)
    settings = load_settings(params["config"])
    if not settings.enabled:
        return _not_enabled("enabled = 0 in the config", params, started)
    event_type = (params["event_type"] or "heartbeat").strip().lower()
    if event_type == "report":  # the daily system report: its own path, never imported by a heartbeat or alert
        from tkalert.cli.report import report_from_hook

        return report_from_hook(params, settings, started, write_dump)
    event = Event(event_type=event_type, **{k: params[k] for k in Event.given_fields()})
    if params["dump"] is not None:
        return _dump(event, settings, params, started)
    return _send(event, settings, params, started)


def _not_enabled(why: str, params: dict, started: float) -> int:
    """TKalert 1.5's sentence; as a plugin (--check) an OK line, since a switched-off sender is what was asked."""
    if params["check"]:
        return plugin_line("OK", f"tkalert is disabled ({why}): nothing sent", started)
    print("tkalert not enabled, exit.")
    return 0


def _disabled(value: str) -> bool:
    """--enabled takes the words the config's `enabled` key takes (tkalert.config.fields)."""
    from tkalert.config.fields import SWITCH_WORDS, truth
    from tkalert.errors import UsageError

    enabled = truth(value)
    if enabled is None:
        raise UsageError(f"--enabled must be 0 or 1 (any of {SWITCH_WORDS}, any case), not {value!r}")
    return not enabled


def _dump(event, settings, params: dict, started: float) -> int:
    from tkalert.document.reader import parse_valid
    from tkalert.sender.pipeline import complete_event, facts_of, render, skip_reason

    target = params["dump"]
    event = complete_event(event, settings)
    document_type = facts_of(event).document_type
    if skip_reason(event):
        if params["check"]:
            return plugin_line("WARNING", f"did not send {document_type}: {skip_reason(event)}", started)
        print(f"tkalert: skipped: {skip_reason(event)}", file=sys.stderr)
        return 0
    document, _ = render(event, settings)
    parse_valid(document)
    log.debug("Dump xml to file (%s)", target)
    if target == "-":
        sys.stdout.buffer.write(document)
        sys.stdout.flush()
        return 0
    write_dump(target, document)
    if params["check"]:
        return plugin_line("OK", f"wrote {document_type} to {target}, sent nothing", started)
    return 0


def write_dump(target: str, document: bytes) -> None:
    """Write the plaintext document (it holds the auth key) to a new file of mode 0600, never through a symbolic
    link (one planted in /tmp would aim it at another file). An existing file is replaced only if it is a regular
    file owned by this user with no other hard link; anything else raises DumpError (exit 73)."""
    import errno
    import os
    import stat

    from tkalert.errors import DumpError

    flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    reason = None
    try:
        try:
            fd = os.open(target, flags | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            fd = os.open(target, flags | os.O_NONBLOCK)  # O_NONBLOCK: a FIFO without reader fails, never hangs
            found = os.fstat(fd)
            if not stat.S_ISREG(found.st_mode):
                reason = "it exists and is not a regular file"
            elif found.st_uid != os.geteuid():
                reason = f"it exists and is not owned by uid {os.geteuid()} (owner: uid {found.st_uid})"
            elif found.st_nlink != 1:  # a hard link planted in /tmp to one of our files (/etc/shadow for root)
                reason = f"it exists and has {found.st_nlink} hard links"
            if reason:
                os.close(fd)
                raise DumpError(f"cannot write --dump-xml file {target}: {reason}; remove it or name a new file")
            os.ftruncate(fd, 0)
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(document)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            reason = "it is a symbolic link, which is not followed; remove it or name a new file"
        elif exc.errno == errno.ENXIO:
            reason = "it exists and is not a regular file"
        else:
            reason = exc.strerror or str(exc)
        raise DumpError(f"cannot write --dump-xml file {target}: {reason}") from None


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
        answer_needed=bool(params["check"]),
    )
    result = send_event(event, settings, options)
    for warning in result.warnings:
        log.warning("%s", warning)
    if params["check"]:
        return _check_line(result, started)
    return _exit_code(result)


# SendResult.state -> plugin state and words (check_tkalert_heartbeat judges the same way)
CHECK_LINES = {"sent": ("OK", "sent {}"), "queued": ("WARNING", "queued {} for retry"),
               "skipped": ("WARNING", "did not send {}"), "failed": ("CRITICAL", "could not send {}"),
               "handed": ("OK", "handed {} to the resident flusher")}


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
    if result.state in ("sent", "queued", "skipped", "handed"):
        if result.state not in ("sent", "handed"):
            print(f"tkalert: {result.state}: {one_line(result.reason or '')}", file=sys.stderr)
        return 0
    return fail(f"could not send {result.document_type}: {result.reason}", 1)
