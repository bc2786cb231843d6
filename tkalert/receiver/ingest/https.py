"""The HTTPS door for the sender's `https` transport (tkalert.sender.deliver.https): a small WSGI application.

The sender POSTs the armored OpenPGP message (`application/pgp-encrypted`, or `application/xml` when unencrypted),
or with its public key attached (`attach_key`, RFC 3156 section 7) a `multipart/mixed` entity of the two, with its
message id in `X-Tkalert-Message-Id`. The raw body is stored as a synthetic RFC 822 mail (those two headers, the
multipart boundary kept, a blank line, the body), so every door hands the workers the same kind of bytes; then 202.
Answers the sender's transport understands: 413 over the size limit and 400 for a body that is not one
(permanent), 503 when the store cannot take it (temporary: the sender's spool retries). TLS is the WSGI server's
(gunicorn --certfile; `serve` starts it): the certificate is the one whose SHA-256 the senders pin.
"""

from __future__ import annotations

import os
import re

from tkalert.errors import one_line

ID_HEADER = "X-Tkalert-Message-Id"
TYPES = ("application/pgp-encrypted", "application/xml", "multipart/mixed")
BOUNDARY = re.compile(r'boundary="?([0-9A-Za-z\'()+_,./:=? -]{1,70})"?', re.IGNORECASE)  # RFC 2046 bchars
SAFE_ID = re.compile(r"[A-Za-z0-9._@:+-]{1,200}")


def synthetic_mail(content_type: str, message_id: str | None, body: bytes) -> bytes:
    head = f"Content-Type: {content_type}\r\n"
    if message_id:
        head += f"{ID_HEADER}: {message_id}\r\n"
    return head.encode("ascii") + b"\r\n" + body


class IngestApp:
    """WSGI: POST stores and answers 202, anything else is 405."""

    def __init__(self, store_dir, size_limit: int):
        self.store_dir, self.size_limit = store_dir, size_limit

    def __call__(self, environ, start_response):
        status, text = self.answer(environ)
        body = (text + "\n").encode("utf-8")
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    def answer(self, environ) -> tuple[str, str]:
        from tkalert.receiver.ingest.store import store_raw

        if environ.get("REQUEST_METHOD") != "POST":
            return "405 Method Not Allowed", "POST a sealed tkalert message"
        full_type = environ.get("CONTENT_TYPE") or ""
        content_type = full_type.split(";")[0].strip().lower()
        if content_type == "multipart/mixed":
            boundary = BOUNDARY.search(full_type)
            if boundary is None:
                return "400 Bad Request", "multipart/mixed without a boundary"
            content_type = f'multipart/mixed; boundary="{boundary.group(1).rstrip()}"'
        message_id = (environ.get("HTTP_X_TKALERT_MESSAGE_ID") or "").strip()
        length = environ.get("CONTENT_LENGTH") or ""
        bad_id = message_id and not SAFE_ID.fullmatch(message_id)
        if content_type.split(";")[0] not in TYPES or not length.isdigit() or bad_id:
            return "400 Bad Request", f"expected a Content-Length and Content-Type {' or '.join(TYPES)}"
        if int(length) > self.size_limit:
            return "413 Content Too Large", f"messages are limited to {self.size_limit} bytes"
        body = environ["wsgi.input"].read(int(length))
        if len(body) != int(length):
            return "400 Bad Request", "the body ended before Content-Length"
        try:
            stored = store_raw(self.store_dir, synthetic_mail(content_type, message_id or None, body), "https")
        except OSError as exc:
            return "503 Service Unavailable", f"cannot store the message now: {one_line(exc.strerror or exc)}"
        return "202 Accepted", f"stored as {stored.path.name}"


def application_from_env():
    """For gunicorn (`tkalert.receiver.ingest.https:application_from_env()`): the config in TKALERT_RECEIVER_CONFIG."""
    from tkalert.receiver.config import load_config

    config = load_config(os.environ.get("TKALERT_RECEIVER_CONFIG"))
    return IngestApp(config.store_dir, config.size_limit)
