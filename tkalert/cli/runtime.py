"""The single error boundary of every tkalert command, and the Nagios plugin output of `--check`.

Errors become one line on stderr and an exit code (a traceback only with --verbose). Exit codes, as documented
in tkalert(1):
  0  sent, or safe in the spool for a later retry (or nothing to do: --enabled=0, a skipped notification type)
  1  could not be built or sealed, or delivery failed permanently (the message is in the spool's failed/)
  2  usage error: a bad option or value
  75 the message could not be written to the spool (EX_TEMPFAIL): nothing is safe yet, the caller should retry
  78 configuration error (EX_CONFIG)
In --check mode the plugin codes apply instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
"""

from __future__ import annotations

import logging
import sys
import time

from tkalert import __version__

PLUGIN_CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
LOG_FORMAT = "%(asctime)s [%(levelname)s] %(message)s"


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format=LOG_FORMAT, stream=sys.stderr)


def fail(message: str, code: int, verbose: bool = False) -> int:
    if verbose:
        import traceback

        exc = sys.exc_info()[1]
        if exc is not None:
            traceback.print_exc(file=sys.stderr)
    print(f"tkalert: {one_line(message)}", file=sys.stderr)
    return code


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def plugin_line(state: str, summary: str, started: float | None = None) -> int:
    """Print `tkalert/<version> <summary> - <STATE>|runtime=<s>s` (TKalert 1.5's format) and return the code."""
    perf = f"|runtime={time.perf_counter() - started:.4f}s" if started is not None else ""
    # '|' starts the perfdata in the plugin API: keep it out of the summary.
    print(f"tkalert/{__version__} {one_line(summary).replace('|', '/')} - {state}{perf}")
    return PLUGIN_CODES[state]
