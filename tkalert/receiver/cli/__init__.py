"""`tkalert-receiver COMMAND`: the receiver's command line, behind tkalert's one error boundary.

`ingest` is answered before click or Django is imported (the MTA runs it once per mail); every other command is a
click command in this package: run.py (init, serve, work), contracts.py, systems.py, inspect.py (quarantine,
messages). Database trouble is one line and exit 69 (EX_UNAVAILABLE), like every other error: no traceback
unless --verbose.
"""

from __future__ import annotations

import sys

PROG = "tkalert-receiver"


def main(argv: list[str] | None = None) -> int:
    from tkalert.cli.boundary import command_failure, guard

    args = sys.argv[1:] if argv is None else list(argv)
    verbose = "--verbose" in args
    if command_word(args) == "ingest" and not {"-h", "--help"} & set(args):
        return guard(lambda: run_ingest(args), command_failure(PROG), verbose)
    from tkalert.receiver.cli.group import run_group

    return guard(lambda: run_group(args), command_failure(PROG), verbose)


def command_word(args: list[str]) -> str | None:
    """The first word that is not a global option (nor --config's value)."""
    words = iter(args)
    for word in words:
        if word in ("-c", "--config"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def run_ingest(args: list[str]) -> int:
    """`[--config FILE] ingest [--config FILE]`, parsed by hand: argparse alone costs the MTA pipe milliseconds."""
    from tkalert.errors import UsageError
    from tkalert.receiver.ingest.pipe import ingest_stdin

    config, rest = None, [a for a in args if a not in ("ingest", "--verbose")]
    while rest:
        word = rest.pop(0)
        if word in ("-c", "--config") and rest:
            config = rest.pop(0)
        elif word.startswith("--config="):
            config = word.split("=", 1)[1]
        else:
            raise UsageError(f"usage error: ingest takes only --config FILE, not {word!r} (see '{PROG} --help')")
    return ingest_stdin(config)
