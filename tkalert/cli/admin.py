"""`tkalert COMMAND ...`: the admin commands, each in its own module, behind the same error boundary."""

from __future__ import annotations

import click

from tkalert.cli.boundary import command_failure, fail, guard
from tkalert.cli.commands import COMMANDS


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or --help lists them)."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[name].split(":")
        module = __import__(module_name, fromlist=[attribute])
        return getattr(module, attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def admin():
    """tkalert admin commands."""


def run_admin(args: list[str]) -> int:
    return guard(lambda: _run_admin(args), command_failure("tkalert"), "--verbose" in args)


def _run_admin(args: list[str]) -> int:
    try:
        result = admin.main(args=args, prog_name="tkalert", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        return fail(f"usage error: {' '.join(exc.format_message().split())} (see 'tkalert {args[0]} --help')", 2)
    except click.Abort:
        raise KeyboardInterrupt from None
    return result if isinstance(result, int) else 0
