"""`probe()` for `tkalert test`: the stages one by one, what failed and what to do, and never a message sent."""

from __future__ import annotations

from tkalert.sender.deliver import open_transport, probe_destinations


def smtp(port, **options):
    return ("relay", "smtp", {"host": "127.0.0.1", "port": str(port), "mail_to": "support@vendor.example",
                              "timeout": "2", **options})


def probe(settings):
    return open_transport(settings.destinations[0], settings).probe()


def summary(steps):
    return [(s.name, s.ok) for s in steps]


def test_good_starttls_setup_walks_every_stage_and_sends_nothing(smtp_server, settings_with, certificate):
    server = smtp_server(security="starttls", auth=True)
    steps = probe(settings_with(smtp(server.port, security="starttls", ca_file=str(certificate.ca_file),
                                     username=server.user, password_file="smtp.password")))
    assert summary(steps) == [("connect", True), ("greeting", True), ("TLS", True), ("authenticate", True),
                              ("recipient", True)]
    tls = steps[2]
    assert tls.detail.startswith("certificate SHA-256 ") and "verified chain" in tls.detail
    assert certificate.sha256.upper() in tls.detail.replace(":", "")
    assert [user for _, user in server.logins] == [server.user]
    assert server.mails == []


def test_smtps_reports_tls_before_the_greeting(smtp_server, settings_with, certificate):
    server = smtp_server(security="smtps")
    steps = probe(settings_with(smtp(server.port, security="smtps", pin_sha256=certificate.sha256)))
    assert summary(steps) == [("connect", True), ("TLS", True), ("greeting", True), ("authenticate", True),
                              ("recipient", True)]
    assert "pinned" in steps[1].detail
    assert steps[3].detail == "not configured (no username)"


def test_refused_port_stops_at_connect_with_a_fix(refused_port, settings_with):
    steps = probe(settings_with(smtp(refused_port)))
    assert summary(steps) == [("connect", False)]
    assert steps[0].detail == "connection refused"
    assert "firewall" in steps[0].fix


def test_wrong_password_stops_at_authenticate(smtp_server, settings_with, certificate):
    server = smtp_server(security="starttls", auth=True)
    steps = probe(settings_with(smtp(server.port, security="starttls", ca_file=str(certificate.ca_file),
                                     username=server.user, password_file="wrong.password")))
    assert summary(steps)[-1] == ("authenticate", False)
    assert steps[-1].detail.startswith("535")
    assert "password" in steps[-1].fix


def test_pin_mismatch_stops_at_tls_and_names_both_fingerprints(smtp_server, settings_with, certificate,
                                                               other_certificate):
    server = smtp_server(security="smtps")
    steps = probe(settings_with(smtp(server.port, security="smtps", pin_sha256=other_certificate.sha256)))
    assert summary(steps) == [("connect", True), ("TLS", False)]
    detail = steps[1].detail.replace(":", "").lower()
    assert certificate.sha256 in detail and other_certificate.sha256 in detail
    assert "pin_sha256" in steps[1].fix


def test_https_probe_shows_the_first_use_fingerprint_without_recording_it(https_receiver, settings_with,
                                                                          certificate):
    receiver = https_receiver()
    settings = settings_with(("vendor", "https", {"url": receiver.url, "tofu": "yes"}))
    steps = probe(settings)
    assert summary(steps) == [("connect", True), ("TLS", True)]
    assert "trusted on first use, not yet recorded" in steps[1].detail
    assert not (settings.state_dir / "tofu-vendor.sha256").exists()
    assert receiver.posts == []


def test_https_probe_pin_mismatch(https_receiver, settings_with, other_certificate):
    receiver = https_receiver()
    steps = probe(settings_with(("vendor", "https", {"url": receiver.url, "pin_sha256": other_certificate.sha256})))
    assert summary(steps) == [("connect", True), ("TLS", False)]
    assert receiver.posts == []


def test_microsoft365_probe_fetches_a_token_first(smtp_server, token_endpoint, settings_with, certificate):
    server = smtp_server(security="starttls", xoauth2=True)
    settings = settings_with(("o365", "microsoft365", {
        "tenant": "contoso", "client_id": "app", "client_secret_file": "client.secret", "username": "alice",
        "authority": token_endpoint.authority, "token_ca_file": str(certificate.ca_file), "host": "127.0.0.1",
        "port": str(server.port), "ca_file": str(certificate.ca_file), "mail_to": "support@vendor.example",
    }))
    steps = probe(settings)
    assert [s.name for s in steps] == ["token", "connect", "greeting", "TLS", "authenticate", "recipient"]
    assert all(s.ok for s in steps), steps
    assert server.logins == [("XOAUTH2", "alice")] and server.mails == []


def test_probe_destinations_covers_each_in_failover_order(refused_port, smtp_server, settings_with):
    server = smtp_server()
    settings = settings_with(smtp(refused_port), ("backup", "smtp", {"host": "127.0.0.1", "port": str(server.port),
                                                                     "mail_to": "x@vendor.example"}))
    results = probe_destinations(settings)
    assert [(d.name, steps[-1].ok) for d, steps in results] == [("relay", False), ("backup", True)]
