"""The one error boundary of every entry point: the hook, the admin commands, tkalert-zabbix and the plugins.

In the spirit of nagiosplugin's `@guarded`: whatever escapes a command becomes one line and the exit code its
caller expects, and the same error gives the same line and state everywhere. `describe` decides both:

  error                                         line                          command (sysexits)   plugin
  UsageError, click usage error                 the message                   2                    UNKNOWN
  ConfigError                                   the message                   78 EX_CONFIG         UNKNOWN
  SealError                                     the message                   1                    CRITICAL
  SpoolError                                    the message                   75 EX_TEMPFAIL       CRITICAL
  DumpError (the --dump-xml file)               the message                   73 EX_CANTCREAT      UNKNOWN
  PermissionError (a file tkalert must use)     file, its owner, the fix      77 EX_NOPERM         UNKNOWN
  other OSError                                 file and the system's reason  74 EX_IOERR          UNKNOWN
  nagiosplugin's timeout                        "timeout: ..."                1                    UNKNOWN
  KeyboardInterrupt                             "interrupted"                 130                  UNKNOWN
  anything else (a bug)                         "internal error: Type: ..."   1                    UNKNOWN

A plugin is UNKNOWN when it cannot tell the monitored state (bad option, bad config, no access), CRITICAL when it
could tell and the answer is bad (the heartbeat cannot be sealed or spooled). A traceback only for an internal
error (a bug), and only with --verbose.
Callers: tkalert.cli.send (the hook and `--check`), tkalert.cli.admin, tkalert.integrations.zabbix.alert and
plugins/check_tkalert_*.
"""

from __future__ import annotations

import os
import sys
import time
from _collections_abc import Callable  # collections.abc without the collections package (hook path)

from tkalert import __version__
from tkalert.errors import one_line

PLUGIN_CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
EX_IOERR, EX_NOPERM = 74, 77
# exit code -> plugin state, for the errors of the table above; everything else is UNKNOWN
CRITICAL_CODES = {1, 75}


class Failure:
    """One error, described once: the line every caller prints and the codes each kind of caller returns."""

    def __init__(self, line: str, code: int, plugin_state: str, internal: bool = False):
        self.line, self.code, self.plugin_state, self.internal = one_line(line), code, plugin_state, internal


def describe(exc: BaseException) -> Failure:
    from tkalert.errors import TkalertError

    if isinstance(exc, TkalertError):
        state = "CRITICAL" if exc.exit_code in CRITICAL_CODES else "UNKNOWN"
        return Failure(str(exc), exc.exit_code, state)
    if isinstance(exc, KeyboardInterrupt):
        return Failure("interrupted", 130, "UNKNOWN")
    if isinstance(exc, PermissionError):
        return Failure(permission_line(exc), EX_NOPERM, "UNKNOWN")
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return Failure(f"cannot use {where}{exc.strerror or exc}", EX_IOERR, "UNKNOWN")
    kind = type(exc)
    if kind.__module__.startswith("click") and hasattr(exc, "format_message"):
        return Failure(f"usage error: {exc.format_message()}", getattr(exc, "exit_code", 2) or 2, "UNKNOWN")
    if kind.__name__ == "Timeout" and kind.__module__.startswith("nagiosplugin"):
        return Failure(f"timeout: check execution aborted after {exc}", 1, "UNKNOWN")
    return Failure(f"internal error: {kind.__name__}: {exc}", 1, "UNKNOWN", internal=True)


def permission_line(exc: PermissionError) -> str:
    """Name the file, its owner and who we are: the fix is almost always to run as the file's owner."""
    path = exc.filename or "a file"
    owner = _owner_of(exc.filename)
    me = _user_name(os.geteuid())
    if owner and owner != me:
        return (f"permission denied: {path} belongs to {owner}, this command runs as {me}; "
                f"run it as {owner} (runuser -u {owner} -- tkalert ...)")
    return f"permission denied: {path} (running as {me}); fix the file's owner or mode"


def _owner_of(path) -> str | None:
    from pathlib import Path

    if not path:
        return None
    for candidate in (Path(path), *Path(path).parents):
        try:
            return _user_name(candidate.stat().st_uid)
        except OSError:
            continue
    return None


def _user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def guard(body: Callable[[], int], on_failure: Callable[[Failure], int], verbose: bool = False) -> int:
    """Run `body`; turn anything it raises (but SystemExit) into `on_failure`'s line and code."""
    try:
        return body()
    except SystemExit:
        raise
    except BaseException as exc:
        failure = describe(exc)
        if failure.internal and verbose:
            import traceback

            traceback.print_exc(file=sys.stderr)
        elif failure.internal:
            failure.line += " (run with --verbose for details)"
        return on_failure(failure)


def command_failure(prog: str) -> Callable[[Failure], int]:
    """For commands: `PROG: LINE` on stderr, the sysexits code."""
    def report(failure: Failure) -> int:
        return fail(failure.line, failure.code, prog)
    return report


def fail(message: str, code: int, prog: str = "tkalert") -> int:
    emit(f"{prog}: {one_line(message)}", sys.stderr)
    return code


def emit(line: str, stream=None) -> None:
    """Print one line that may hold any text (argv's undecodable bytes, too) on a stream of any encoding: what the
    stream cannot encode is written as a backslash escape, never a traceback (PYTHONIOENCODING=ascii:strict)."""
    stream = sys.stdout if stream is None else stream
    try:
        print(line, file=stream)
    except UnicodeEncodeError:  # the wrapper encodes before it buffers: nothing of the line was written
        encoding = getattr(stream, "encoding", None) or "ascii"
        print(line.encode(encoding, "backslashreplace").decode(encoding), file=stream)


def plugin_line(state: str, summary: str, started: float | None = None) -> int:
    """Print `tkalert/<version> <summary> - <STATE>|runtime=<s>s` (TKalert 1.5's format) and return the code."""
    perf = f"|runtime={time.perf_counter() - started:.4f}s" if started is not None else ""
    # '|' starts the perfdata in the plugin API: keep it out of the summary.
    emit(f"tkalert/{__version__} {one_line(summary).replace('|', '/')} - {state}{perf}")
    return PLUGIN_CODES[state]


def check_failure(started: float | None = None) -> Callable[[Failure], int]:
    """For `tkalert --check`: TKalert 1.5's plugin line with the failure's state."""
    return lambda failure: plugin_line(failure.plugin_state, failure.line, started)


def nagios_failure(name: str) -> Callable[[Failure], int]:
    """For the nagiosplugin checks: `NAME STATE: LINE` on stdout, as nagiosplugin's own status line reads."""
    def report(failure: Failure) -> int:
        emit(f"{name} {failure.plugin_state}: {failure.line}")
        return PLUGIN_CODES[failure.plugin_state]
    return report


def plugin_parser(description: str):
    """argparse for a plugin (Monitoring Plugins guidelines): a bad option raises UsageError (UNKNOWN, exit 3), not
    argparse's exit 2 (CRITICAL); -V/--version prints `PLUGIN VERSION` on stdout and exits 0."""
    import argparse

    from tkalert.errors import UsageError

    class PluginParser(argparse.ArgumentParser):
        def error(self, message):
            raise UsageError(f"usage error: {message} (see '{self.prog} --help')")

    parser = PluginParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the plugin's name and version and exit")
    return parser


def run_plugin(check: Callable[[list[str]], None], name: str, argv: list[str] | None = None) -> int:
    """A plugin's main: run `check(args)` (nagiosplugin exits with the state) behind the boundary."""
    args = sys.argv[1:] if argv is None else list(argv)
    verbose = any(a in ("-v", "--verbose") or a.startswith("-vv") for a in args)
    return guard(lambda: check(args), nagios_failure(name), verbose)
