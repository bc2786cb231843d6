"""Command line: `tkalert [1.5 options]` sends one event; `tkalert COMMAND` runs an admin command.

The first word decides, so the TKalert 1.5 command line keeps working unchanged and the notification hook imports
only the send path. Admin commands live in their own modules, listed in SUBCOMMANDS and imported on use.
"""

from __future__ import annotations

import sys

# command -> "module:attribute" of a click command
SUBCOMMANDS = {
    "keygen": "tkalert.cli.keys:keygen",
    "demo": "tkalert.cli.demo:demo",
    "test": "tkalert.cli.setup_check:test_setup",
    "flush": "tkalert.cli.spoolcmds:flush",
    "log": "tkalert.cli.spoolcmds:log",
    "show": "tkalert.cli.spoolcmds:show",
    "zabbix": "tkalert.cli.zabbix:zabbix",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] in SUBCOMMANDS:
        from tkalert.cli.admin import run_admin

        return run_admin(args)
    from tkalert.cli.send import run_send

    return run_send(args)
