"""`tkalert COMMAND ...`: the admin commands, each in its own module, behind the same error boundary."""

from __future__ import annotations

import click

from tkalert.cli.runtime import fail
from tkalert.errors import TkalertError


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs (or --help lists them)."""

    def list_commands(self, ctx):
        from tkalert.cli import SUBCOMMANDS

        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        from tkalert.cli import SUBCOMMANDS

        if name not in SUBCOMMANDS:
            return None
        module_name, attribute = SUBCOMMANDS[name].split(":")
        module = __import__(module_name, fromlist=[attribute])
        return getattr(module, attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def admin():
    """tkalert admin commands."""


def run_admin(args: list[str]) -> int:
    try:
        result = admin.main(args=args, prog_name="tkalert", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        return fail(f"usage error: {' '.join(exc.format_message().split())} (see 'tkalert {args[0]} --help')", 2)
    except click.Abort:
        return fail("interrupted", 130)
    except TkalertError as exc:
        return fail(str(exc), exc.exit_code)
    except Exception as exc:  # the boundary
        return fail(f"internal error: {type(exc).__name__}: {exc}", 1)
    return result if isinstance(result, int) else 0
