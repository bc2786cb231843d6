"""The two error tiers every step shares.

Misuse and bad configuration raise one of these at once, with the fix in the message; the CLI's single error
boundary (tkalert.cli.boundary) turns them into one line and an exit code. Expected outcomes of delivery (server
down, refused) are not exceptions: they are results recorded as data by the delivery step.
"""


def one_line(text, limit: int | None = None) -> str:
    """Any text (an exception, a server's reply, gpg's stderr) as one line of single spaces, cut at `limit`."""
    line = " ".join(str(text).split())
    return line if limit is None else line[:limit]


class TkalertError(Exception):
    """Base class: a failure the user can act on; str() is the one line they see."""

    exit_code = 1


class UsageError(TkalertError):
    """A bad argument or option value (exit 2, like click's own usage errors)."""

    exit_code = 2


class ConfigError(TkalertError):
    """The configuration file or a file it names is missing, unreadable or wrong."""

    exit_code = 78  # EX_CONFIG


class SealError(TkalertError):
    """GnuPG could not sign or encrypt: missing/expired key, unsafe home, gpg failure."""

    exit_code = 1


class SpoolError(TkalertError):
    """The message could not be written to the outbox: nothing is safe yet, so the caller should try again."""

    exit_code = 75  # EX_TEMPFAIL: Zabbix retries, an MTA pipe keeps the mail


class DumpError(TkalertError):
    """The --dump-xml file cannot be created or may not be written (a symbolic link, another user's file)."""

    exit_code = 73  # EX_CANTCREAT
