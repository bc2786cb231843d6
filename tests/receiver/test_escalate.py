"""Escalation with injected time (nothing sleeps): stages once per silence, recovery, maintenance, site notices.

ACME's systems send heartbeats through the real judge and act steps; `sweep` runs at chosen moments; the outbox
is what would be sent, and one test delivers it through a real SMTP server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from .act_cast import CONTACT, SUPPORT, at, clean, contract, heartbeat, outbox, settings, system


@pytest.fixture
def acting(db):
    clean()
    yield settings(db)
    clean()


def sweep_at(config, hours: float):
    from tkalert.receiver.escalate import sweep

    return sweep(config.act, at(hours))


def test_stages_fire_once_each_then_one_recovery_and_nothing_twice(acting, smtp_sink):
    from tkalert.receiver.escalate import next_due
    from tkalert.receiver.models import System
    from tkalert.receiver.relay import deliver_due

    acme = contract()
    system("sys-1", acme)
    heartbeat(acting, acme, "sys-1", at(0))
    assert next_due(System.objects.get(system_id="sys-1").pk) == at(50)
    assert sweep_at(acting, 49).looked_at == 0 and outbox() == []
    assert sweep_at(acting, 50).fired == 1
    assert [(o.purpose, o.recipient) for o in outbox()] == [("stage", CONTACT)]
    for hours in (50, 55, 60, 74.9):
        sweep_at(acting, hours)
    assert len(outbox()) == 1
    sweep_at(acting, 75)
    assert [(o.purpose, o.recipient) for o in outbox()] == [("stage", CONTACT), ("stage", SUPPORT)]
    assert "sys-1" in outbox()[1].body
    heartbeat(acting, acme, "sys-1", at(76))
    assert [o.purpose for o in outbox()] == ["stage", "stage", "recovery"]
    assert outbox()[2].recipient == f"{CONTACT}, {SUPPORT}"
    for n in range(100):
        sweep_at(acting, 76 + n * 0.1)
    heartbeat(acting, acme, "sys-1", at(77))  # the silence is closed: a second heartbeat recovers nothing
    assert len(outbox()) == 3
    sent = deliver_due(settings(acting, smtp_sink.port), at(86))
    assert sent == 3 and len(smtp_sink.mails) == 3
    assert deliver_due(settings(acting, smtp_sink.port), at(87)) == 0 and len(smtp_sink.mails) == 3


def test_a_maintenance_window_holds_the_stages_and_its_end_resumes_them(acting):
    from tkalert.receiver.escalate import next_due
    from tkalert.receiver.models import Maintenance

    acme = contract()
    sys1 = system("sys-1", acme)
    heartbeat(acting, acme, "sys-1", at(0))
    Maintenance.objects.create(system=sys1, starts_at=at(10), until=at(60))
    done = sweep_at(acting, 50)
    assert done.held == 1 and outbox() == []
    assert next_due(sys1.pk) == at(60)
    sweep_at(acting, 55)
    assert outbox() == []
    sweep_at(acting, 60)
    assert [o.recipient for o in outbox()] == [CONTACT]
    sweep_at(acting, 75)
    assert [o.recipient for o in outbox()] == [CONTACT, SUPPORT]


def test_twenty_systems_of_a_contract_silent_together_make_one_site_notice(acting):
    acme = contract()
    for n in range(20):
        system(f"sys-{n:02}", acme)
        heartbeat(acting, acme, f"sys-{n:02}", at(n * 2 / 60))  # all within 40 minutes
    minute = 50.0
    while minute <= 51:
        sweep_at(acting, minute)
        minute += 1 / 60
    assert [(o.purpose, o.recipient) for o in outbox()] == [("site", CONTACT)]
    assert all(f"sys-{n:02}" in outbox()[0].body for n in range(20))
    sweep_at(acting, 76)
    assert [(o.purpose, o.recipient) for o in outbox()] == [("site", CONTACT), ("site", SUPPORT)]


def test_one_silent_system_among_twenty_is_told_on_its_own(acting):
    acme = contract()
    for n in range(20):
        system(f"sys-{n:02}", acme)
        heartbeat(acting, acme, f"sys-{n:02}", at(0))
    for n in range(1, 20):
        heartbeat(acting, acme, f"sys-{n:02}", at(49))
    sweep_at(acting, 50)
    assert [(o.purpose, o.recipient, o.system.system_id) for o in outbox()] == [("stage", CONTACT, "sys-00")]


def test_a_contract_of_hourly_reports_escalates_after_2_h_and_3_h_and_repeats(acting):
    from tkalert.receiver.models import Stage

    kbr = contract("kbr-hourly", "KBR")
    Stage.objects.create(contract=kbr, position=1, after=timedelta(hours=2), notify="customer")
    Stage.objects.create(contract=kbr, position=2, after=timedelta(hours=3), notify="support",
                         repeat=timedelta(hours=1))
    system("kbr-1", kbr)
    heartbeat(acting, kbr, "kbr-1", at(0))
    sweep_at(acting, 1.9)
    assert outbox() == []
    sweep_at(acting, 2)
    sweep_at(acting, 3)
    for hours in (3.5, 4, 4.2, 5):
        sweep_at(acting, hours)
    assert [o.key.split(":", 2)[2] for o in outbox()] == ["stage:1", "stage:2", "stage:2:repeat:1",
                                                          "stage:2:repeat:2"]


def test_clock_drift_raises_one_notice_per_drift_episode(acting):
    acme = contract()
    system("sys-1", acme)
    for hours in (0, 1, 2):
        heartbeat(acting, acme, "sys-1", at(hours), signed_at=at(hours) - timedelta(minutes=20))
    heartbeat(acting, acme, "sys-1", at(3), signed_at=at(3))
    heartbeat(acting, acme, "sys-1", at(4), signed_at=at(4) + timedelta(minutes=9))
    assert [(o.purpose, o.recipient) for o in outbox()] == [("drift", CONTACT), ("drift", CONTACT)]
    assert "1200 seconds behind" in outbox()[0].body and "540 seconds ahead of" in outbox()[1].body


def due_rows(system_pk: int) -> list:
    from tkalert.receiver.models import DueTime

    return sorted(DueTime.objects.filter(system_id=system_pk).values_list("due_at", flat=True))


def test_a_system_keeps_one_due_row_through_heartbeats_silences_and_recoveries(acting):
    """The heartbeat writes no due time: the sweep looks at a system heard from since, fires nothing and moves its
    one due row to the last heartbeat plus the first stage; a silence with nothing left to fire looks again one
    first-stage delay later, and a second silence after the recovery escalates on time."""
    acme = contract()
    sys1 = system("sys-1", acme)
    heartbeat(acting, acme, "sys-1", at(0))
    for hours in range(1, 61):
        heartbeat(acting, acme, "sys-1", at(hours))
    assert due_rows(sys1.pk) == [at(50)]
    done = sweep_at(acting, 50)
    assert (done.looked_at, done.fired, outbox()) == (1, 0, [])
    assert due_rows(sys1.pk) == [at(60 + 50)]
    sweep_at(acting, 110)
    sweep_at(acting, 135)
    assert [o.purpose for o in outbox()] == ["stage", "stage"]
    assert due_rows(sys1.pk) == [at(135 + 50)]  # both stages fired: looked at again later, never forgotten
    heartbeat(acting, acme, "sys-1", at(140))
    assert [o.purpose for o in outbox()] == ["stage", "stage", "recovery"]
    assert sweep_at(acting, 185).fired == 0 and due_rows(sys1.pk) == [at(190)]
    assert sweep_at(acting, 190).fired == 1 and len(due_rows(sys1.pk)) == 1
    assert [o.purpose for o in outbox()] == ["stage", "stage", "recovery", "stage"]


def test_a_system_never_heard_from_has_no_due_row_and_a_deleted_ones_row_is_dropped(acting):
    from tkalert.receiver.models import DueTime

    acme = contract()
    quiet, gone = system("sys-quiet", acme), system("sys-gone", acme)
    heartbeat(acting, acme, "sys-gone", at(0))
    assert due_rows(quiet.pk) == [] and due_rows(gone.pk) == [at(50)]
    gone.delete()
    done = sweep_at(acting, 50)
    assert (done.looked_at, done.fired) == (0, 0) and not DueTime.objects.exists() and outbox() == []
