"""The click group: global options (--config, --verbose), Django started on first use, errors made one line."""

from __future__ import annotations

import click

from tkalert.errors import TkalertError, one_line

PROG = "tkalert-receiver"
COMMANDS = {
    "init": "tkalert.receiver.cli.run:init",
    "serve": "tkalert.receiver.cli.run:serve",
    "ingest": "tkalert.receiver.cli.run:ingest",
    "work": "tkalert.receiver.cli.run:work",
    "contracts": "tkalert.receiver.cli.contracts:contracts",
    "systems": "tkalert.receiver.cli.systems:systems",
    "quarantine": "tkalert.receiver.cli.inspect:quarantine",
    "messages": "tkalert.receiver.cli.inspect:messages",
    "sweep": "tkalert.receiver.cli.escalation:sweep",
    "tickets": "tkalert.receiver.cli.escalation:tickets",
    "users": "tkalert.receiver.cli.access:users",
    "tokens": "tkalert.receiver.cli.access:tokens",
}


class DatabaseUnavailable(TkalertError):
    """The database cannot be opened or reached: try again when it is back."""

    exit_code = 69  # EX_UNAVAILABLE


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[name].split(":")
        return getattr(__import__(module_name, fromlist=[attribute]), attribute)


class Context:
    """What every command gets: the config file name; `config()` and `django()` load on first use."""

    def __init__(self, config_file: str | None):
        self.config_file = config_file
        self._config = None

    def config(self):
        from tkalert.receiver.config import load_config

        if self._config is None:
            self._config = load_config(self.config_file)
        return self._config

    def django(self):
        """Django set up on the config's database; the config."""
        from tkalert.receiver.django_setup import start_django

        config = self.config()
        start_django(config)
        return config


pass_context = click.make_pass_decorator(Context)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", "config_file", metavar="FILE", envvar="TKALERT_RECEIVER_CONFIG",
              help="receiver.conf [/etc/tkalert-receiver/receiver.conf; env TKALERT_RECEIVER_CONFIG]")
@click.option("--verbose", is_flag=True, help="a traceback with any error")
@click.version_option(package_name="tkalert", prog_name=PROG, message="%(prog)s %(version)s")
@click.pass_context
def receiver(ctx, config_file, verbose):
    """The vendor's receiver: ingest, open, judge and store tkalert messages (see tkalert-receiver(8))."""
    ctx.obj = Context(config_file)


def run_group(args: list[str]) -> int:
    from tkalert.cli.boundary import fail

    try:
        result = receiver.main(args=args, prog_name=PROG, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        return fail(f"usage error: {one_line(exc.format_message())} (see '{PROG} --help')", 2, PROG)
    except click.Abort:
        raise KeyboardInterrupt from None
    except Exception as exc:
        raise database_error(exc) or exc
    return result if isinstance(result, int) else 0


def database_error(exc: Exception) -> DatabaseUnavailable | None:
    """Django's OperationalError (SQLite cannot open the file, PostgreSQL refuses) as one actionable line."""
    kind = type(exc)
    if kind.__module__.startswith("django.db") and kind.__name__ in ("OperationalError", "InterfaceError"):
        return DatabaseUnavailable(f"database unavailable: {one_line(exc)} (check [receiver] database in "
                                   "receiver.conf, and that tkalert-receiver init ran)")
    if kind.__module__.startswith("django.db") and kind.__name__ == "ProgrammingError":
        return DatabaseUnavailable(f"database not set up: {one_line(exc)} (run tkalert-receiver init)")
    return None
