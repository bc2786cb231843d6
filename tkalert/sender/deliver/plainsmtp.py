"""Plain SMTP without smtplib: the hook's everyday way to a local MTA or a relay (`security = none`, no login).

smtplib imports email, ssl and hmac whatever the connection needs, a large part of the hook's start-up. A
connection without TLS and without AUTH needs five commands (RFC 5321 section 3.3): EHLO (HELO if refused), MAIL,
RCPT, DATA with the dot-stuffed message (section 4.5.2), QUIT. Replies are judged like smtplib's are judged by
tkalert.sender.deliver.failure: 4xx temporary, 5xx permanent, a closed connection or a time-out temporary.
Anything more (STARTTLS, AUTH, SMTPUTF8 addresses) goes through smtplib in tkalert.sender.deliver.smtp.
The connection is made with _socket: the socket module imports enum and selectors, a sizeable part of the hook's
start, for create_connection and makefile, which `connected` and `LineReader` do here in a few lines.
"""

from __future__ import annotations

import _socket

from tkalert.sender.deliver.failure import FIX_REACH, TransportFailure

CRLF = b"\r\n"


class Refused(TransportFailure):
    """The server answered a command with an error reply: `code text`, permanent for 5xx (RFC 5321 4.2.1)."""

    def __init__(self, code: int, text: str, who: str = ""):
        super().__init__(f"{who}{code} {text}", code >= 500)
        self.code = code


def usable(mail_from: str, mail_to: str) -> bool:
    """Whether a plain client can carry these addresses as they are (ASCII, bare addr-spec, no brackets)."""
    return all(address.isascii() and address.isprintable() and not any(c in address for c in "<> ")
               for address in (mail_from, mail_to))


class PlainSmtp:
    def __init__(self, host: str, port: int, timeout: float, local_name: str):
        self.host, self.port, self.timeout, self.local_name = host, port, timeout, local_name
        self.sock = self.reader = None

    def connect(self) -> None:
        # an ASCII name as bytes: a str goes through the idna codec (encodings.idna, stringprep, unicodedata)
        host = self.host.encode("ascii") if self.host.isascii() else self.host
        self.sock = connected(host, self.port, self.timeout)
        self.reader = LineReader(self.sock)

    def greet(self) -> str:
        code, text = self.reply()
        if code != 220:
            raise Refused(code, text)
        code, _ = self.command(f"EHLO {self.local_name}")
        if code != 250:
            code, reply = self.command(f"HELO {self.local_name}")
            if code != 250:
                raise Refused(code, reply)
        return f"220 {text}"

    def send(self, mail_from: str, mail_to: str, data: bytes) -> None:
        """One message; a refusal raises `Refused` and leaves the session ready for the next (RSET)."""
        code, text = self.command(f"MAIL FROM:<{mail_from}>")
        if code != 250:
            self._reset()
            raise Refused(code, text)
        code, text = self.command(f"RCPT TO:<{mail_to}>")
        if code not in (250, 251):
            self._reset()
            raise Refused(code, text, f"{mail_to}: ")
        code, text = self.command("DATA")
        if code != 354:
            self._reset()
            raise Refused(code, text)
        self.sock.sendall(stuffed(data) + b"." + CRLF)
        code, text = self.reply()
        if code != 250:
            raise Refused(code, text)

    def quit(self) -> None:
        try:
            if self.sock is not None:
                self.command("QUIT")
        except (OSError, TransportFailure):
            pass  # the messages' outcomes are known: a server gone before QUIT changes none of them
        finally:
            self.close()

    def close(self) -> None:
        for thing in (self.reader, self.sock):
            if thing is not None:
                thing.close()
        self.sock = self.reader = None

    def command(self, line: str) -> tuple[int, str]:
        self.sock.sendall(line.encode("ascii") + CRLF)
        return self.reply()

    def reply(self) -> tuple[int, str]:
        """A (possibly multi-line) reply: `250-...` lines continue, `250 ...` ends it."""
        lines = []
        while True:
            line = self.reader.readline(8192)
            if not line.endswith(b"\n"):
                raise TransportFailure("connection unexpectedly closed", False, FIX_REACH)
            lines.append(line[4:].strip().decode("utf-8", "replace"))
            if line[3:4] != b"-":
                break
        try:
            return int(line[:3]), " ".join(lines)
        except ValueError:
            raise TransportFailure(f"not an SMTP reply: {line[:60]!r}", False, FIX_REACH) from None

    def _reset(self) -> None:
        self.command("RSET")


def connected(host: str | bytes, port: int, timeout: float) -> _socket.socket:
    """socket.create_connection: each address the name resolves to in turn; the last error if none answers."""
    error: OSError | None = None
    for family, kind, proto, _, address in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"{host!r} resolves to no address")


class LineReader:
    """socket.makefile("rb").readline(limit): a line up to and including its LF, at most `limit` bytes; shorter
    without LF when the peer closed the connection."""

    def __init__(self, sock: _socket.socket):
        self.sock, self.buffer = sock, b""

    def readline(self, limit: int) -> bytes:
        while self.buffer.find(b"\n", 0, limit) < 0 and len(self.buffer) < limit:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buffer += chunk
        end = self.buffer.find(b"\n", 0, limit)
        end = min(limit, len(self.buffer)) if end < 0 else end + 1
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def close(self) -> None:
        self.buffer = b""


def stuffed(data: bytes) -> bytes:
    """RFC 5321 section 4.5.2: a line starting with '.' gets another; the data ends in CRLF."""
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\n.", b"\n..")  # as smtplib does: after any line end
    return data if data.endswith(CRLF) else data + CRLF
