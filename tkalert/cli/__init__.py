"""Command line: `tkalert [1.5 options]` sends one event; `tkalert COMMAND` runs an admin command.

The first word decides, so the TKalert 1.5 command line keeps working unchanged and the notification hook imports
only the send path. Admin commands live in their own modules, listed in tkalert.cli.commands and imported on use.
Every way out goes through one error boundary (tkalert.cli.boundary).
"""

from __future__ import annotations

import os
import sys

from tkalert.cli.commands import COMMANDS


def main(argv: list[str] | None = None) -> int:
    args = _command_first(sys.argv[1:] if argv is None else list(argv))
    if args and args[0] in COMMANDS:
        from tkalert.cli.admin import run_admin

        return run_admin(args)
    from tkalert.cli.send import run_send

    return run_send(args)


def _command_first(args: list[str]) -> list[str]:
    """`tkalert --config FILE COMMAND ...` (and `--config=FILE`) means `tkalert COMMAND --config FILE ...`."""
    if len(args) >= 3 and args[0] == "--config" and args[2] in COMMANDS:
        return [args[2], "--config", args[1], *args[3:]]
    if len(args) >= 2 and args[0].startswith("--config=") and args[1] in COMMANDS:
        return [args[1], args[0], *args[2:]]
    return args


def run() -> None:
    """The `tkalert` console script: `main()`, then leave at once with its exit code.

    Every file the command wrote is fsynced and closed by then (the spool's entries and records are fsynced
    before the hook answers); what is left is the interpreter's teardown (module and object clean-up, a fifth of
    the hook's time in a storm), which writes nothing. So stdout and stderr are flushed, a failure to flush them is
    an exit code like any other write error, and the process ends with os._exit. In-process callers (the tests)
    call `main(argv)`, which returns normally."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (`tkalert ... | head`): nothing more can be said
        code = code or 1
    except OSError:
        code = code or 74  # EX_IOERR: the answer did not reach its reader
    os._exit(code if isinstance(code, int) else 1)
