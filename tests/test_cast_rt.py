"""The private Request Tracker 5 of tests/cast/rt.py: mail through rt-mailgate opens a ticket, a reply carrying its
subject tag threads into it, a resolving mail or a REST 2.0 status change closes it, and after the block the server
and its files are gone. These are the moves the receiver's ticket sink makes against it (issue 13)."""

from __future__ import annotations

import socket
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from cast.rt import request_tracker

pytestmark = pytest.mark.rt


def mail(subject: str, body: str = "Disk / is 98% full.\n", sender: str = "alerts@vendor.example") -> bytes:
    message = EmailMessage()
    message["From"] = f"Vendor alerts <{sender}>"
    message["To"] = "rt@rt.example"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="vendor.example")
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture(scope="module")
def rt():
    with request_tracker() as started:
        yield started


def opened(rt, subject: str):
    """Mail `subject` to RT and return the one ticket it opened."""
    assert rt.mailgate(mail(subject)).ok
    [ticket] = rt.tickets(f"Subject = '{subject}'")
    return ticket


def test_a_problem_mail_opens_one_ticket_seen_through_rest2(rt):
    ticket = opened(rt, "host1 disk CRITICAL")
    assert ticket.status in ("new", "open")
    assert (ticket.subject, ticket.queue, ticket.requestors) == ("host1 disk CRITICAL", "General",
                                                                  ("alerts@vendor.example",))
    assert ticket.transactions[0] == "Create" and ticket.correspondence == 0
    # RT answered the requestor, into the cast's mbox and nowhere else
    assert any(f"{rt.subject_tag(ticket.id)} AutoReply: host1 disk CRITICAL" in str(m["Subject"])
               for m in rt.sent_mail())


def test_a_reply_with_the_subject_tag_adds_correspondence_not_a_ticket(rt):
    first = opened(rt, "host2 disk CRITICAL")
    before = len(rt.ticket_ids())
    assert rt.mailgate(mail(f"Re: {rt.subject_tag(first.id)} host2 disk WARNING", "Now 91%.\n")).ok
    again = rt.ticket(first.id)
    assert len(rt.ticket_ids()) == before
    assert again.correspondence == first.correspondence + 1
    assert again.subject == "host2 disk CRITICAL" and again.status == "open"


def test_a_resolving_mail_closes_the_ticket(rt):
    ticket = opened(rt, "host3 disk CRITICAL")
    assert rt.mailgate(mail(f"{rt.subject_tag(ticket.id)} host3 disk OK", "Recovered.\n"),
                       action="correspond-resolve").ok
    closed = rt.ticket(ticket.id)
    assert closed.status == "resolved"
    assert closed.correspondence == 1 and "Status" in closed.transactions


def test_a_comment_then_a_rest2_status_change_closes_the_ticket(rt):
    ticket = opened(rt, "host4 disk CRITICAL")
    assert rt.mailgate(mail(f"{rt.subject_tag(ticket.id)} host4 disk OK", "Recovered.\n"), action="comment").ok
    commented = rt.ticket(ticket.id)
    assert commented.comments == 1 and commented.status != "resolved"
    rt.set_status(ticket.id, "resolved")
    assert rt.ticket(ticket.id).status == "resolved"
    assert rt.ticket_ids(f"id = {ticket.id} AND Status = 'resolved'") == [ticket.id]


def test_a_mail_for_an_unknown_queue_is_kept_by_the_mta_not_ticketed(rt):
    before = len(rt.ticket_ids())
    refused = rt.mailgate(mail("host5 disk CRITICAL"), queue="No such queue")
    assert refused.returncode == 75 and not refused.ok  # EX_TEMPFAIL: the MTA keeps the mail and retries
    assert len(rt.ticket_ids()) == before


def test_a_reply_to_a_ticket_that_does_not_exist_is_refused_though_the_mailgate_exits_0(rt):
    refused = rt.mailgate(mail(f"{rt.subject_tag(999)} host6 disk OK"), action="comment")
    assert refused.returncode == 0 and not refused.ok and "not ok" in refused.output
    assert "Could not find a ticket with id 999" in rt.log()


def test_instances_are_apart_and_gone_after_the_block():
    with request_tracker() as first, request_tracker() as second:
        assert first.port != second.port
        assert first.mailgate(mail("only in the first")).ok
        assert [t.subject for t in first.tickets()] == ["only in the first"] and second.tickets() == []
        port, root = first.port, first.home.root
    assert not root.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
