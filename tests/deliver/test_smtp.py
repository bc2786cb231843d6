"""SMTP transport against a real aiosmtpd server: security modes, AUTH, and how failures are judged."""

from __future__ import annotations

import time

import pytest

from tkalert.sender.deliver import open_transport
from tkalert.errors import ConfigError


def smtp(port, **options):
    return ("relay", "smtp", {"host": "127.0.0.1", "port": str(port), "mail_to": "support@vendor.example",
                              "mail_from": "tkalert@customer.example", **options})


def deliver(settings, messages):
    return open_transport(settings.destinations[0], settings).deliver(messages)


def test_plain_smtp_delivers_a_batch_over_one_connection(smtp_server, settings_with, sealed):
    server = smtp_server()
    outcomes = deliver(settings_with(smtp(server.port)), [sealed(1), sealed(2)])
    assert [o.delivered for o in outcomes] == [True, True]
    assert [m.rcpt_tos for m in server.mails] == [["support@vendor.example"]] * 2
    assert [m.mail_from for m in server.mails] == ["tkalert@customer.example"] * 2


@pytest.mark.parametrize("auth", ["plain", "login", "auto"])
def test_starttls_with_ca_file_and_password_file(smtp_server, settings_with, sealed, certificate, auth):
    server = smtp_server(security="starttls", auth=True)
    relay = smtp(server.port, security="starttls", ca_file=str(certificate.ca_file), username=server.user,
                 password_file="smtp.password", auth=auth)
    [outcome] = deliver(settings_with(relay), [sealed()])
    assert outcome.delivered, outcome.error
    assert len(server.mails) == 1
    [(mechanism, user)] = server.logins
    assert user == server.user
    assert mechanism in ({"PLAIN", "LOGIN"} if auth == "auto" else {auth.upper()})


def test_smtps_with_ca_file_and_login(smtp_server, settings_with, sealed, certificate):
    server = smtp_server(security="smtps", auth=True)
    relay = smtp(server.port, security="smtps", ca_file=str(certificate.ca_file), username=server.user,
                 password_file="smtp.password", auth="login")
    [outcome] = deliver(settings_with(relay), [sealed()])
    assert outcome.delivered, outcome.error
    assert server.logins == [("LOGIN", server.user)]


def test_smtps_with_pinned_fingerprint_needs_no_ca(smtp_server, settings_with, sealed, certificate):
    server = smtp_server(security="smtps")
    pin = ":".join(certificate.sha256[i:i + 2] for i in range(0, 64, 2)).upper()  # as openssl prints it
    [outcome] = deliver(settings_with(smtp(server.port, security="smtps", pin_sha256=pin)), [sealed()])
    assert outcome.delivered, outcome.error


def test_pin_mismatch_is_permanent_and_no_password_is_sent(smtp_server, settings_with, sealed, other_certificate):
    server = smtp_server(security="starttls", auth=True)
    relay = smtp(server.port, security="starttls", pin_sha256=other_certificate.sha256, username=server.user,
                 password_file="smtp.password")
    [outcome] = deliver(settings_with(relay), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, True)
    assert "matches no pinned fingerprint" in outcome.error
    assert server.logins == [] and server.mails == []


def test_unknown_ca_is_refused_by_default(smtp_server, settings_with, sealed):
    server = smtp_server(security="starttls")
    [outcome] = deliver(settings_with(smtp(server.port, security="starttls")), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, True)
    assert "certificate refused" in outcome.error


def test_wrong_password_is_permanent(smtp_server, settings_with, sealed, certificate):
    server = smtp_server(security="starttls", auth=True)
    relay = smtp(server.port, security="starttls", ca_file=str(certificate.ca_file), username=server.user,
                 password_file="wrong.password", auth="plain")
    outcomes = deliver(settings_with(relay), [sealed(1), sealed(2)])
    assert [(o.delivered, o.permanent) for o in outcomes] == [(False, True)] * 2
    assert "535" in outcomes[0].error
    assert server.mails == []


def test_starttls_not_offered_is_permanent(smtp_server, settings_with, sealed):
    server = smtp_server()
    [outcome] = deliver(settings_with(smtp(server.port, security="starttls", verify="no")), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, True)
    assert server.mails == []


def test_refused_port_is_temporary(refused_port, settings_with, sealed):
    [outcome] = deliver(settings_with(smtp(refused_port)), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, False)
    assert outcome.error == f"cannot connect to 127.0.0.1:{refused_port}: connection refused"


@pytest.mark.parametrize("security", ["smtps", "none"])
def test_connection_dropped_during_handshake_or_greeting_is_temporary(hangup_port, settings_with, sealed, security):
    [outcome] = deliver(settings_with(smtp(hangup_port, security=security, verify="no")), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, False), outcome.error


@pytest.mark.parametrize("reply, permanent", [("451 4.3.0 mailbox busy, try later", False),
                                              ("550 5.1.1 no such mailbox", True)])
def test_server_reply_decides_temporary_or_permanent(smtp_server, settings_with, sealed, reply, permanent):
    server = smtp_server(reply=reply)
    [outcome] = deliver(settings_with(smtp(server.port)), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, permanent)
    assert reply.split()[0] in outcome.error


def test_silent_server_times_out_as_temporary(silent_port, settings_with, sealed):
    started = time.monotonic()
    [outcome] = deliver(settings_with(smtp(silent_port, timeout="0.3")), [sealed()])
    assert time.monotonic() - started < 3
    assert (outcome.delivered, outcome.permanent) == (False, False)
    assert "timed out" in outcome.error


@pytest.mark.parametrize("options, words", [
    ({"pasword_file": "smtp.password"}, ["'pasword_file'", "known:"]),
    ({"username": "alice", "password_file": "smtp.password"}, ["security = starttls or smtps"]),
    ({"username": "alice", "security": "smtps", "password_file": "missing"}, ["cannot read password_file"]),
    ({"security": "tls"}, ["security must be one of none, starttls, smtps"]),
    ({"pin_sha256": "abcd"}, ["not a SHA-256 fingerprint"]),
    ({"timeout": "soon"}, ["timeout must be a duration above 0"]),
    ({"format": "html"}, ["format must be one of pgpmime, inline"]),
])
def test_bad_options_are_refused_with_the_fix(settings_with, options, words):
    settings = settings_with(smtp(25, **options))
    with pytest.raises(ConfigError) as raised:
        open_transport(settings.destinations[0], settings)
    assert "[destination relay]" in str(raised.value)
    for word in words:
        assert word in str(raised.value)


def test_missing_recipient_is_a_config_error(settings_with, sealed):
    settings = settings_with(("relay", "smtp", {"host": "127.0.0.1"}))
    with pytest.raises(ConfigError, match="mail_to is not set"):
        deliver(settings, [sealed()])
