"""Microsoft 365 transport: a token from a local fake identity platform, XOAUTH2 against a real SMTP server."""

from __future__ import annotations

import pytest

from tkalert.sender.deliver import open_transport
from tkalert.errors import ConfigError


def m365(smtp_port, token_endpoint, certificate, **options):
    return ("o365", "microsoft365", {
        "tenant": "contoso.onmicrosoft.com", "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret_file": "client.secret", "username": "alice", "mail_to": "support@vendor.example",
        "authority": token_endpoint.authority, "token_ca_file": str(certificate.ca_file),
        "host": "127.0.0.1", "port": str(smtp_port), "ca_file": str(certificate.ca_file), **options,
    })


def deliver(settings, messages):
    return open_transport(settings.destinations[0], settings).deliver(messages)


def test_token_from_client_credentials_logs_in_with_xoauth2(smtp_server, token_endpoint, settings_with, sealed,
                                                             certificate):
    server = smtp_server(security="starttls", xoauth2=True)
    outcomes = deliver(settings_with(m365(server.port, token_endpoint, certificate)), [sealed(1), sealed(2)])
    assert [o.delivered for o in outcomes] == [True, True], outcomes
    assert server.logins == [("XOAUTH2", "alice")]
    [grant] = token_endpoint.requests
    assert grant["grant_type"] == ["client_credentials"]
    assert grant["scope"] == ["https://outlook.office365.com/.default"]
    assert [m.mail_from for m in server.mails] == ["alice", "alice"]


def test_refused_client_secret_is_permanent_and_smtp_is_not_contacted(smtp_server, token_endpoint, settings_with,
                                                                     sealed, certificate):
    server = smtp_server(security="starttls", xoauth2=True)
    token_endpoint.secret = "rotated"
    [outcome] = deliver(settings_with(m365(server.port, token_endpoint, certificate)), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, True)
    assert "invalid_client" in outcome.error
    assert server.logins == [] and server.mails == []


def test_token_refused_by_smtp_server_is_permanent(smtp_server, token_endpoint, settings_with, sealed, certificate):
    server = smtp_server(security="starttls", xoauth2=True)
    settings = settings_with(m365(server.port, token_endpoint, certificate, username="mallory"))
    [outcome] = deliver(settings, [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, True)
    assert "535" in outcome.error


def test_unreachable_identity_platform_is_temporary(smtp_server, refused_port, settings_with, sealed, certificate,
                                                    token_endpoint):
    server = smtp_server(security="starttls", xoauth2=True)
    token_endpoint.port = refused_port
    [outcome] = deliver(settings_with(m365(server.port, token_endpoint, certificate)), [sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, False)
    assert "unreachable" in outcome.error


@pytest.mark.parametrize("options, words", [
    ({"security": "none"}, "security must be starttls or smtps"),
    ({"tenant": ""}, "tenant is not set"),
    ({"password_file": "smtp.password"}, "unknown microsoft365 option 'password_file'"),
    ({"authority": "http://127.0.0.1:1"}, "authority must be an https:// URL"),
])
def test_bad_options_are_refused(token_endpoint, settings_with, certificate, options, words):
    settings = settings_with(m365(25, token_endpoint, certificate, **options))
    with pytest.raises(ConfigError, match=words):
        open_transport(settings.destinations[0], settings)
