"""The mail around a sealed message, read from raw RFC 822 bytes (no gpg): what MTAs do to a body is undone."""

from __future__ import annotations

import base64
import quopri

import pytest

from tkalert.receiver.envelope import read_envelope
from tkalert.receiver.opened import Refused

ARMOR = b"-----BEGIN PGP MESSAGE-----\r\n\r\nhF4DAAAA\r\n=abcd\r\n-----END PGP MESSAGE-----\r\n"
KEY = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\nmDMEAAAA\r\n-----END PGP PUBLIC KEY BLOCK-----\r\n"
ID = "X-Tkalert-Message-Id: 5a3a0a54-0d4e-4e0c-9a64-2f0c7b3a1c11\r\n"


def envelope(raw: bytes):
    return read_envelope(raw, 1 << 20, 1 << 16)


@pytest.mark.parametrize("encoding, body", (("7bit", ARMOR), ("base64", base64.encodebytes(ARMOR)),
                                             ("quoted-printable", quopri.encodestring(ARMOR))))
def test_inline_body_in_any_transfer_encoding(encoding, body):
    raw = f"Content-Type: text/plain\r\nContent-Transfer-Encoding: {encoding}\r\n{ID}\r\n".encode() + body
    found = envelope(raw)
    assert found.payload.replace(b"\r\n", b"\n") == ARMOR.replace(b"\r\n", b"\n")
    assert found.claimed_ids == ("5a3a0a54-0d4e-4e0c-9a64-2f0c7b3a1c11",) and found.attached_key is None


def test_https_body_with_a_base64_key_part():
    raw = (f'Content-Type: multipart/mixed; boundary="k"\r\n{ID}\r\n--k\r\n'
           f"Content-Type: application/pgp-encrypted\r\n\r\n").encode() + ARMOR + (
        b"--k\r\nContent-Type: application/pgp-keys\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(KEY) + b"--k--\r\n")
    found = envelope(raw)
    assert found.attached_key.replace(b"\r\n", b"\n") == KEY.replace(b"\r\n", b"\n")


def test_two_claimed_ids_are_both_kept_for_the_id_check():
    raw = f"Content-Type: text/plain\r\n{ID}{ID.replace('5a', '6b')}\r\n".encode() + ARMOR
    assert len(envelope(raw).claimed_ids) == 2


@pytest.mark.parametrize("raw, reason", (
    (b'Content-Type: multipart/encrypted; boundary="b"\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n'
     + ARMOR + b"--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b--\r\n",
     "not-a-tkalert-message"),
    (b'Content-Type: multipart/signed; boundary="b"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n', "not-encrypted"),
    (b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n' + ARMOR
     + b"--b\r\nContent-Type: image/png\r\n\r\nx\r\n--b--\r\n", "not-a-tkalert-message"),
    (b"Content-Type: text/plain\r\n\r\n   \r\n", "empty-body"),
))
def test_shapes_refused(raw, reason):
    with pytest.raises(Refused) as refused:
        envelope(raw)
    assert refused.value.reason == reason
