"""Mail format, read back with `email` as a receiver would: RFC 3156 PGP/MIME, 1.5's inline body, plain XML."""

from __future__ import annotations

import email
from email import policy

from tkalert.sender.deliver.mail import compose

PRIVATE = ("db1.customer.example", "RAID", "CRITICAL", "Testperson", "sys-42")


def parsed(message, format="pgpmime"):
    raw = compose(message, "tkalert@customer.example", "support@vendor.example", format).as_bytes()
    return raw, email.message_from_bytes(raw, policy=policy.default)


def unix(data: bytes) -> bytes:
    """The wire form has CRLF line ends (RFC 5322); the armor was written with LF."""
    return data.replace(b"\r\n", b"\n")


def test_pgp_mime_follows_rfc3156_section_4(sealed):
    _, mail = parsed(sealed())
    assert mail.get_content_type() == "multipart/encrypted"
    assert mail.get_param("protocol") == "application/pgp-encrypted"
    control, body = mail.iter_parts()
    assert control.get_content_type() == "application/pgp-encrypted"
    assert control.get_content().strip() == b"Version: 1"  # RFC 3156: the control part says only this
    assert body.get_content_type() == "application/octet-stream"
    assert unix(body.get_content()) == sealed().payload
    assert len(list(mail.iter_parts())) == 2


def test_inline_is_the_armored_body_as_in_tkalert_1_5(sealed):
    _, mail = parsed(sealed(), "inline")
    assert mail.get_content_type() == "text/plain"
    assert unix(mail.get_content().encode()) == sealed().payload


def test_unencrypted_message_is_plain_xml_whatever_the_format(sealed):
    document = '<?xml version="1.0"?><heartbeat><contact-name>Jürgen</contact-name></heartbeat>'.encode()
    for format in ("pgpmime", "inline"):
        _, mail = parsed(sealed(encrypted=False, payload=document), format)
        assert mail.get_content_type() == "text/xml"
        assert mail.get_payload(decode=True) == document


def test_headers_carry_the_message_id_and_nothing_personal(sealed):
    message = sealed(document_type="alert", plaintext=b"<alert><contact-name>Testperson</contact-name></alert>")
    raw, mail = parsed(message)
    assert mail["X-Tkalert-Message-Id"] == message.message_id
    assert mail["Message-ID"] == f"<{message.message_id}@tkalert.invalid>"
    assert mail["Subject"] == "tkalert alert"
    headers = raw.split(b"\r\n\r\n", 1)[0].decode()
    for word in PRIVATE:
        assert word not in headers
    assert b"Testperson" not in raw and b"db1.customer.example" not in raw


def test_lines_end_in_crlf_for_smtp(sealed):
    raw, _ = parsed(sealed())
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_payload_of_reads_every_body_back(sealed):
    from tkalert.sender.deliver.mail import payload_of

    for message, format in [(sealed(), "pgpmime"), (sealed(), "inline"),
                            (sealed(encrypted=False, payload=b"<heartbeat/>"), "pgpmime")]:
        _, mail = parsed(message, format)
        assert unix(payload_of(mail)) == message.payload
