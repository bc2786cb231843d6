"""Failover across destinations: ordered, every message delivered exactly once, failures kept as data."""

from __future__ import annotations

import pytest

from tkalert.sender.deliver import deliver_batch
from tkalert.errors import ConfigError


def smtp(name, port, **options):
    return (name, "smtp", {"host": "127.0.0.1", "port": str(port), "mail_to": "support@vendor.example",
                           "mail_from": "tkalert@customer.example", "timeout": "2", **options})


def test_first_refused_second_delivers_exactly_once(refused_port, smtp_server, settings_with, sealed):
    backup = smtp_server()
    settings = settings_with(smtp("primary", refused_port), smtp("backup", backup.port))
    outcomes = deliver_batch([sealed(1), sealed(2)], settings)
    assert [(o.destination, o.delivered) for o in outcomes] == [("backup", True), ("backup", True)]
    ids = sorted(m.content.split(b"X-Tkalert-Message-Id: ")[1].split(b"\r\n")[0] for m in backup.mails)
    assert ids == [sealed(1).message_id.encode(), sealed(2).message_id.encode()]


def test_delivered_at_first_destination_never_reaches_the_second(smtp_server, settings_with, sealed):
    primary, backup = smtp_server(), smtp_server()
    outcomes = deliver_batch([sealed()], settings_with(smtp("primary", primary.port), smtp("backup", backup.port)))
    assert outcomes[0].destination == "primary"
    assert (len(primary.mails), len(backup.mails)) == (1, 0)


def test_all_failing_names_every_destination_and_stays_temporary(refused_port, smtp_server, settings_with, sealed):
    rejecting = smtp_server(reply="550 5.7.1 relaying denied")
    settings = settings_with(smtp("primary", rejecting.port), smtp("backup", refused_port))
    [outcome] = deliver_batch([sealed()], settings)
    assert (outcome.delivered, outcome.permanent) == (False, False)  # the backup may come back
    assert outcome.error.startswith("primary: ") and "; backup: " in outcome.error


def test_permanent_everywhere_is_permanent(smtp_server, settings_with, sealed):
    first, second = smtp_server(reply="550 5.7.1 denied"), smtp_server(reply="554 5.7.1 denied")
    [outcome] = deliver_batch([sealed()], settings_with(smtp("a", first.port), smtp("b", second.port)))
    assert (outcome.delivered, outcome.permanent) == (False, True)


def test_override_mail_skips_https_and_replaces_the_recipient(smtp_server, settings_with, sealed):
    server = smtp_server()
    settings = settings_with(("vendor", "https", {"url": "https://127.0.0.1:1/in"}), smtp("relay", server.port))
    [outcome] = deliver_batch([sealed()], settings, override_to="admin@customer.example")
    assert outcome.delivered
    assert server.mails[0].rcpt_tos == ["admin@customer.example"]


def test_a_broken_backup_is_refused_before_anything_is_sent(smtp_server, settings_with, sealed):
    primary = smtp_server()
    settings = settings_with(smtp("primary", primary.port), ("backup", "smtp", {"host": "127.0.0.1"}))
    with pytest.raises(ConfigError, match=r"\[destination backup\]: mail_to is not set"):
        deliver_batch([sealed()], settings)
    assert primary.mails == []


def test_no_destination_is_a_config_error(settings_with, sealed):
    with pytest.raises(ConfigError, match="no destination configured"):
        deliver_batch([sealed()], settings_with())
