"""Mail format: wrap a sealed message into the RFC 5322 mail the mail transports (smtp, sendmail, microsoft365) send.

Three bodies:
- `pgpmime` (default): RFC 3156 section 4, multipart/encrypted; protocol="application/pgp-encrypted" with the
  "Version: 1" control part first and the armored OpenPGP message as application/octet-stream second.
- `inline`: the armored message as a text/plain body, as TKalert 1.5's receiver expects (`format = inline`).
- not encrypted (`--disable-gpg-encryption`): the XML document as a text/xml body, whatever the format says.
No personal data in plaintext headers (1.5 put the contact name in Subject and From): the Subject names only the
message type, and `X-Tkalert-Message-Id` carries the message id so a receiver can deduplicate before it decrypts.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import formatdate

from tkalert.sender.message import SealedMessage

FORMATS = ("pgpmime", "inline")
SUBJECTS = {kind: f"tkalert {kind}" for kind in ("heartbeat", "alert", "test", "report")}
ID_HEADER = "X-Tkalert-Message-Id"


def compose(message: SealedMessage, mail_from: str, mail_to: str, format: str = "pgpmime") -> EmailMessage:
    mail = _headers(message, mail_from, mail_to)
    if not message.encrypted:
        mail.set_content(message.payload, maintype="text", subtype="xml", cte=_cte(message.payload))
    elif format == "inline":
        mail.set_content(_armor(message), cte="7bit")
    else:
        _pgp_mime(mail, _armor(message))
    return mail


def payload_of(mail: EmailMessage) -> bytes:
    """The sealed payload back out of a mail in any of the three bodies (for a receiver, the demo, tests)."""
    if mail.get_content_type() == "multipart/encrypted":
        parts = [p for p in mail.iter_parts() if p.get_content_type() == "application/octet-stream"]
        if len(parts) != 1:
            raise ValueError("multipart/encrypted without exactly one application/octet-stream part (RFC 3156)")
        content = parts[0].get_content()
    else:
        content = mail.get_content()
    return content.encode("utf-8") if isinstance(content, str) else content


def _headers(message: SealedMessage, mail_from: str, mail_to: str) -> EmailMessage:
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = mail_from
    mail["To"] = mail_to
    mail["Subject"] = SUBJECTS.get(message.document_type, "tkalert message")
    mail["Date"] = formatdate(usegmt=True)
    # Derived from the message id alone: make_msgid would put this machine's host name into a header.
    mail["Message-ID"] = f"<{message.message_id}@tkalert.invalid>"
    mail[ID_HEADER] = message.message_id
    return mail


def _pgp_mime(mail: EmailMessage, armored: str) -> None:
    mail.set_type("multipart/encrypted")
    mail.set_param("protocol", "application/pgp-encrypted")
    mail.preamble = "This is an OpenPGP/MIME encrypted message (RFC 3156)."
    control = EmailMessage(policy=policy.SMTP)
    control.set_content(b"Version: 1\r\n", maintype="application", subtype="pgp-encrypted", cte="7bit")
    control["Content-Description"] = "PGP/MIME version identification"
    body = EmailMessage(policy=policy.SMTP)
    body.set_content(armored.encode("ascii"), maintype="application", subtype="octet-stream", cte="7bit",
                     disposition="inline", filename="encrypted.asc")
    body["Content-Description"] = "OpenPGP encrypted message"
    for part in (control, body):
        del part["MIME-Version"]
        mail.attach(part)


def _armor(message: SealedMessage) -> str:
    armored = message.payload.decode("ascii", "strict")  # armor is 7-bit by definition (RFC 4880 section 6)
    return armored if armored.endswith("\n") else armored + "\n"


def _cte(payload: bytes) -> str:
    return "7bit" if payload.isascii() and max(map(len, payload.splitlines()), default=0) <= 998 else "base64"
