"""The outbox with the relay down for an hour of injected time: every message waits, retried with back-off, and is
delivered once the relay is back, none twice; a permanent refusal is kept as failed, not retried."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .act_cast import clean, outbox, settings, T0


@pytest.fixture
def queued(db):
    from tkalert.receiver.outbox import mail

    clean()
    for n in range(12):
        mail(f"test:{n}", "stage", f"person{n}@acme.test", f"notice {n}", f"body {n}\n", T0)
    yield db
    clean()


def test_a_relay_down_for_an_hour_delays_and_never_loses_or_duplicates(queued, smtp_server):
    from tkalert.receiver.models import Outbox
    from tkalert.receiver.relay import deliver_due

    relay = smtp_server()
    config = settings(queued, relay.port, retry_max=600.0)
    relay.stop()
    attempts_while_down = 0
    for minute in range(61):
        assert deliver_due(config, T0 + timedelta(minutes=minute)) == 0
    attempts_while_down = sum(o.attempts for o in outbox())
    assert all(o.state == "pending" and "connection refused" in o.last_error for o in outbox())
    assert 12 * 4 <= attempts_while_down <= 12 * 12  # backed off: 1, 2, 4, 8 min, then every 10 min
    relay.start()
    sent = sum(deliver_due(config, T0 + timedelta(minutes=61 + minute)) for minute in range(15))
    assert sent == 12
    assert sorted(m.message()["Subject"] for m in relay.mails) == sorted(f"notice {n}" for n in range(12))
    assert len({m.message()["Message-ID"] for m in relay.mails}) == 12
    assert Outbox.objects.filter(state="sent").count() == 12
    relay.stop()


def test_a_permanent_refusal_is_kept_as_failed(queued, smtp_server):
    from tkalert.receiver.relay import deliver_due

    relay = smtp_server(reply="550 5.1.1 no such user")
    config = settings(queued, relay.port)
    assert deliver_due(config, T0) == 0
    assert {o.state for o in outbox()} == {"failed"} and "550" in outbox()[0].last_error
    assert deliver_due(config, T0 + timedelta(hours=2)) == 0 and relay.mails == []
    relay.stop()
