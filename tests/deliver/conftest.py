"""Real servers for the delivery tests, all on 127.0.0.1 and ports the kernel picks.

- `smtp_server(...)`: an aiosmtpd server (plain, STARTTLS or SMTPS; AUTH PLAIN/LOGIN against a password, XOAUTH2
  against a token; a reply code to force) that keeps every mail it accepted;
- `https_receiver(...)`: a TLS HTTP server that keeps every POST and answers with a chosen status;
- `token_endpoint`: a fake Microsoft identity platform (OpenID discovery + client-credentials token) over HTTPS,
  because msal only talks to https authorities;
- `refused_port` (bound, not listening) and `silent_port` (listening, never answers);
- certificates from two trustme CAs, so a test can show a certificate that does not match a pin.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tkalert.config import Destination, Settings
from tkalert.deliver.tls import fingerprint
from tkalert.message import SealedMessage

USER = "alice"
PASSWORD = "correct horse battery staple"
TOKEN = "token-for-tests"
ARMOR = b"-----BEGIN PGP MESSAGE-----\n\nhQEMA1234567890\n=abcd\n-----END PGP MESSAGE-----\n"


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


# ---- plain sockets ------------------------------------------------------------------------------------------

@pytest.fixture
def refused_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound but not listening: the kernel answers with RST
        yield sock.getsockname()[1]


@pytest.fixture
def silent_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # the kernel completes the handshake; nobody ever says a word
        yield sock.getsockname()[1]


@pytest.fixture
def hangup_port():
    """Accepts each connection and closes it at once, like a server that dies mid-handshake."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)

        def hang_up():
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        yield sock.getsockname()[1]
        sock.shutdown(socket.SHUT_RDWR)


# ---- HTTPS --------------------------------------------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    daemon_threads = True


def _serve(handler_class, context: ssl.SSLContext) -> _Server:
    server = _Server(("127.0.0.1", 0), handler_class)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server


@dataclass
class HttpsReceiver:
    port: int = 0
    posts: list = field(default_factory=list)
    status: int = 200

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/tkalert/v1/messages"


@pytest.fixture
def https_receiver(certificate):
    servers = []

    def start(status=200, cert: Certificate = certificate) -> HttpsReceiver:
        receiver = HttpsReceiver(status=status)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = _serve(Handler, cert.server_context())
        servers.append(server)
        receiver.port = server.server_address[1]
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@dataclass
class TokenEndpoint:
    port: int = 0
    requests: list = field(default_factory=list)
    secret: str = "s3cret"

    @property
    def authority(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@pytest.fixture
def token_endpoint(certificate):
    endpoint = TokenEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # OpenID discovery: https://AUTHORITY/TENANT/v2.0/.well-known/openid-configuration
            tenant = self.path.split("/")[1]
            base = f"{endpoint.authority}/{tenant}"
            self._json(200, {
                "issuer": f"{base}/v2.0", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
            })

        def do_POST(self):
            from urllib.parse import parse_qs

            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            endpoint.requests.append(form)
            if form.get("client_secret") != [endpoint.secret]:
                return self._json(401, {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"})
            self._json(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": TOKEN})

        def _json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = _serve(Handler, certificate.server_context())
    endpoint.port = server.server_address[1]
    yield endpoint
    server.shutdown()
    server.server_close()


# ---- the sender's side --------------------------------------------------------------------------------------

@pytest.fixture
def secrets(tmp_path) -> Path:
    """A config directory holding the password file, as /etc/tkalert would."""
    (tmp_path / "smtp.password").write_text(PASSWORD + "\n")
    (tmp_path / "wrong.password").write_text("not the password\n")
    (tmp_path / "client.secret").write_text("s3cret\n")
    return tmp_path


@pytest.fixture
def settings_with(secrets):
    def build(*destinations: tuple[str, str, dict]) -> Settings:
        return Settings(
            path=secrets / "tkalert.conf",
            state_dir=secrets / "state",
            destinations=tuple(Destination(n, t, MappingProxyType(o)) for n, t, o in destinations),
        )

    return build


@pytest.fixture
def sealed():
    """An alert about db1.customer.example, sealed; `sealed(2)` is the next one in the sequence."""

    def make(number: int = 1, **changes) -> SealedMessage:
        values = {
            "message_id": f"0b5e8f2a-0000-4000-8000-{number:012d}", "kind": "alert", "system_id": "sys-42",
            "sequence": number, "created": "2024-05-01T12:00:00Z", "payload": ARMOR, "plaintext": b"<alert/>",
            "encrypted": True, "host": "db1.customer.example", "service": "RAID", "state": "CRITICAL",
        }
        return SealedMessage(**{**values, **changes})

    return make
