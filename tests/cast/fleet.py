"""A seeded fleet for the dashboard's tests and bench/dashboard.py: contracts, systems with 30 days of accepted
heartbeats (one a day), some overdue (an open Silence at stage 1 or 2, as the sweep leaves it), one in a
maintenance window, open alert episodes with tickets, and quarantined messages with their raw bytes.

`seed_fleet(n, now)` writes through the ORM of the Django already started (in-process tests); `python3 -m
cast.fleet CONFIG N` does it for a receiver site's database (a site served by `serve`, SQLite or PostgreSQL).
Names are predictable: system `sys-00007.acme.example`, overdue every 10th, alerting every 7th, maintenance #3.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

CUSTOMERS = ("ACME GmbH", "Globex AG", "Initech KG")
QUARANTINE_REASONS = ("unknown-auth-key", "key-changed", "bad-signature")
DAYS = 30


def system_name(index: int) -> str:
    return f"sys-{index:05d}.acme.example"


@dataclass(frozen=True)
class Seeded:
    systems: int
    overdue: list[str]
    alerting: list[str]
    maintenance: list[str]
    quarantined: list[int]


def seed_fleet(count: int, now: datetime | None = None, quarantined: int = 5, batch: int = 5000) -> Seeded:
    from tkalert.receiver.models import Contract, Episode, Maintenance, Message, Silence, System

    now = now or datetime.now(timezone.utc)
    contracts = [Contract.objects.create(auth_key=f"AK-{i + 1:04d}", customer=name, legacy=i == 2,
                                         created_at=now - timedelta(days=400),
                                         revoked_at=now - timedelta(days=1) if i == 1 else None)
                 for i, name in enumerate(CUSTOMERS)]
    systems = System.objects.bulk_create([
        System(system_id=system_name(i), contract=contracts[i % len(contracts)], pinned_key=f"{i:040X}",
               pinned_at=now - timedelta(days=DAYS - 1), contact_name=f"Admin {i}",
               contact_mail=f"admin{i}@acme.example")
        for i in range(count)], batch_size=batch)
    overdue, alerting, maintenance = [], [], []
    beats, silences, episodes, windows = [], [], [], []
    today = now.date()
    for index, system in enumerate(systems):
        silent = index % 10 == 0
        in_window = index == 3
        last_day = 3 if silent else 2 if in_window else 0  # days back of the newest heartbeat
        for back in range(last_day, DAYS):
            day = today - timedelta(days=back)
            at = min(now - timedelta(minutes=5), datetime.combine(day, time(6, index % 60), tzinfo=timezone.utc))
            beats.append(Message(raw=b"", channel="smtp", received_at=at, state="done", processed_at=at,
                                 verdict="accepted", message_id=f"hb-{index}-{back}", system=system,
                                 contract=system.contract, auth_key=system.contract.auth_key,
                                 document_type="heartbeat", clock_skew=float(index % 7 - 3), signed_at=at))
        system.last_seen = beats[-DAYS + last_day].received_at if DAYS > last_day else None
        if silent:
            overdue.append(system.system_id)
            silences.append(Silence(system=system, last_seen=system.last_seen, opened_at=now - timedelta(hours=20),
                                    stage=1 + index % 20 // 10, stage_at=now - timedelta(hours=20)))
        if in_window:
            maintenance.append(system.system_id)
            windows.append(Maintenance(system=system, starts_at=now - timedelta(days=2), until=now + timedelta(days=1),
                                       reason="firmware update"))
        if index % 7 == 0:
            alerting.append(system.system_id)
            episodes.append(Episode(system=system, host=f"node{index}", service="IPMI Sensors", state="CRITICAL",
                                    output="Power Supply Failure detected", opened_at=now - timedelta(hours=5),
                                    updated_at=now - timedelta(hours=1), ticket_ref=f"RT#{1000 + index}"))
        if len(beats) >= batch:
            Message.objects.bulk_create(beats, batch_size=batch)
            beats.clear()
    Message.objects.bulk_create(beats, batch_size=batch)
    System.objects.bulk_update(systems, ["last_seen"], batch_size=batch)
    Silence.objects.bulk_create(silences, batch_size=batch)
    Episode.objects.bulk_create(episodes, batch_size=batch)
    Maintenance.objects.bulk_create(windows)
    held = [Message.objects.create(raw=f"From: someone@customer.test\r\nSubject: hb {i}\r\n\r\nsealed {i}\r\n".encode(),
                                   channel="smtp", received_at=now - timedelta(hours=i + 1), state="done",
                                   processed_at=now - timedelta(hours=i + 1), verdict="quarantined",
                                   reason=QUARANTINE_REASONS[i % len(QUARANTINE_REASONS)],
                                   detail=f"seeded case {i}", message_id=f"q-{i}", auth_key="AK-9999",
                                   system=systems[i] if i % len(QUARANTINE_REASONS) == 1 else None).pk
            for i in range(quarantined)]
    return Seeded(count, overdue, alerting, maintenance, held)


def main(argv: list[str]) -> int:
    from tkalert.receiver.config import load_config
    from tkalert.receiver.django_setup import start_django

    start_django(load_config(argv[0]))
    seeded = seed_fleet(int(argv[1]))
    print(f"{seeded.systems} systems, {len(seeded.overdue)} overdue, quarantined {seeded.quarantined}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
