"""ASCII armor read in Python before gpg runs (RFC 4880 section 6): what 1.5's GnuPG 1.4 wrote still reads."""

from __future__ import annotations

import base64

import pytest

from tkalert.openpgp.armor import ArmorError, dearmor, first_packet_tag

PACKETS = bytes([0x85, 0x01, 0x0C]) + b"\x03" * 12  # an old-format packet, tag 1 (public-key encrypted session key)


def armored(body: bytes, headers: bytes = b"", crc: bytes = b"=AbCd\n") -> bytes:
    return (b"-----BEGIN PGP MESSAGE-----\n" + headers + b"\n" + base64.encodebytes(body) + crc
            + b"-----END PGP MESSAGE-----\n")


def test_gnupg_1_4_armor_headers_and_text_around_it():
    text = b"Hello support,\n\n" + armored(PACKETS, b"Version: GnuPG v1.4.11 (GNU/Linux)\nComment: tkalert\n")
    assert dearmor(text + b"\n-- \nsignature\n") == PACKETS
    assert first_packet_tag(PACKETS) == 1


def test_crc_line_is_optional():
    assert dearmor(armored(PACKETS, crc=b"")) == PACKETS


def test_new_format_packet_tag():
    assert first_packet_tag(bytes([0xC3, 0x0D])) == 3 and first_packet_tag(b"plain") is None


@pytest.mark.parametrize("text, reason", (
    (b"no armor here", "garbage-armor"),
    (b"-----BEGIN PGP MESSAGE-----\n\nhF4DAAAA\n", "truncated-armor"),
    (b"-----BEGIN PGP MESSAGE-----\n\n*** not base64 ***\n-----END PGP MESSAGE-----\n", "garbage-armor"),
    (b"-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n", "garbage-armor"),
    (b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n<heartbeat/>\n", "not-encrypted"),
))
def test_refusals(text, reason):
    with pytest.raises(ArmorError) as refused:
        dearmor(text)
    assert refused.value.reason == reason
