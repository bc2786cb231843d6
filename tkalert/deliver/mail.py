"""Mail format: wrap a sealed payload into an RFC 822 message.

No personal data in plaintext headers (TKalert 1.5 put the contact name in Subject and From): the Subject names
only the message type, and `X-Tkalert-Message-Id` carries the message id so a receiver can deduplicate before it
decrypts. The body is the ASCII-armored OpenPGP message, as TKalert 1.5's receiver expects.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from tkalert.message import SealedMessage

SUBJECTS = {"heartbeat": "tkalert heartbeat", "alert": "tkalert alert", "test": "tkalert test", "report": "tkalert report"}


def inline_mail(message: SealedMessage, mail_from: str, mail_to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = mail_from
    mail["To"] = mail_to
    mail["Subject"] = SUBJECTS.get(message.kind, "tkalert message")
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(idstring=message.message_id, domain="tkalert")
    mail["X-Tkalert-Message-Id"] = message.message_id
    mail.set_content(message.payload.decode("ascii", "replace"), cte="7bit")
    return mail
