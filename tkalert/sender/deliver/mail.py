"""Mail format: wrap a sealed message into the RFC 5322 mail the mail transports (smtp, sendmail, microsoft365) send.

Three bodies:
- `pgpmime` (default): RFC 3156 section 4, multipart/encrypted; protocol="application/pgp-encrypted" with the
  "Version: 1" control part first and the armored OpenPGP message as application/octet-stream second.
- `inline`: the armored message as a text/plain body, as TKalert 1.5's receiver expects (`format = inline`).
- not encrypted (`--disable-gpg-encryption`): the XML document as a text/xml body, whatever the format says.
With `attach_key = yes` (the default) an encrypted body travels as the first part of a multipart/mixed whose second
part is this system's armored public key (application/pgp-keys, RFC 3156 section 7), so the receiver can pin the
key on first contact; the HTTPS transport posts the same multipart/mixed entity (`entity`).
No personal data in plaintext headers (1.5 put the contact name in Subject and From): the Subject names only the
message type, and `X-Tkalert-Message-Id` carries the message id so a receiver can deduplicate before it decrypts.

`mail_bytes` writes the encrypted mail directly as bytes: the `email` package costs the hook more than the rest of
the delivery. `compose` builds the same mail with `email` (the unencrypted body, unusual header values, and the
test that proves both agree apart from Date and the boundaries).
"""

from __future__ import annotations

FORMATS = ("pgpmime", "inline")
SUBJECTS = {kind: f"tkalert {kind}" for kind in ("heartbeat", "alert", "test", "report")}
ID_HEADER = "X-Tkalert-Message-Id"
PREAMBLE = "This is an OpenPGP/MIME encrypted message (RFC 3156)."
KEY_FILENAME = "system-key.asc"
KEY_DESCRIPTION = "OpenPGP public key of the sending system"  # RFC 3156 section 7
MAX_HEADER = 78  # RFC 5322 section 2.1.1: longer header lines are folded (compose's business)


def mail_bytes(message, mail_from: str, mail_to: str, format: str = "pgpmime", key: bytes | None = None,
               linesep: str = "\r\n") -> bytes:
    """The whole mail as bytes with `linesep` line ends (CRLF for SMTP, LF for a local sendmail)."""
    head = _head(message, mail_from, mail_to)
    if not message.encrypted or head is None:
        mail = compose(message, mail_from, mail_to, format, key)
        return mail.as_bytes(policy=mail.policy.clone(linesep=linesep))
    if key is None:
        lines = head + _body(message, format)
    else:
        boundary = _boundary()
        lines = [*head, "MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="{boundary}"', "",
                 f"--{boundary}", *_body(message, format, top=False), "", f"--{boundary}", *_key_part(key), "",
                 f"--{boundary}--"]
    return (linesep.join(lines) + linesep).encode("ascii")


def entity(message, key: bytes | None) -> tuple[bytes, str]:
    """The HTTPS body: the armored message alone (as before), or with the key the multipart/mixed MIME entity of
    a mail without its mail headers; returns (body, Content-Type)."""
    if key is None:
        return message.payload, "application/pgp-encrypted"
    boundary = _boundary()
    lines = [f"--{boundary}", *_body(message, "pgpmime", top=False), "", f"--{boundary}", *_key_part(key), "",
             f"--{boundary}--"]
    return ("\r\n".join(lines) + "\r\n").encode("ascii"), f'multipart/mixed; boundary="{boundary}"'


def _head(message, mail_from: str, mail_to: str) -> list[str] | None:
    """The mail headers as `compose` writes them, or None when a value needs encoding or folding."""
    import time

    headers = [f"From: {mail_from}", f"To: {mail_to}",
               f"Subject: {SUBJECTS.get(message.document_type, 'tkalert message')}",
               f"Date: {_date(time.gmtime())}",
               f"Message-ID: <{message.message_id}@tkalert.invalid>", f"{ID_HEADER}: {message.message_id}"]
    if any(len(h) > MAX_HEADER or not h.isascii() or not h.isprintable() for h in headers):
        return None
    return headers


def _date(t) -> str:
    """RFC 5322 section 3.3 in English whatever the locale, as email.utils.format_datetime writes UTC."""
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[t.tm_wday]
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[t.tm_mon - 1]
    return f"{day}, {t.tm_mday:02d} {month} {t.tm_year:04d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def _body(message, format: str, top: bool = True) -> list[str]:
    """The encrypted body's header lines, empty line and content; `top`: it is the whole mail (MIME-Version)."""
    armored = _armor(message).splitlines()
    version = ["MIME-Version: 1.0"] if top else []
    if format == "inline":
        if top:
            return ['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 7bit", *version, "",
                    *armored]
        return ['Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: 7bit", "", *armored]
    boundary = _boundary()
    return [*version, 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";',
            f' boundary="{boundary}"', "", PREAMBLE,
            f"--{boundary}", "Content-Type: application/pgp-encrypted", "Content-Transfer-Encoding: 7bit",
            "Content-Description: PGP/MIME version identification", "", "Version: 1", "",
            f"--{boundary}", "Content-Type: application/octet-stream", "Content-Transfer-Encoding: 7bit",
            'Content-Disposition: inline; filename="encrypted.asc"', "Content-Description: OpenPGP encrypted message",
            "", *armored, "", f"--{boundary}--"]


def _key_part(key: bytes) -> list[str]:
    return ["Content-Type: application/pgp-keys", "Content-Transfer-Encoding: 7bit",
            f'Content-Disposition: attachment; filename="{KEY_FILENAME}"', f"Content-Description: {KEY_DESCRIPTION}",
            "", *key.decode("ascii").splitlines()]


def _boundary() -> str:
    import os

    # email.generator's shape: 15 '=', up to 19 digits, '=='; never a line of armor or of base64
    return "=" * 15 + str(int.from_bytes(os.urandom(8), "big") % 10**19) + "=="


def compose(message, mail_from: str, mail_to: str, format: str = "pgpmime", key: bytes | None = None):
    """The same mail as an `email.message.EmailMessage` (policy SMTP)."""
    mail = _headers(message, mail_from, mail_to)
    if not message.encrypted:
        mail.set_content(message.payload, maintype="text", subtype="xml", cte=_cte(message.payload))
        return mail
    body = mail if key is None else _part()
    if format == "inline":
        body.set_content(_armor(message), cte="7bit")
    else:
        _pgp_mime(body, _armor(message))
    if key is not None:
        mail.set_type("multipart/mixed")
        del body["MIME-Version"]
        keypart = _part()
        keypart.set_content(key, maintype="application", subtype="pgp-keys", cte="7bit", disposition="attachment",
                            filename=KEY_FILENAME)
        keypart["Content-Description"] = KEY_DESCRIPTION
        del keypart["MIME-Version"]
        mail.attach(body)
        mail.attach(keypart)
    return mail


def payload_of(mail) -> bytes:
    """The sealed payload back out of a mail in any of its bodies, with or without the attached key (for a
    receiver, the demo, tests)."""
    if mail.get_content_type() == "multipart/mixed":
        mail = next(iter(mail.iter_parts()))
    if mail.get_content_type() == "multipart/encrypted":
        parts = [p for p in mail.iter_parts() if p.get_content_type() == "application/octet-stream"]
        if len(parts) != 1:
            raise ValueError("multipart/encrypted without exactly one application/octet-stream part (RFC 3156)")
        content = parts[0].get_content()
    else:
        content = mail.get_content()
    return content.encode("utf-8") if isinstance(content, str) else content


def attached_key(mail) -> bytes | None:
    """The armored public key a mail carries (application/pgp-keys in a multipart/mixed), or None."""
    if mail.get_content_type() != "multipart/mixed":
        return None
    keys = [p for p in mail.iter_parts() if p.get_content_type() == "application/pgp-keys"]
    return keys[0].get_payload(decode=True) if keys else None


def _part():
    from email import policy
    from email.message import EmailMessage

    return EmailMessage(policy=policy.SMTP)


def _headers(message, mail_from: str, mail_to: str):
    from email.utils import formatdate

    mail = _part()
    mail["From"] = mail_from
    mail["To"] = mail_to
    mail["Subject"] = SUBJECTS.get(message.document_type, "tkalert message")
    mail["Date"] = formatdate(usegmt=True)
    # Derived from the message id alone: make_msgid would put this machine's host name into a header.
    mail["Message-ID"] = f"<{message.message_id}@tkalert.invalid>"
    mail[ID_HEADER] = message.message_id
    return mail


def _pgp_mime(mail, armored: str) -> None:
    mail.set_type("multipart/encrypted")
    mail.set_param("protocol", "application/pgp-encrypted")
    mail.preamble = PREAMBLE
    control = _part()
    control.set_content(b"Version: 1\r\n", maintype="application", subtype="pgp-encrypted", cte="7bit")
    control["Content-Description"] = "PGP/MIME version identification"
    body = _part()
    body.set_content(armored.encode("ascii"), maintype="application", subtype="octet-stream", cte="7bit",
                     disposition="inline", filename="encrypted.asc")
    body["Content-Description"] = "OpenPGP encrypted message"
    for part in (control, body):
        del part["MIME-Version"]
        mail.attach(part)


def _armor(message) -> str:
    armored = message.payload.decode("ascii", "strict")  # armor is 7-bit by definition (RFC 4880 section 6)
    return armored if armored.endswith("\n") else armored + "\n"


def _cte(payload: bytes) -> str:
    return "7bit" if payload.isascii() and max(map(len, payload.splitlines()), default=0) <= 998 else "base64"
