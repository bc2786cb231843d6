"""Probe: the step-by-step set-up test behind `tkalert test`, one `Step` per stage of a connection.

A transport's `probe()` walks the same stages its `deliver()` does (token, connect, TLS with the certificate's
SHA-256 fingerprint, authenticate) and stops at the first that fails, saying what went wrong and what to do.
It never sends a message. Like KBR's test protocol, each line names one stage so an admin knows where to look.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tkalert.sender.deliver.failure import TransportFailure, classify

EXPECTED = (OSError, smtplib.SMTPException, TransportFailure)


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def run_steps(stages: Iterable[tuple[str, Callable[[], str]]]) -> list[Step]:
    """Run each stage; a stage returns its detail line or raises an expected failure, which ends the walk."""
    steps = []
    for name, stage in stages:
        try:
            steps.append(Step(name, True, stage()))
        except EXPECTED as exc:
            failure = classify(exc)
            steps.append(Step(name, False, failure.reason, failure.fix))
            break
    return steps


def probe_recipient(client: smtplib.SMTP, mail_from: str, mail_to: str | None) -> str:
    """`tkalert test`'s last SMTP stage: MAIL FROM and RCPT TO as a delivery would send them, then RSET (no DATA,
    so nothing is sent). A refused sender or recipient raises what delivery would meet (a 550 is permanent)."""
    if not mail_to:
        raise TransportFailure("mail_to is not set", True, "set mail_to in the destination's section")
    client.ehlo_or_helo_if_needed()  # STARTTLS forgets the first EHLO (RFC 3207 section 4.2)
    code, reply = client.mail(mail_from)
    if code >= 400:
        raise smtplib.SMTPSenderRefused(code, reply, mail_from)
    code, reply = client.rcpt(mail_to)
    if code >= 400:
        client.rset()
        raise smtplib.SMTPRecipientsRefused({mail_to: (code, reply)})
    client.rset()
    return f"server accepts mail from {mail_from} to {mail_to} ({code} {reply.decode('utf-8', 'replace')})"


def peer_fingerprint(host: str, port: int, security: str, timeout: float) -> str | None:
    """The SHA-256 fingerprint of the certificate an SMTP server shows, without trusting it (for the pin_sha256
    line `tkalert test` suggests); None when it cannot be fetched."""
    import socket
    import ssl

    from tkalert.sender.deliver.tls import fingerprint

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        if security == "smtps":
            with socket.create_connection((host, port), timeout=timeout) as sock, \
                    context.wrap_socket(sock, server_hostname=host) as tls:
                return fingerprint(tls.getpeercert(binary_form=True))
        with smtplib.SMTP(host, port, timeout=timeout) as client:
            client.starttls(context=context)
            return fingerprint(client.sock.getpeercert(binary_form=True))
    except EXPECTED:
        return None
