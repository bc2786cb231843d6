"""Failure: turn what went wrong on the wire into one line and whether retrying can help.

Temporary (retry later, maybe elsewhere): connection refused or dropped, time-outs, name lookup failures,
a TLS handshake broken off, SMTP 4xx. Permanent (a person must change something): SMTP 5xx including 535 bad
credentials, a server lacking STARTTLS or AUTH, a certificate that fails verification or matches no pin.
The spool keeps retrying temporary failures and reports permanent ones at once.
"""

from __future__ import annotations

import sys

from tkalert.errors import one_line


class TransportFailure(Exception):
    """Raised inside a transport for a failure it has already judged (a token refused, sendmail's exit code)."""

    def __init__(self, reason: str, permanent: bool, fix: str | None = None):
        super().__init__(reason)
        self.reason, self.permanent, self.fix = reason, permanent, fix


class Failure:
    __slots__ = ("reason", "permanent", "fix")

    def __init__(self, reason: str, permanent: bool, fix: str | None = None):
        self.reason, self.permanent = reason, permanent
        self.fix = fix  # what a person can do about it, shown by `tkalert test`

    def __repr__(self) -> str:
        return f"Failure({self.reason!r}, permanent={self.permanent}, fix={self.fix!r})"


def classify(exc: BaseException) -> Failure:
    """The one place that knows which exceptions are worth a retry.

    smtplib and ssl are looked at only when loaded: an exception of theirs cannot exist before, and the plain SMTP
    path of the hook (tkalert.sender.deliver.plainsmtp) never loads them."""
    if isinstance(exc, TransportFailure):
        return Failure(exc.reason, exc.permanent, exc.fix)
    smtplib, ssl = sys.modules.get("smtplib"), sys.modules.get("ssl")
    judged = (smtplib and _smtp_failure(smtplib, exc)) or (ssl and _ssl_failure(ssl, exc))
    if judged:
        return judged
    if isinstance(exc, TimeoutError):
        return Failure("timed out", False, FIX_REACH)
    if isinstance(exc, ConnectionRefusedError):
        return Failure("connection refused", False, FIX_REACH)
    return Failure(one_line(exc) or type(exc).__name__, False, FIX_REACH)


def _smtp_failure(smtplib, exc: BaseException) -> Failure | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        text = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items())
        return Failure(text, bool(codes) and all(code >= 500 for code in codes))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Failure(f"{exc.smtp_code} {_text(exc.smtp_error)}", True, FIX_CREDENTIALS)
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure(f"{exc.smtp_code} {_text(exc.smtp_error)}", exc.smtp_code >= 500)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Failure(f"server does not support it: {one_line(exc)}", True, FIX_SECURITY)
    return None


def _ssl_failure(ssl, exc: BaseException) -> Failure | None:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failure(f"certificate refused: {_ssl_text(ssl, exc)}", True, FIX_VERIFY)
    if isinstance(exc, ssl.SSLError):
        return Failure(f"TLS handshake failed: {_ssl_text(ssl, exc)}", False, FIX_SECURITY)
    return None


FIX_REACH = "check host and port, that the server runs, and that a firewall lets this machine through"
FIX_CREDENTIALS = "check username and the password (or client secret) in the file the config names"
FIX_SECURITY = "check `security` (none, starttls or smtps) and `port` against what the server offers"
FIX_PIN = (
    "if the server's certificate was renewed on purpose, add its fingerprint to pin_sha256 "
    "(two pins are allowed during a rollover); otherwise someone may be intercepting the connection"
)
FIX_VERIFY = "give the CA that signed the server's certificate in ca_file, or pin its fingerprint with pin_sha256"


def _text(value) -> str:
    return one_line(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)


def _ssl_text(ssl, exc) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return exc.verify_message
    return one_line(exc.args[-1] if exc.args and isinstance(exc.args[-1], str) else exc)

