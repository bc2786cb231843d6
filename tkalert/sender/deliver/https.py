"""HTTPS transport (`transport = https`): POST each sealed message to the vendor's receiver URL.

One kept-alive connection per batch; every (re)connect walks connect -> TLS and checks the certificate before a
byte of the request is sent. The body is the armored OpenPGP message (`application/pgp-encrypted`; the XML
document as `application/xml` when not encrypted); with `attach_key = yes` (the default) it is the multipart/mixed
MIME entity a mail would carry (tkalert.sender.deliver.mail.entity: the RFC 3156 multipart/encrypted part, then
this system's public key as application/pgp-keys), sent as `Content-Type: multipart/mixed; boundary=...`. The
header `X-Tkalert-Message-Id` carries the message id.
Answers: 2xx delivered; 408, 429 and 5xx temporary; any other status (3xx, 4xx) permanent, as it means a wrong
URL or a refused sender. Connection failures and time-outs are temporary, a certificate that fails its pin or
verification is permanent.

Trust, as Fabasoft app.telemetry's agent link (see tkalert.sender.deliver.tls):
- `pin_sha256`: one or two fingerprints of the receiver's certificate (two during a rollover). With a pin, the
  chain and host name are not checked: the pin is the trust.
- `tofu = yes` (trust on first use): the first certificate seen is recorded in `tofu_file` and pinned from then
  on; a changed certificate is refused until an admin deletes the file or adds the new fingerprint to it (one
  per line, at most two). `tkalert test` shows the fingerprint but does not record it.
- neither: the chain is verified against the system CAs or `ca_file` (`verify = no` turns that off).

Options of a `[destination NAME]` section with `transport = https` (default in brackets):
  url         https://host[:port]/path of the receiver [required]
  pin_sha256  one or two SHA-256 certificate fingerprints, comma separated [none]
  tofu        yes | no: trust and record the first certificate seen; not together with pin_sha256 [no]
  tofu_file   where the recorded fingerprint lives [<state_dir>/tofu-<destination name>.sha256]
  verify      yes | no [yes]
  ca_file     CA certificates (PEM) to verify the receiver with [the system's]
  timeout     duration per network operation (30, 30s, 1m) [30]
"""

from __future__ import annotations

from collections.abc import Iterator

import http.client
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from tkalert import __version__
from tkalert.config.settings import Destination, Settings
from tkalert.sender.deliver.failure import TransportFailure, classify
from tkalert.sender.deliver.mail import ID_HEADER, entity
from tkalert.sender.deliver.destination import REQUIRED, DestinationOptions
from tkalert.sender.deliver.outcome import Outcome
from tkalert.sender.deliver.probe import Step, run_steps
from tkalert.sender.deliver.tls import TlsPolicy, parse_pins, pretty
from tkalert.sender.message import SealedMessage

KNOWN = {"url": REQUIRED, "pin_sha256": None, "tofu": "no", "tofu_file": None, "verify": "yes", "ca_file": None,
         "timeout": "30"}
EXPECTED = (OSError, http.client.HTTPException, TransportFailure)
RETRY_STATUSES = {408, 429}


class HttpsTransport:
    carries_mail = False

    def __init__(self, destination: Destination, settings: Settings):
        options = DestinationOptions(destination, settings, KNOWN)
        self.name = destination.name
        self.settings = settings
        url = urlsplit(options.text("url"))
        if url.scheme != "https" or not url.hostname:
            raise options.error(f"url must be an https:// URL, not {options.text('url')!r}")
        self.host, self.port = url.hostname, url.port or 443
        self.path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        self.timeout = options.duration("timeout")
        self.policy = TlsPolicy.from_options(options)
        self.tofu = options.boolean("tofu")
        if self.tofu and self.policy.pins:
            raise options.error("give either pin_sha256 or tofu = yes, not both (a pin needs no first use)")
        self.tofu_file = options.path("tofu_file") or Path(settings.state_dir) / f"tofu-{self.name}.sha256"
        self._sock = None

    def deliver(self, messages: list[SealedMessage]) -> list[Outcome]:
        return list(self.each_outcome(messages))

    def each_outcome(self, messages: list[SealedMessage]) -> Iterator[Outcome]:
        """One outcome per message, each as soon as the receiver answered for it."""
        connection = _Connection(self.host, self.port, self.timeout, self._open)
        try:
            connection.connect()
        except EXPECTED as exc:
            failure = classify(exc)
            yield from (self._failed(message, failure.reason, failure.permanent) for message in messages)
            return
        try:
            for message in messages:
                yield self._post(connection, message)
        finally:
            connection.close()

    def probe(self) -> list[Step]:
        try:
            return run_steps([("connect", self._connect), ("TLS", lambda: self._tls(record=False))])
        finally:
            if self._sock is not None:
                self._sock.close()
            self._sock = None

    def _open(self) -> socket.socket:
        try:
            self._connect()
            self._tls(record=True)
        except BaseException:
            if self._sock is not None:
                self._sock.close()
            raise
        finally:
            sock, self._sock = self._sock, None
        return sock

    def _connect(self) -> str:
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        return f"connected to {self.host} port {self.port}"

    def _tls(self, record: bool) -> str:
        policy, first_use = self._trust()
        self._sock = policy.context().wrap_socket(self._sock, server_hostname=self.host)
        fpr = policy.check(self._sock)
        if not first_use:
            return policy.describe(fpr)
        if record:
            self._record(fpr)
        how = "recorded in" if record else "not yet recorded; the first delivery records it in"
        return f"certificate SHA-256 {pretty(fpr)}, trusted on first use, {how} {self.tofu_file}"

    def _trust(self) -> tuple[TlsPolicy, bool]:
        """The policy for the next handshake, and whether it is a first use that should be recorded."""
        if not self.tofu:
            return self.policy, False
        try:
            recorded = parse_pins(self.tofu_file.read_text(encoding="ascii"), str(self.tofu_file))
        except FileNotFoundError:
            return TlsPolicy(verify=False), True
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise TransportFailure(f"cannot use {self.tofu_file}: {exc}", True,
                                   "fix or delete the file (deleting it trusts the next certificate seen)") from None
        return TlsPolicy(pins=recorded[:2]), False

    def _record(self, fpr: str) -> None:
        from tkalert.sender.spool.disk import ensure_dir

        ensure_dir(self.tofu_file.parent)
        partial = self.tofu_file.with_name(self.tofu_file.name + ".new")
        partial.write_text(pretty(fpr) + "\n", encoding="ascii")
        os.replace(partial, self.tofu_file)

    def _post(self, connection: http.client.HTTPConnection, message: SealedMessage) -> Outcome:
        body, content_type = message.payload, "application/xml"
        if message.encrypted:
            from tkalert.sender.system_key import attachment

            body, content_type = entity(message, attachment(self.settings))
        headers = {"Content-Type": content_type, ID_HEADER: message.message_id, "User-Agent": f"tkalert/{__version__}"}
        try:
            connection.request("POST", self.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except EXPECTED as exc:
            connection.close()  # the next message reconnects, through the same pin check
            failure = classify(exc)
            return self._failed(message, failure.reason, failure.permanent)
        if 200 <= response.status < 300:
            return Outcome.sent(message.message_id, self.name)
        temporary = response.status >= 500 or response.status in RETRY_STATUSES
        return self._failed(message, f"HTTP {response.status} {response.reason}", permanent=not temporary)

    def _failed(self, message: SealedMessage, reason: str, permanent: bool) -> Outcome:
        text = f"https://{self.host}:{self.port}{self.path}: {reason}"
        return Outcome.failed(message.message_id, self.name, text, permanent=permanent)


class _Connection(http.client.HTTPConnection):
    """http.client's connection whose every (re)connect goes through the transport's staged, pinned open."""

    def __init__(self, host: str, port: int, timeout: float, opener):
        super().__init__(host, port, timeout=timeout)
        self._opener = opener

    def connect(self) -> None:
        self.sock = self._opener()
