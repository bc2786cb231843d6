"""Sendmail transport (`transport = sendmail`): hand each mail to the local MTA's sendmail program.

For sites whose MTA (Postfix, Exim, a smarthost set-up) already knows how to reach the outside: the mail is
composed as for SMTP (tkalert.sender.deliver.mail) and piped to `command -i -f mail_from -- mail_to`, one process per
message. The exit status is a sysexits code (sendmail(8)): 75 EX_TEMPFAIL and the other "try again" codes are
temporary, usage, address and configuration errors are permanent; so is a command that does not exist.
`probe()` checks that the command exists and is executable; it runs nothing.

Options of a `[destination NAME]` section with `transport = sendmail` (default in brackets):
  command    the sendmail program, with extra arguments if needed [/usr/sbin/sendmail]
  mail_from  envelope sender and From [tkalert@<this machine's FQDN>]
  mail_to    recipient [required, or --override-target-mail]
  format     pgpmime | inline [pgpmime]
  timeout    how long to wait for the program, a duration (30, 30s, 1m) [30]
"""

from __future__ import annotations

from collections.abc import Iterator

import os
import shlex
import shutil
import subprocess

from tkalert.config.settings import Destination, Settings
from tkalert.sender.deliver.mail import FORMATS, mail_bytes
from tkalert.sender.deliver.destination import DestinationOptions
from tkalert.sender.deliver.hostname import local_hostname
from tkalert.sender.deliver.outcome import Outcome
from tkalert.sender.deliver.probe import Step
from tkalert.errors import ConfigError, one_line
from tkalert.sender.message import SealedMessage

KNOWN = {"command": "/usr/sbin/sendmail", "mail_from": None, "mail_to": None, "format": "pgpmime", "timeout": "30"}
# sysexits.h: 64 usage, 65 data, 67 no user, 68 no host, 77 no permission, 78 config: retrying cannot help.
PERMANENT_EXITS = {64, 65, 67, 68, 77, 78}


class SendmailTransport:
    carries_mail = True

    def __init__(self, destination: Destination, settings: Settings):
        options = DestinationOptions(destination, settings, KNOWN)
        self.name = destination.name
        self.settings = settings
        self.command = shlex.split(options.text("command") or "")
        if not self.command:
            raise options.error("command is empty (name the MTA's sendmail program)")
        self.mail_from = options.text("mail_from") or f"tkalert@{local_hostname()}"
        self.mail_to = options.text("mail_to")
        self.format = options.choice("format", FORMATS)
        self.timeout = options.duration("timeout")

    def override_recipient(self, mail_to: str) -> None:
        self.mail_to = mail_to

    def deliver(self, messages: list[SealedMessage]) -> list[Outcome]:
        return list(self.each_outcome(messages))

    def each_outcome(self, messages: list[SealedMessage]) -> Iterator[Outcome]:
        if not self.mail_to:
            raise ConfigError(f"[destination {self.name}]: mail_to is not set (or give --override-target-mail)")
        for message in messages:
            yield self._send_one(message)

    def probe(self) -> list[Step]:
        program = shutil.which(self.command[0])
        if program is None or not os.access(program, os.X_OK):
            return [Step("command", False, f"{self.command[0]} not found or not executable",
                         "install an MTA (postfix, exim4) or point `command` at its sendmail program")]
        return [Step("command", True, f"{program} is executable; the local MTA takes it from there")]

    def _send_one(self, message: SealedMessage) -> Outcome:
        from tkalert.sender.system_key import attachment

        key = attachment(self.settings) if message.encrypted else None
        mail = mail_bytes(message, self.mail_from, self.mail_to, self.format, key, "\n")  # sendmail: local line ends
        argv = [*self.command, "-i", "-f", self.mail_from, "--", self.mail_to]
        try:
            done = subprocess.run(argv, input=mail, capture_output=True, timeout=self.timeout, check=False)
        except FileNotFoundError:
            return self._failed(message, f"{self.command[0]} not found", permanent=True)
        except PermissionError:
            return self._failed(message, f"{self.command[0]} is not executable", permanent=True)
        except subprocess.TimeoutExpired:
            return self._failed(message, f"{self.command[0]} did not finish in {self.timeout:g} s", permanent=False)
        if done.returncode != 0:
            said = one_line(done.stderr.decode("utf-8", "replace"), 200)
            text = f"{self.command[0]} exited with {done.returncode}" + (f": {said}" if said else "")
            return self._failed(message, text, permanent=done.returncode in PERMANENT_EXITS)
        return Outcome.sent(message.message_id, self.name)

    def _failed(self, message: SealedMessage, text: str, permanent: bool) -> Outcome:
        return Outcome.failed(message.message_id, self.name, text, permanent=permanent)
