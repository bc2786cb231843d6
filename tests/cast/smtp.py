"""One SMTP server for every test: tkalert's own inbox (tkalert.inbox) with what tests need on top.

`smtp_server(...)` starts one on 127.0.0.1, on a port the kernel picks (learnt from the socket, no race) unless
one is given; stop() and start() again bring it down and back on the same port and terms:
- security none, starttls or smtps, with a `Certificate` from a trustme CA (`certificate`: a pin of one CA refuses
  the other's);
- auth: AUTH PLAIN/LOGIN checked against USER/PASSWORD; xoauth2: XOAUTH2 checked against USER/TOKEN; `logins`;
- reply: a forced answer to RCPT TO (e.g. "451 4.3.0 try later"); mode "accept" | "tempfail" (451) | "permfail"
  (554) answers DATA, after `delay` seconds;
- `mails` keeps every accepted mail (mail_from, rcpt_tos, content); `accepted` their X-Tkalert-Message-Id, `folded`
  the event ids inside digests, `delivered()` both; `connections` every peer that sent DATA, `refused` the count.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from aiosmtpd.smtp import AuthResult

from tkalert.inbox import Inbox
from tkalert.sender.deliver.tls import fingerprint

USER = "alice"
PASSWORD = "correct horse battery staple"
TOKEN = "token-for-tests"

HEADER_ID = re.compile(rb"^X-Tkalert-Message-Id: *(\S+)", re.M | re.I)
DIGEST_ID = re.compile(rb"<event id=\"([^\"]+)\"/>")
DATA_REPLIES = {"tempfail": "451 4.3.0 mailbox busy, try again later",
                "permfail": "554 5.7.1 message refused by policy"}


# ---- certificates -------------------------------------------------------------------------------------------

@dataclass
class Certificate:
    cert: trustme.LeafCert
    ca_file: Path

    @classmethod
    def issue(cls, directory: Path) -> "Certificate":
        """A leaf certificate for 127.0.0.1/localhost from a new CA, whose certificate is written to directory."""
        ca = trustme.CA()
        ca_file = directory / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        return cls(ca.issue_cert("127.0.0.1", "localhost"), ca_file)

    @property
    def sha256(self) -> str:
        return fingerprint(ssl.PEM_cert_to_DER_cert(self.cert.cert_chain_pems[0].bytes().decode()))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.cert.configure_cert(context)
        return context


# ---- SMTP ---------------------------------------------------------------------------------------------------

class SmtpServer(Inbox):
    user = USER

    def __init__(self, security: str = "none", auth: bool = False, cert: Certificate | None = None,
                 reply: str | None = None, mode: str = "accept", delay: float = 0.0):
        super().__init__()
        self.security, self.auth, self.cert = security, auth, cert
        self.reply = reply
        self.mode = mode
        self.delay = delay
        self.logins: list[tuple[str, str]] = []
        self.connections: set = set()
        self.refused = 0

    def start(self, port: int | None = None) -> "SmtpServer":
        """Listen on `port` (0: any); None: the port it had before, any at first."""
        options = {}
        if self.security == "starttls":
            options.update(tls_context=self.cert.server_context(), require_starttls=True)
        if self.security == "smtps":
            # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; with SMTPS the whole session is TLS.
            options.update(ssl_context=self.cert.server_context(), auth_require_tls=False)
        if self.auth:
            # auth_required with auth_require_tls=False (SMTPS) makes aiosmtpd warn on every connection.
            options.update(authenticator=self.check_password, auth_required=self.security != "smtps")
        return super().start(port=port, **options)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reply:
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.connections.add(session.peer)
        if self.mode in DATA_REPLIES:
            self.refused += 1
            return DATA_REPLIES[self.mode]
        return await super().handle_DATA(server, session, envelope)

    def check_password(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
        if ok:
            self.logins.append((mechanism, USER))
        return AuthResult(success=ok, handled=False)  # handled=True would leave the reply to us

    @property
    def accepted(self) -> list[str]:
        """The X-Tkalert-Message-Id of every accepted mail, duplicates kept."""
        return [found.decode() for mail in self.mails for found in HEADER_ID.findall(mail.content)]

    @property
    def folded(self) -> list[str]:
        """The event ids found inside accepted digests."""
        return [found.decode() for mail in self.mails for found in DIGEST_ID.findall(mail.content)]

    def delivered(self) -> set[str]:
        """Every event id that reached the vendor, on its own or inside a digest."""
        return set(self.accepted) | set(self.folded)


class XOAuth2Server(SmtpServer):
    """Also offers AUTH XOAUTH2 (aiosmtpd advertises every auth_* method of the handler)."""

    async def auth_XOAUTH2(self, server, args):
        """RFC-less but documented by Microsoft and Google: base64("user=U^Aauth=Bearer T^A^A")."""
        fields = dict(item.split("=", 1) for item in base64.b64decode(args[1]).decode().split("\x01") if item)
        ok = fields.get("auth") == f"Bearer {TOKEN}" and fields.get("user") == USER
        if ok:
            self.logins.append(("XOAUTH2", fields["user"]))
        return AuthResult(success=ok, handled=False)  # handled=True would leave the reply to us


def smtp_server(security: str = "none", auth: bool = False, xoauth2: bool = False, reply: str | None = None,
                cert: Certificate | None = None, port: int = 0) -> SmtpServer:
    """A started server; stop() it when done (the fixtures in tests/conftest.py do)."""
    kind = XOAuth2Server if xoauth2 else SmtpServer
    return kind(security=security, auth=auth, cert=cert, reply=reply).start(port=port)
