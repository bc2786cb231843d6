"""The `tkalert` logger, with the logging package imported only when a line is really written.

Importing logging costs the notification hook about as much as building its document. Without --verbose the hook
shows warnings only, so a debug or info line can only go somewhere when logging is already loaded (by --verbose, or
by a program that embeds tkalert and set logging up itself): until then those lines are dropped unread, as the
WARNING level would drop them. A warning always imports logging, set up as the command asked (`set_up`).
"""

from __future__ import annotations

import sys

LOG_FORMAT = "%(asctime)s [%(levelname)s] %(message)s"
_pending: dict = {}  # the command's basicConfig, applied when logging is first needed


def set_up(verbose: bool, stream=None) -> None:
    """The command's logging: every step with a timestamp with --verbose, else warnings only (set up on use)."""
    _pending.clear()
    _pending.update(format=LOG_FORMAT, stream=stream or sys.stderr)
    if verbose:
        import logging

        _pending["level"] = logging.DEBUG
        _logger()
    else:
        _pending["level"] = 30  # logging.WARNING


def _logger():
    import logging

    if _pending:
        logging.basicConfig(**_pending)
        _pending.clear()
    return logging.getLogger("tkalert")


class Log:
    """The few methods tkalert's hook path calls, with logging.Logger's meaning."""

    def debug(self, message: str, *args) -> None:
        if "logging" in sys.modules:
            _logger().debug(message, *args)

    def info(self, message: str, *args) -> None:
        if "logging" in sys.modules:
            _logger().info(message, *args)

    def warning(self, message: str, *args) -> None:
        _logger().warning(message, *args)


log = Log()
