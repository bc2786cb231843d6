"""SMTP transport (`transport = smtp`): one connection per batch to a local MTA, a customer relay or a vendor relay.

Takes sealed messages, composes each as mail (tkalert.sender.deliver.mail) and returns one `Outcome` per message.
The connection walks the stages connect -> [TLS for smtps] -> greeting -> [STARTTLS] -> authenticate; `probe()`
walks the same stages for `tkalert test` and sends nothing. A 4xx reply, a refused or dropped connection and a
time-out are temporary; a 5xx reply (535 bad credentials too) and a certificate that fails verification or its
pin are permanent (RFC 5321 section 4.2.1; tkalert.sender.deliver.failure decides).

With `security = none` (hence no login) a delivery talks plain SMTP itself (tkalert.sender.deliver.plainsmtp):
smtplib, ssl and email are imported only when TLS or AUTH is configured, or by `probe()`.

Options of a `[destination NAME]` section with `transport = smtp` (default in brackets):
  host          server name or address [localhost]
  port          1-65535 [25 for security = none, 587 for starttls, 465 for smtps]
  security      none | starttls | smtps [none]; starttls fails permanently when the server does not offer it
  username      log in as this user [no login]; needs security = starttls or smtps
  password_file file holding the password, relative to the config file [required with username]
  auth          plain | login | auto (the best the server offers) [auto]
  verify        yes | no: check the certificate chain and host name [yes]
  ca_file       CA certificates (PEM) to verify the server with [the system's]
  pin_sha256    one or two SHA-256 fingerprints of the server certificate; replaces chain verification [none]
  mail_from     envelope and From address [tkalert@<this machine's FQDN>]
  mail_to       recipient [required, or --override-target-mail]
  format        pgpmime | inline (TKalert 1.5's armored body, for old receivers) [pgpmime]
  timeout       duration per network operation (30, 30s, 1m; tkalert.config.fields) [30]
"""

from __future__ import annotations

from _collections_abc import Iterator  # collections.abc without the collections package (hook path)

from tkalert.config.settings import Destination, Settings
from tkalert.sender.deliver.failure import TransportFailure, classify
from tkalert.sender.deliver.hostname import local_hostname
from tkalert.sender.deliver.mail import FORMATS, mail_bytes
from tkalert.sender.deliver.destination import DestinationOptions
from tkalert.sender.deliver.outcome import Outcome
from tkalert.sender.deliver.tls import TlsPolicy
from tkalert.errors import ConfigError
from tkalert.sender.message import SealedMessage

SECURITIES = ("none", "starttls", "smtps")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "smtps": 465}
TLS_OPTIONS = {"verify": "yes", "ca_file": None, "pin_sha256": None}
MAIL_OPTIONS = {"mail_from": None, "mail_to": None, "format": "pgpmime", "timeout": "30"}


class SmtpTransport:
    KNOWN = {  # option -> default (a class attribute: microsoft365 has its own)
        "host": "localhost", "port": None, "security": "none", "username": None, "password_file": None,
        "auth": "auto", **TLS_OPTIONS, **MAIL_OPTIONS,
    }
    carries_mail = True

    def __init__(self, destination: Destination, settings: Settings):
        options = DestinationOptions(destination, settings, self.KNOWN)
        self.name = destination.name
        self.settings = settings
        self.security = options.choice("security", SECURITIES)
        self.host = options.text("host")
        self.port = options.port("port") if options.text("port") else DEFAULT_PORTS[self.security]
        self.timeout = options.duration("timeout")
        self.tls = TlsPolicy.from_options(options)
        self.mail_to = options.text("mail_to")
        self.mail_from = options.text("mail_from") or self.default_sender(options)
        self.format = options.choice("format", FORMATS)
        self.read_credentials(options)
        if self.username and self.security == "none":
            raise options.error("username needs security = starttls or smtps (the password would cross in clear)")
        self._sock = self._client = None

    def read_credentials(self, options: DestinationOptions) -> None:
        self.username = options.text("username")
        self.auth = options.choice("auth", ("plain", "login", "auto"))
        self.password = options.secret("password_file") if self.username else None
        if self.username and not self.password:
            raise options.error("username is set but password_file is not (name a file holding the password)")

    def default_sender(self, options: DestinationOptions) -> str:
        return f"tkalert@{local_hostname()}"

    def override_recipient(self, mail_to: str) -> None:
        self.mail_to = mail_to

    def deliver(self, messages: list[SealedMessage]) -> list[Outcome]:
        return list(self.each_outcome(messages))

    def each_outcome(self, messages: list[SealedMessage]) -> Iterator[Outcome]:
        """One outcome per message, each as soon as the server answered for it (the spool records it at once)."""
        if not self.mail_to:
            raise ConfigError(f"[destination {self.name}]: mail_to is not set (or give --override-target-mail)")
        if self.plain():
            yield from self._plain_outcomes(messages)
            return
        from tkalert.sender.deliver.probe import EXPECTED

        for name, stage in self.stages():
            try:
                stage()
            except EXPECTED as exc:
                self._close()
                yield from (self._failed(message, exc, name) for message in messages)
                return
        try:
            for message in messages:
                yield self._send_one(message)
        finally:
            self._close()

    def plain(self) -> bool:
        """Whether the plain client can do it all: no TLS, no login, addresses it can carry as they are."""
        from tkalert.sender.deliver.plainsmtp import usable

        return self.security == "none" and not self.username and usable(self.mail_from, self.mail_to)

    def _plain_outcomes(self, messages: list[SealedMessage]) -> Iterator[Outcome]:
        from tkalert.sender.deliver.plainsmtp import PlainSmtp

        client = PlainSmtp(self.host, self.port, self.timeout, local_hostname())
        try:
            for name, stage in (("connect", client.connect), ("greeting", client.greet)):
                try:
                    stage()
                except (OSError, TransportFailure) as exc:
                    yield from (self._failed(message, exc, name) for message in messages)
                    return
            for message in messages:
                try:
                    client.send(self.mail_from, self.mail_to, self.mail_of(message))
                except (OSError, TransportFailure) as exc:
                    yield self._failed(message, exc)
                    continue
                yield Outcome.sent(message.message_id, self.name)
        finally:
            client.quit()

    def mail_of(self, message: SealedMessage, linesep: str = "\r\n") -> bytes:
        """The mail as bytes, with this system's public key attached unless `attach_key = no`."""
        from tkalert.sender.system_key import attachment

        key = attachment(self.settings) if message.encrypted else None
        return mail_bytes(message, self.mail_from, self.mail_to, self.format, key, linesep)

    def composed(self, message: SealedMessage):
        from tkalert.sender.deliver.mail import compose
        from tkalert.sender.system_key import attachment

        key = attachment(self.settings) if message.encrypted else None
        return compose(message, self.mail_from, self.mail_to, self.format, key)

    def probe(self) -> list:
        from tkalert.sender.deliver.probe import probe_recipient, run_steps

        try:  # the probe alone asks MAIL FROM/RCPT TO (then RSET): a recipient the server refuses fails the test
            recipient = ("recipient", lambda: probe_recipient(self._client, self.mail_from, self.mail_to))
            return run_steps([*self.stages(), recipient])
        finally:
            self._close()

    def stages(self):
        """The connection's stages in order: (name, callable returning a detail line)."""
        tls = [("TLS", self._starttls)] if self.security == "starttls" else []
        if self.security == "none":
            tls = [("TLS", lambda: "not used (security = none): mail crosses the network in clear")]
        wrap = [("TLS", self._wrap)] if self.security == "smtps" else []
        return [("connect", self._connect), *wrap, ("greeting", self._greet), *tls, ("authenticate", self._login)]

    def _connect(self) -> str:
        import socket

        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        return f"connected to {self.host} port {self.port}"

    def _wrap(self) -> str:
        self._sock = self.tls.context().wrap_socket(self._sock, server_hostname=self.host)
        return self.tls.describe(self.tls.check(self._sock))

    def _greet(self) -> str:
        from tkalert.sender.deliver.smtpclient import StagedClient

        self._client = StagedClient(self._sock, self.host, self.port, self.timeout)  # SMTPConnectError unless 220
        self._sock = None  # the client owns it now
        self._client.ehlo_or_helo_if_needed()
        code, banner = self._client.greeting
        return f"{code} {banner.decode('utf-8', 'replace')}"

    def _starttls(self) -> str:
        self._client.starttls(context=self.tls.context())
        return self.tls.describe(self.tls.check(self._client.sock))

    def _login(self) -> str:
        if not self.username:
            return "not configured (no username)"
        return self.authenticate(self._client)

    def authenticate(self, client) -> str:
        client.ehlo_or_helo_if_needed()  # STARTTLS forgets the first EHLO (RFC 3207 section 4.2)
        if self.auth == "auto":
            client.login(self.username, self.password)
            return f"logged in as {self.username}"
        offered = client.esmtp_features.get("auth", "").upper().split()
        if self.auth.upper() not in offered:
            offer = " ".join(offered) or "none"
            import smtplib

            raise smtplib.SMTPNotSupportedError(f"AUTH {self.auth.upper()} not offered (offered: {offer})")
        client.user, client.password = self.username, self.password
        client.auth(self.auth, getattr(client, f"auth_{self.auth}"))
        return f"logged in as {self.username} with AUTH {self.auth.upper()}"

    def _send_one(self, message: SealedMessage) -> Outcome:
        from tkalert.sender.deliver.probe import EXPECTED

        from tkalert.sender.deliver.plainsmtp import usable

        try:
            if usable(self.mail_from, self.mail_to):
                self._client.sendmail(self.mail_from, [self.mail_to], self.mail_of(message))
            else:  # smtplib decides on SMTPUTF8 and quoting for such addresses, as it always did
                self._client.send_message(self.composed(message), self.mail_from, [self.mail_to])
        except EXPECTED as exc:
            return self._failed(message, exc)
        return Outcome.sent(message.message_id, self.name)

    def _failed(self, message: SealedMessage, exc: BaseException, stage: str | None = None) -> Outcome:
        failure = classify(exc)
        where = f"{self.host}:{self.port}"
        if stage == "connect":
            where = f"cannot connect to {where}"
        elif stage:
            where = f"{where}: {stage}"
        text = f"{where}: {failure.reason}"
        return Outcome.failed(message.message_id, self.name, text, permanent=failure.permanent)

    def _close(self) -> None:
        client, sock, self._client, self._sock = self._client, self._sock, None, None
        if client is not None:
            from tkalert.sender.deliver.probe import EXPECTED

            try:
                client.quit()
            except EXPECTED:
                client.close()
        elif sock is not None:
            sock.close()
