"""HTTPS transport against a real TLS receiver: pins, rollover, trust on first use, and status codes."""

from __future__ import annotations

import pytest

from tkalert.sender.deliver import open_transport
from tkalert.errors import ConfigError


def https(url, **options):
    return ("vendor", "https", {"url": url, **options})


def deliver(settings, messages):
    return open_transport(settings.destinations[0], settings).deliver(messages)


def test_pinned_certificate_is_accepted_and_the_batch_shares_a_connection(https_receiver, settings_with, sealed,
                                                                          certificate):
    receiver = https_receiver()
    settings = settings_with(https(receiver.url, pin_sha256=certificate.sha256))
    outcomes = deliver(settings, [sealed(1), sealed(2)])
    assert [o.delivered for o in outcomes] == [True, True]
    path, headers, body = receiver.posts[0]
    assert path == "/tkalert/v1/messages"
    assert headers["X-Tkalert-Message-Id"] == sealed(1).message_id
    assert headers["Content-Type"] == "application/pgp-encrypted"
    assert body == sealed(1).payload


def test_another_certificate_is_refused_before_anything_is_sent(https_receiver, settings_with, sealed,
                                                                other_certificate):
    receiver = https_receiver()
    [outcome] = deliver(settings_with(https(receiver.url, pin_sha256=other_certificate.sha256)), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, True)
    assert "matches no pinned fingerprint" in outcome.error
    assert receiver.posts == []


def test_two_pins_accept_the_old_and_the_new_certificate(https_receiver, settings_with, sealed, certificate,
                                                         other_certificate):
    pins = f"{certificate.sha256}, {other_certificate.sha256}"
    for cert in (certificate, other_certificate):
        receiver = https_receiver(cert=cert)
        [outcome] = deliver(settings_with(https(receiver.url, pin_sha256=pins)), [sealed()])
        assert outcome.delivered, outcome.error


def test_trust_on_first_use_records_the_first_and_refuses_a_changed_certificate(https_receiver, settings_with,
                                                                                sealed, certificate,
                                                                                other_certificate):
    first, changed = https_receiver(cert=certificate), https_receiver(cert=other_certificate)
    settings = settings_with(https(first.url, tofu="yes"))
    [outcome] = deliver(settings, [sealed(1)])
    assert outcome.delivered, outcome.error
    recorded = settings.state_dir / "tofu-vendor.sha256"
    assert recorded.read_text().replace(":", "").strip().lower() == certificate.sha256

    [again] = deliver(settings, [sealed(2)])
    assert again.delivered

    [refused] = deliver(settings_with(https(changed.url, tofu="yes")), [sealed(3)])
    assert (refused.delivered, refused.permanent) == (False, True)
    assert changed.posts == []


def test_verified_chain_with_ca_file(https_receiver, settings_with, sealed, certificate):
    receiver = https_receiver()
    [outcome] = deliver(settings_with(https(receiver.url, ca_file=str(certificate.ca_file))), [sealed()])
    assert outcome.delivered, outcome.error


def test_unknown_ca_without_pin_is_refused(https_receiver, settings_with, sealed):
    receiver = https_receiver()
    [outcome] = deliver(settings_with(https(receiver.url)), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, True)
    assert "certificate refused" in outcome.error


@pytest.mark.parametrize("status, permanent", [(500, False), (503, False), (408, False), (429, False),
                                               (400, True), (403, True), (404, True)])
def test_status_decides_temporary_or_permanent(https_receiver, settings_with, sealed, certificate, status,
                                               permanent):
    receiver = https_receiver(status=status)
    [outcome] = deliver(settings_with(https(receiver.url, pin_sha256=certificate.sha256)), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, permanent)
    assert f"HTTP {status}" in outcome.error


def test_refused_and_silent_receivers_are_temporary(refused_port, silent_port, settings_with, sealed):
    for port in (refused_port, silent_port):
        settings = settings_with(https(f"https://127.0.0.1:{port}/", verify="no", timeout="0.3"))
        [outcome] = deliver(settings, [sealed()])
        assert (outcome.delivered, outcome.permanent) == (False, False)


def test_plain_document_goes_as_xml(https_receiver, settings_with, sealed, certificate):
    receiver = https_receiver()
    message = sealed(encrypted=False, payload=b"<heartbeat/>")
    [outcome] = deliver(settings_with(https(receiver.url, pin_sha256=certificate.sha256)), [message])
    assert outcome.delivered
    assert receiver.posts[0][1]["Content-Type"] == "application/xml"


@pytest.mark.parametrize("options, words", [
    ({"url": "http://vendor.example/in"}, "url must be an https:// URL"),
    ({"tofu": "yes", "pin_sha256": "ab" * 32}, "either pin_sha256 or tofu"),
    ({"pin_sha256": ",".join(["ab" * 32] * 3)}, "one or two fingerprints"),
    ({"mail_to": "x@example.com"}, "unknown https option 'mail_to'"),
])
def test_bad_options_are_refused(settings_with, options, words):
    options = dict(options)
    settings = settings_with(https(options.pop("url", "https://127.0.0.1:1/in"), **options))
    with pytest.raises(ConfigError, match=words):
        open_transport(settings.destinations[0], settings)


def test_with_the_system_key_the_body_is_the_multipart_mixed_entity(https_receiver, settings_with, sealed,
                                                                    certificate):
    """attach_key = yes: the same multipart/mixed entity a mail carries, its Content-Type in the request header;
    the key comes from the export kept in state_dir (no gpg here)."""
    import email
    from email import policy

    from tkalert.sender.deliver.mail import attached_key, payload_of

    receiver = https_receiver()
    fingerprint = "A" * 40
    settings = settings_with(https(receiver.url, pin_sha256=certificate.sha256)).replace(system_key=fingerprint)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    key = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n"
    (settings.state_dir / f"system-key-{fingerprint}.asc").write_bytes(key)
    [outcome] = deliver(settings, [sealed()])
    assert outcome.delivered, outcome.error
    _, headers, body = receiver.posts[0]
    assert headers["Content-Type"].startswith("multipart/mixed; boundary=")
    assert headers["X-Tkalert-Message-Id"] == sealed().message_id
    entity = email.message_from_bytes(f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body,
                                      policy=policy.default)
    assert [p.get_content_type() for p in entity.iter_parts()] == ["multipart/encrypted", "application/pgp-keys"]
    assert payload_of(entity).replace(b"\r\n", b"\n") == sealed().payload
    assert attached_key(entity).replace(b"\r\n", b"\n") == key
    [outcome] = deliver(settings.replace(attach_key=False), [sealed(2)])
    assert receiver.posts[1][1]["Content-Type"] == "application/pgp-encrypted"
