"""The `tkalert` send command's options: one table, read by both parsers.

The notification hook runs once per event, hundreds at once in a storm, and importing click costs it about 15 ms.
So the hook parses the everyday argv (`--name=value`, `--name value`, `--flag`) straight from this table, and hands
everything else (help, version, errors, anything unusual) to the click command built from the same table
(`tkalert.cli.send.command`). A test checks that both parsers agree on every argv the fast one accepts.
"""

from __future__ import annotations

import os


class Option:
    __slots__ = ("names", "dest", "metavar", "help", "envvar")

    def __init__(self, names: tuple[str, ...], dest: str, metavar: str | None, help: str, envvar: str | None = None):
        self.names, self.dest, self.help, self.envvar = names, dest, help, envvar
        self.metavar = metavar  # None: a flag


OPTIONS = (
    Option(("--type",), "event_type", "heartbeat|service|host|test|report", "What to send (default: heartbeat)."),
    Option(("--auth-key",), "auth_key", "TEXT", "Contract key; better from the config or $TKALERT_AUTH_KEY.",
           "TKALERT_AUTH_KEY"),
    Option(("--contact-person",), "contact_person", "TEXT", "Name of the person support should contact."),
    Option(("--contact-mail",), "contact_mail", "TEXT", "Mail address support should contact."),
    Option(("--date",), "date", "EPOCH", "Time of the event in Unix seconds (floats accepted; default: now)."),
    Option(("--config",), "config", "FILE", "Config file (default /etc/tkalert/tkalert.conf).", "TKALERT_CONFIG"),
    Option(("--gnupg-config",), "gnupg_config", "FILE", "TKalert 1.5 gnupg.conf; its directory is the GnuPG home."),
    Option(("--check",), "check", None, "Act as a Nagios plugin: one status line, exit 0/1/2/3."),
    Option(("--host",), "host", "TEXT", "Host name."),
    Option(("--ip",), "ip", "TEXT", "Host address (IPv4 or IPv6)."),
    Option(("--host-status",), "host_status", "UP|DOWN|UNREACHABLE", "Host state."),
    Option(("--os",), "os", "TEXT", "Operating system of the host."),
    Option(("--serial",), "serial", "TEXT", "Server serial number."),
    Option(("--service",), "service", "TEXT", "Service name."),
    Option(("--service-status",), "service_status", "OK|WARNING|CRITICAL|UNKNOWN", "Service state."),
    Option(("--output",), "output", "TEXT", "Plugin output."),
    Option(("--perf",), "perf", "TEXT", "Performance data."),
    Option(("--duration",), "duration", "SECONDS", "How long the state has lasted (floats accepted)."),
    Option(("--component-serial",), "component_serial", "TEXT", "Serial number of the failing component."),
    Option(("--component-name",), "component_name", "TEXT", "Name of the failing component."),
    Option(("--notification-type",), "notification_type", "TYPE",
           "PROBLEM, RECOVERY, ACKNOWLEDGEMENT, CUSTOM, FLAPPING*, DOWNTIME*."),
    Option(("--notification-author",), "notification_author", "NAME",
           "Who acknowledged or commented (ACKNOWLEDGEMENT, CUSTOM)."),
    Option(("--notification-comment",), "notification_comment", "TEXT", "The acknowledgement's or custom comment."),
    Option(("--dump-xml", "--dump"), "dump", "FILE",
           "Write the plaintext document to FILE ('-': stdout); send nothing."),
    Option(("--verbose",), "verbose", None, "Log every step with a timestamp on stderr."),
    Option(("--disable-gpg-encryption",), "disable_gpg_encryption", None,
           "Send the document unencrypted and unsigned (tests only)."),
    Option(("--enabled",), "enabled", "0|1", "0: print 'tkalert not enabled, exit.' and exit 0."),
    Option(("--override-target-mail",), "override_target_mail", "ADDRESS",
           "Send to this address instead of the configured mail_to."),
)
BY_NAME = {name: option for option in OPTIONS for name in option.names}


def fast_parse(args: list[str], env=os.environ) -> dict | None:
    """Parse an everyday argv without click; None means "let click decide" (help, errors, anything unusual)."""
    params = {option.dest: (False if option.metavar is None else None) for option in OPTIONS}
    index = 0
    while index < len(args):
        name, has_value, value = args[index].partition("=")
        option = BY_NAME.get(name)
        if option is None:
            return None
        if option.metavar is None:
            if has_value:
                return None
            params[option.dest] = True
        elif has_value:
            params[option.dest] = value
        else:
            index += 1
            if index == len(args) or args[index].startswith("-"):
                return None
            params[option.dest] = args[index]
        index += 1
    for option in OPTIONS:
        if option.envvar and params[option.dest] is None and env.get(option.envvar):
            params[option.dest] = env[option.envvar]
    return params
