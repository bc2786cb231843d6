"""The judge over the ORM, with opened messages as open.py hands them on (no gpg here: open has its own tests).

A named cast: ACME's contract 0123456789a, its system web-1 signing with key AAAA..., a stranger's key BBBB...
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tkalert.receiver.open import Opened, Refused

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc)
ACME = "0123456789a"
WEB1_KEY = "A" * 40
STRANGER_KEY = "B" * 40


def opened(**changes) -> Opened:
    values = dict(document_type="heartbeat", legacy=False, auth_key=ACME, system_id="web-1", message_id="m-1",
                  sequence=10, signed_at=NOW - timedelta(seconds=3), signer=WEB1_KEY, first_contact_key=None,
                  fields={"contact-name": "Testperson", "contact-mail": "admin@acme-gmbh.de"}, events=(),
                  document=b"<heartbeat/>")
    values.update(changes)
    return Opened(**values)


@pytest.fixture
def acme(db):
    from tkalert.receiver.models import Contract

    return Contract.objects.create(auth_key=ACME, customer="ACME GmbH", created_at=NOW - timedelta(days=30))


def judged(outcome, received=NOW):
    from tkalert.receiver.judge import Rules, judge
    from tkalert.receiver.models import Message

    message = Message.objects.create(raw=b"raw mail", channel="smtp", received_at=received, state="done",
                                     processed_at=received)
    return judge(message, outcome, Rules(replay_window=100, clock_skew=300))


def system():
    from tkalert.receiver.models import System

    return System.objects.get(system_id="web-1")


def test_a_first_heartbeat_is_accepted_pins_the_signer_and_sets_last_seen_and_contact(acme):
    message = judged(opened(first_contact_key="-----BEGIN PGP PUBLIC KEY BLOCK-----"))
    assert (message.verdict, message.reason, message.service_invalid) == ("accepted", "", False)
    web1 = system()
    assert (web1.pinned_key, web1.last_seen, web1.contact_mail) == (WEB1_KEY, NOW, "admin@acme-gmbh.de")
    assert web1.public_key.startswith("-----BEGIN PGP") and web1.last_sequence == 10
    assert message.clock_skew is None  # 3 s is inside the window


def test_unknown_auth_key_is_quarantined(db):
    message = judged(opened(auth_key="nobody"))
    assert (message.verdict, message.reason) == ("quarantined", "unknown-auth-key")


def test_a_refusal_from_open_is_quarantined_with_its_reason(acme):
    message = judged(Refused("doctype", "a DOCTYPE in the document"))
    assert (message.verdict, message.reason, message.detail) == ("quarantined", "doctype",
                                                                 "a DOCTYPE in the document")


@pytest.mark.parametrize("change", ["revoked_at", "valid_until"])
def test_revoked_or_expired_contract_is_accepted_and_flagged_service_invalid(acme, change):
    setattr(acme, change, NOW - timedelta(days=1))
    acme.save()
    message = judged(opened())
    assert (message.verdict, message.service_invalid) == ("accepted", True)


def test_the_same_message_id_again_is_a_duplicate_and_changes_nothing(acme):
    judged(opened())
    later = NOW + timedelta(hours=1)
    again = judged(opened(), received=later)
    assert (again.verdict, again.reason) == ("duplicate", "duplicate")
    assert system().last_seen == NOW


def test_sequence_far_back_with_a_new_id_is_a_replay_and_counted(acme):
    judged(opened(sequence=500))
    replay = judged(opened(message_id="m-2", sequence=10))
    assert (replay.verdict, replay.reason) == ("replay", "sequence-backwards")
    assert system().replays == 1 and system().last_sequence == 500


def test_a_reused_sequence_with_a_new_id_is_a_replay(acme):
    judged(opened(sequence=10))
    assert judged(opened(message_id="m-2", sequence=10)).verdict == "replay"


def test_a_little_out_of_order_within_the_window_is_accepted(acme):
    """The sender's spool retries reorder deliveries: 11 after 12 is not a replay."""
    judged(opened(message_id="m-12", sequence=12))
    late = judged(opened(message_id="m-11", sequence=11))
    assert late.verdict == "accepted" and system().last_sequence == 12


def test_a_different_signer_than_the_pinned_key_is_quarantined(acme):
    judged(opened())
    changed = judged(opened(message_id="m-2", sequence=11, signer=STRANGER_KEY))
    assert (changed.verdict, changed.reason) == ("quarantined", "key-changed")
    assert system().pinned_key == WEB1_KEY


def test_a_legacy_document_needs_a_legacy_contract(acme):
    legacy = dict(legacy=True, system_id=None, message_id=None, sequence=None, signer=None, signed_at=None)
    assert judged(opened(**legacy)).reason == "legacy-not-allowed"
    acme.legacy = True
    acme.save()
    accepted = judged(opened(**legacy))
    assert accepted.verdict == "accepted" and accepted.system.system_id == f"legacy:{ACME}"


def test_signed_time_outside_the_window_is_recorded_as_skew_not_refused(acme):
    message = judged(opened(signed_at=NOW - timedelta(hours=2)))
    assert message.verdict == "accepted" and message.clock_skew == pytest.approx(7200)


def test_a_digest_is_judged_event_by_event(acme):
    from tkalert.receiver.models import Message

    judged(opened(document_type="alert", message_id="e-1", sequence=3))  # this event came alone before
    events = tuple(opened(document_type="alert", message_id=f"e-{n}", sequence=n + 2, document=b"<alert/>",
                          fields={"host/name": f"web{n}"}) for n in (1, 2, 3))
    digest = judged(opened(document_type="digest", message_id="d-1", sequence=20, events=events))
    assert digest.verdict == "accepted"
    children = list(Message.objects.filter(parent=digest).order_by("message_id")
                    .values_list("message_id", "verdict", "channel"))
    assert children == [("e-1", "duplicate", "digest"), ("e-2", "accepted", "digest"), ("e-3", "accepted", "digest")]
    assert Message.objects.get(message_id="e-2").fields == {"host/name": "web2"}


def test_a_heartbeat_older_than_the_last_seen_one_does_not_move_last_seen_back(acme):
    judged(opened(message_id="m-2", sequence=11), received=NOW)
    judged(opened(message_id="m-1", sequence=10), received=NOW - timedelta(minutes=5))
    assert system().last_seen == NOW


def test_a_digests_events_are_not_replays_of_the_digest_even_when_strict(acme):
    from tkalert.receiver.judge import Rules, judge
    from tkalert.receiver.models import Message

    events = tuple(opened(document_type="alert", message_id=f"e-{n}", sequence=n) for n in (5, 6, 7))
    digest = Message.objects.create(raw=b"raw", channel="smtp", received_at=NOW, state="done")
    judge(digest, opened(document_type="digest", message_id="d-1", sequence=8, events=events),
          Rules(replay_window=0, clock_skew=300))
    assert set(Message.objects.values_list("verdict", flat=True)) == {"accepted"}
    assert system().last_sequence == 8
