"""Real mail servers and certificates for any test: aiosmtpd on ports the kernel picks, trustme CAs.

- `certificate` / `other_certificate`: leaf certificates from two trustme CAs (a pin of one refuses the other);
- `smtp_server(security=none|starttls|smtps, auth=False, xoauth2=False, reply=None)`: an aiosmtpd server that
  keeps every mail it accepted, checks AUTH PLAIN/LOGIN against USER/PASSWORD or XOAUTH2 against TOKEN, and can
  be made to answer RCPT TO with a forced reply.
Fixtures are registered by `tests/conftest.py`, so every test folder can use them.
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tkalert.sender.deliver.tls import fingerprint

USER = "alice"
PASSWORD = "correct horse battery staple"
TOKEN = "token-for-tests"


# ---- certificates -------------------------------------------------------------------------------------------

@dataclass
class Certificate:
    cert: trustme.LeafCert
    ca_file: Path

    @property
    def sha256(self) -> str:
        return fingerprint(ssl.PEM_cert_to_DER_cert(self.cert.cert_chain_pems[0].bytes().decode()))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.cert.configure_cert(context)
        return context


def _certificate(tmp_path_factory, label: str) -> Certificate:
    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp(label) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Certificate(ca.issue_cert("127.0.0.1", "localhost"), ca_file)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Certificate:
    return _certificate(tmp_path_factory, "ca-good")


@pytest.fixture(scope="session")
def other_certificate(tmp_path_factory) -> Certificate:
    return _certificate(tmp_path_factory, "ca-other")


# ---- SMTP ---------------------------------------------------------------------------------------------------

class _FreePortController(Controller):
    """Listen on port 0 and learn the port from the socket: no race for a 'free' port."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    port: int = 0
    mails: list = field(default_factory=list)
    logins: list = field(default_factory=list)
    reply: str | None = None  # forced answer to RCPT TO, e.g. "451 4.3.0 try later"
    user = USER

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reply:
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(envelope)
        return "250 OK"

    def check_password(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
        if ok:
            self.logins.append((mechanism, USER))
        return AuthResult(success=ok, handled=False)  # handled=True would leave the reply to us


class XOAuth2Server(SmtpServer):
    async def auth_XOAUTH2(self, server, args):
        """RFC-less but documented by Microsoft and Google: base64("user=U^Aauth=Bearer T^A^A")."""
        fields = dict(item.split("=", 1) for item in base64.b64decode(args[1]).decode().split("\x01") if item)
        ok = fields.get("auth") == f"Bearer {TOKEN}" and fields.get("user") == USER
        if ok:
            self.logins.append(("XOAUTH2", fields["user"]))
        return AuthResult(success=ok, handled=False)  # handled=True would leave the reply to us


@pytest.fixture
def smtp_server(certificate):
    started = []

    def start(security="none", auth=False, xoauth2=False, reply=None, cert: Certificate = certificate) -> SmtpServer:
        handler = XOAuth2Server(reply=reply) if xoauth2 else SmtpServer(reply=reply)
        kwargs = {}
        if security == "starttls":
            kwargs.update(tls_context=cert.server_context(), require_starttls=True)
        if security == "smtps":
            # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; with SMTPS the whole session is TLS.
            kwargs.update(ssl_context=cert.server_context(), auth_require_tls=False)
        if auth:
            # auth_required with auth_require_tls=False (SMTPS) makes aiosmtpd warn on every connection.
            kwargs.update(authenticator=handler.check_password, auth_required=security != "smtps")
        controller = _FreePortController(handler, hostname="127.0.0.1", port=0, **kwargs)
        controller.start()
        started.append(controller)
        handler.port = controller.port
        return handler

    yield start
    for controller in started:
        controller.stop()
