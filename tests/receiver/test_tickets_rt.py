"""The mail sink against a real Request Tracker 5 (tests/cast/rt.py): a problem opens one ticket, RT's reply
teaches the receiver the ticket's subject tag, a changed state adds correspondence to that ticket, the recovery
resolves it. The outbox delivers through a real SMTP server; what it accepted is handed to rt-mailgate as an MTA's
aliases would (rt@ corresponds, rt-resolve@ corresponds and resolves)."""

from __future__ import annotations

import pytest
from cast.rt import request_tracker

from .act_cast import alert, at, clean, contract, settings, system

pytestmark = pytest.mark.rt
ACTIONS = {"rt@rt.example": "correspond", "rt-resolve@rt.example": "correspond-resolve"}


@pytest.fixture(scope="module")
def rt():
    with request_tracker() as started:
        yield started


def hand_to_rt(rt, smtp_sink, done: int) -> int:
    """Every mail the relay accepted since `done` through rt-mailgate, by its recipient; the new count."""
    for mail in smtp_sink.mails[done:]:
        [recipient] = mail.rcpt_tos
        assert rt.mailgate(mail.content, action=ACTIONS[recipient]).ok
    return len(smtp_sink.mails)


def test_an_alert_episode_is_one_rt_ticket_updated_and_resolved(db, rt, smtp_sink):
    from tkalert.receiver.models import Episode
    from tkalert.receiver.relay import deliver_due
    from tkalert.receiver.tickets.mail import learn_reply

    clean()
    config = settings(db, smtp_sink.port, ticket_sink="mail", ticket_mail="rt@rt.example",
                      ticket_close_mail="rt-resolve@rt.example", mail_from="callhome@vendor.example")
    acme = contract()
    system("sys-1", acme)
    alert(config, acme, "sys-1", at(0), "WARNING")
    alert(config, acme, "sys-1", at(0.5), "WARNING")
    deliver_due(config, at(1))
    done = hand_to_rt(rt, smtp_sink, 0)
    [ticket] = rt.tickets("Subject LIKE '90000xxxxx-IPMI Sensors'")
    assert ticket.status == "new" and ticket.subject == "90000xxxxx-IPMI Sensors-WARNING- Service: Valid"
    replies = [reply for reply in rt.sent_mail() if rt.subject_tag(ticket.id) in reply["Subject"]]
    assert replies, [reply["Subject"] for reply in rt.sent_mail()]
    episode = learn_reply(replies[0].as_bytes(), config.act.ticket_tag)
    assert episode is not None and episode.ticket_ref == rt.subject_tag(ticket.id)
    alert(config, acme, "sys-1", at(2), "CRITICAL")
    deliver_due(config, at(2))
    done = hand_to_rt(rt, smtp_sink, done)
    alert(config, acme, "sys-1", at(3), "OK")
    deliver_due(config, at(3))
    hand_to_rt(rt, smtp_sink, done)
    assert rt.ticket_ids("id > 0") == [ticket.id]
    ticket = rt.ticket(ticket.id)
    assert ticket.correspondence == 2 and ticket.status == "resolved"
    assert Episode.objects.get().closed_at == at(3)
    clean()
