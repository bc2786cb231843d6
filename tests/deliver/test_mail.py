"""Mail format, read back with `email` as a receiver would: RFC 3156 PGP/MIME, 1.5's inline body, plain XML."""

from __future__ import annotations

import email

import pytest
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


# --- the hook's byte writer against `email` ----------------------------------------------------------------------

KEY = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ1234567890abcdef\n=wxyz\n-----END PGP PUBLIC KEY BLOCK-----\n"


def same_apart_from_date_and_boundaries(raw: bytes) -> bytes:
    import re

    raw = re.sub(rb"Date: [^\r\n]*", b"Date: -", raw)
    boundaries = re.findall(rb'boundary="([^"]+)"', raw)
    for number, boundary in enumerate(boundaries):
        raw = raw.replace(boundary, b"BOUNDARY%d" % number)
    return raw


def structure(mail) -> list:
    """Every part's headers (but Date, boundary) and decoded content, depth first."""
    parts = []
    for part in mail.walk():
        headers = [(k, v) for k, v in part.items() if k != "Date"]
        headers = [(k, v.split(";")[0] if "boundary" in v else v) for k, v in headers]
        content = None if part.is_multipart() else part.get_payload(decode=True)
        parts.append((part.get_content_type(), part.get_param("protocol"), headers, content, part.preamble))
    return parts


@pytest.mark.parametrize("format", ["pgpmime", "inline"])
@pytest.mark.parametrize("key", [None, KEY], ids=["no key", "key"])
def test_byte_writer_makes_what_email_makes_apart_from_date_and_boundary(sealed, format, key):
    from tkalert.sender.deliver.mail import compose, mail_bytes

    message = sealed()
    written = mail_bytes(message, "tkalert@customer.example", "support@vendor.example", format, key)
    composed = compose(message, "tkalert@customer.example", "support@vendor.example", format, key).as_bytes()
    assert same_apart_from_date_and_boundaries(written) == same_apart_from_date_and_boundaries(composed)
    mine, theirs = (email.message_from_bytes(raw, policy=policy.default) for raw in (written, composed))
    assert structure(mine) == structure(theirs)
    assert abs(mine["Date"].datetime.timestamp() - theirs["Date"].datetime.timestamp()) < 60
    assert not mine.defects and all(not part.defects for part in mine.walk())


def test_byte_writer_with_lf_line_ends_for_sendmail(sealed):
    from tkalert.sender.deliver.mail import mail_bytes

    written = mail_bytes(sealed(), "tkalert@customer.example", "support@vendor.example", "pgpmime", KEY, "\n")
    assert b"\r" not in written and written.endswith(b"--\n")


def test_unusual_headers_fall_back_to_email(sealed):
    from tkalert.sender.deliver.mail import mail_bytes

    written = mail_bytes(sealed(), "tkalert@kunde.example", "Süpport <support@vendor.example>", "pgpmime")
    mail = email.message_from_bytes(written, policy=policy.default)
    assert mail["To"].addresses[0].display_name == "Süpport" and written.isascii()


@pytest.mark.parametrize("format", ["pgpmime", "inline"])
def test_attached_key_is_the_second_part_of_multipart_mixed(sealed, format):
    """The shape the receiver's trust on first use reads (RFC 3156 section 7)."""
    from tkalert.sender.deliver.mail import attached_key, mail_bytes, payload_of

    raw = mail_bytes(sealed(), "tkalert@customer.example", "support@vendor.example", format, KEY)
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert mail.get_content_type() == "multipart/mixed"
    first, second = mail.iter_parts()
    assert first.get_content_type() == ("multipart/encrypted" if format == "pgpmime" else "text/plain")
    assert second.get_content_type() == "application/pgp-keys" and second["Content-Transfer-Encoding"] == "7bit"
    assert unix(attached_key(mail)) == KEY
    assert unix(payload_of(mail)) == sealed().payload


def test_https_entity_is_the_same_multipart_mixed(sealed):
    from tkalert.sender.deliver.mail import attached_key, entity, payload_of

    body, content_type = entity(sealed(), KEY)
    assert content_type.startswith("multipart/mixed; boundary=")
    mail = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body,
                                    policy=policy.default)
    assert [p.get_content_type() for p in mail.iter_parts()] == ["multipart/encrypted", "application/pgp-keys"]
    assert unix(payload_of(mail)) == sealed().payload and unix(attached_key(mail)) == KEY
    assert entity(sealed(), None) == (sealed().payload, "application/pgp-encrypted")
