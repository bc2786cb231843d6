"""Real servers for the delivery tests, all on 127.0.0.1 and ports the kernel picks.

The SMTP server (`smtp_server(...)`), the certificates from two trustme CAs and `refused_port` are the cast's
(tests/cast, fixtures in tests/conftest.py). Here:
- `https_receiver(...)`: a TLS HTTP server that keeps every POST and answers with a chosen status;
- `token_endpoint`: a fake Microsoft identity platform (OpenID discovery + client-credentials token) over HTTPS,
  because msal only talks to https authorities;
- `silent_port` (listening, never answers) and `hangup_port` (closes every connection at once).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType

import pytest
from cast.smtp import PASSWORD, TOKEN, Certificate

from tkalert.config.settings import Destination, Settings
from tkalert.sender.message import SealedMessage

ARMOR = b"-----BEGIN PGP MESSAGE-----\n\nhQEMA1234567890\n=abcd\n-----END PGP MESSAGE-----\n"


# ---- plain sockets ------------------------------------------------------------------------------------------

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
            "message_id": f"0b5e8f2a-0000-4000-8000-{number:012d}", "document_type": "alert", "system_id": "sys-42",
            "sequence": number, "created": "2024-05-01T12:00:00Z", "payload": ARMOR, "plaintext": b"<alert/>",
            "encrypted": True, "host": "db1.customer.example", "service": "RAID", "monitored_state": "CRITICAL",
        }
        return SealedMessage(**{**values, **changes})

    return make
