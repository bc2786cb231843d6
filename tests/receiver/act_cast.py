"""What the act/escalate/outbox tests share: a named cast (ACME with its systems), heartbeats and alerts put
through the real judge and act steps with an injected receipt time, and a receiver config pointed at a relay."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
ACME = "acme-0123456789"
SUPPORT = "support@vendor.test"
CONTACT = "admin@acme.test"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def settings(config, relay_port: int | None = None, **act):
    """The test's receiver config: support address set, the relay on `relay_port`, other act keys as given."""
    relay = (("host", "127.0.0.1"), ("port", str(relay_port))) if relay_port else ()
    return replace(config, act=replace(config.act, support_mail=SUPPORT, relay=relay, **act))


def contract(auth_key: str = ACME, customer: str = "ACME GmbH", **fields):
    from tkalert.receiver.models import Contract

    return Contract.objects.create(auth_key=auth_key, customer=customer, created_at=T0, **fields)


def system(system_id: str, owner, contact: str = CONTACT):
    from tkalert.receiver.models import System

    return System.objects.create(system_id=system_id, contract=owner, contact_mail=contact,
                                 contact_name="Testperson")


def opened(kind: str, owner, system_id: str, fields: dict | None = None, message_id: str | None = None,
           signed_at: datetime | None = None):
    from tkalert.receiver.opened import Opened

    values = {"contact-name": "Testperson", "contact-mail": CONTACT, **(fields or {})}
    return Opened(document_type=kind, legacy=False, auth_key=owner.auth_key, system_id=system_id,
                  message_id=message_id or str(uuid.uuid4()), sequence=None, signed_at=signed_at, signer=None,
                  first_contact_key=None, fields=values, events=(), document=b"<doc/>")


def receive(config, kind: str, owner, system_id: str, when: datetime, batch=None, **kwargs):
    """One message through the judge and act, in one transaction, as the worker does; the judged Message. With a
    `batch` (judge.Batch), as one of a worker's batch: inside the caller's transaction, its flush the caller's."""
    from django.db import transaction

    from tkalert.receiver.act import act_on_verdict
    from tkalert.receiver.judge import Rules, judge
    from tkalert.receiver.models import Message

    with transaction.atomic():
        message = Message.objects.create(raw=b"raw", channel="smtp", received_at=when,
                                         state=Message.State.DONE, processed_at=when)
        judged = judge(message, opened(kind, owner, system_id, **kwargs), Rules(), batch=batch)
        act_on_verdict(judged, config, batch)
    return judged


def heartbeat(config, owner, system_id: str, when: datetime, **kwargs):
    return receive(config, "heartbeat", owner, system_id, when, **kwargs)


def alert(config, owner, system_id: str, when: datetime, state: str, service: str = "IPMI Sensors",
          host: str = "host1.example.com", message_id: str | None = None, batch=None):
    fields = {"host/name": host, "host/status": "UP", "host/server-serial": "90000xxxxx", "service/name": service,
              "service/status": state, "service/plugin-output": f"{state}: PS 1"}
    return receive(config, "alert", owner, system_id, when, batch=batch, fields=fields, message_id=message_id)


def outbox(**filters) -> list:
    from tkalert.receiver.models import Outbox

    return list(Outbox.objects.filter(**filters).order_by("id"))


def clean() -> None:
    from tkalert.receiver.models import DueTime, Episode, Maintenance, Outbox, Silence, Stage

    for model in (Outbox, Episode, Silence, Maintenance, Stage, DueTime):
        model.objects.all().delete()
