"""Escalate: the sweeper that turns missing heartbeats into notices, each stage once per silence.

A system's `due_at` (indexed) is when it next needs a look: its last heartbeat plus the first stage's delay, a
later stage's, a repeat's, or the end of a maintenance window. `sweep` reads only rows whose due time has come
(never a full scan), in batches, each in one transaction (SKIP LOCKED on PostgreSQL, so sweepers pass each other)
and each done set-wise, a few statements per batch (after a relay or network outage thousands are due at once):
  1. in a maintenance window: nothing fires; it is due again when the window ends;
  2. otherwise the open Silence (one per system, a unique index) is found or opened, and every stage whose delay
     has passed and is above the stage reached fires: a compare-and-set `UPDATE ... WHERE stage = old` moves the
     silence, and the notice is an Outbox row under the key `silence:<id>:stage:<n>` (INSERT ... ON CONFLICT DO
     NOTHING), so a racing sweeper that planned the same stage writes nothing; a repeat likewise with its count;
  3. when most of a contract's systems (`site_share`, at least `site_minimum`) fell silent within the same hour,
     a stage makes one site notice listing them instead of a mail per system (key `site:<contract>:<n>:<hour>`);
  4. the next due time is written; none when nothing is left to fire.
A heartbeat closes the silence (tkalert.receiver.act) and `recovered` writes one recovery notice to everyone the
stages told. Stages come from the contract (`contracts stages`) or receiver.conf (warn_after, alarm_after).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Max, Value

from tkalert.receiver.models import Contract, Maintenance, Silence, Stage, System
from tkalert.receiver.outbox import insert_new, mail

BATCH = 500
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Step:
    position: int
    after: timedelta
    notify: str
    repeat: timedelta | None = None


def default_stages(act) -> list[Step]:
    repeat = timedelta(seconds=act.repeat_every) if act.repeat_every else None
    return [Step(1, timedelta(seconds=act.warn_after), Stage.Notify.CUSTOMER),
            Step(2, timedelta(seconds=act.alarm_after), Stage.Notify.SUPPORT, repeat)]


def stages_of(contract: Contract | None, act, cache: dict | None = None) -> list[Step]:
    key = contract.pk if contract else None
    if cache is not None and key in cache:
        return cache[key]
    steps = [Step(s.position, s.after, s.notify, s.repeat) for s in contract.stages.all()] if contract else []
    steps = steps or default_stages(act)
    if cache is not None:
        cache[key] = steps
    return steps


def first_due(system: System, act) -> datetime | None:
    if system.last_seen is None:
        return None
    return system.last_seen + stages_of(system.contract, act)[0].after


@dataclass
class Sweep:
    """What one sweep did."""

    looked_at: int = 0
    fired: int = 0
    site_notices: int = 0
    held: int = 0
    stages: dict = field(default_factory=dict)
    contracts: dict = field(default_factory=dict)


def sweep(act, now: datetime, batch: int = BATCH) -> Sweep:
    done = Sweep()
    while True:
        with transaction.atomic():
            systems = list(System.objects.select_for_update(skip_locked=True).filter(due_at__lte=now)
                           .only(*SWEPT).order_by("due_at")[:batch])
            if systems:
                attach_contracts(systems, done.contracts)
                escalate_batch(systems, act, now, done)
        done.looked_at += len(systems)
        if len(systems) < batch:
            return done


SWEPT = ("id", "system_id", "contract_id", "last_seen", "due_at", "contact_name", "contact_mail")


def attach_contracts(systems: list[System], cache: dict) -> None:
    """Each system's contract from one query per sweep (not a join per batch row)."""
    missing = {s.contract_id for s in systems if s.contract_id is not None} - set(cache)
    cache.update(Contract.objects.in_bulk(missing))
    for system in systems:
        system.contract = cache.get(system.contract_id)


def escalate_batch(systems: list[System], act, now: datetime, done: Sweep) -> None:
    """One batch of due systems, set-wise: a few statements per batch, not per system (a sweep after an outage
    finds thousands due at once)."""
    windows = dict(Maintenance.objects.filter(system__in=systems, starts_at__lte=now, until__gt=now)
                   .values("system_id").annotate(end=Max("until")).values_list("system_id", "end"))
    plans = []
    for system in systems:
        if system.last_seen is None:
            system.due_at = None
        elif system.pk in windows:
            done.held += 1
            system.due_at = windows[system.pk]
        else:
            plan = plan_of(system, stages_of(system.contract, act, done.stages), now)
            if plan.reached:
                plans.append(plan)
    silences = open_silences([plan.system for plan in plans], now)
    notices, moves = [], {}
    for plan in plans:
        silence = silences[plan.system.pk]
        fresh = [step for step in plan.reached if step.position > silence.stage]
        notices += [(silence, step, plan.system, "") for step in fresh]
        if fresh:
            moves.setdefault((silence.stage, fresh[-1].position, len(fresh)), []).append(silence.pk)
        top = plan.reached[-1]
        if top.repeat:
            count = int((plan.silent_for - top.after) / top.repeat)
            if count > silence.repeats:  # a stage that fires just now (a window ended) is not repeated at once
                if top not in fresh:
                    notices.append((silence, top, plan.system, f":repeat:{count}"))
                Silence.objects.filter(pk=silence.pk, repeats__lt=count).update(repeats=count)
    for (old, new, steps), ids in moves.items():  # compare-and-set: only silences still at `old` move
        done.fired += steps * Silence.objects.filter(pk__in=ids, stage=old).update(stage=new, stage_at=now)
    write_notices(notices, act, now, done)
    write_due_times(systems)


@dataclass
class Plan:
    system: System
    reached: list[Step]
    silent_for: timedelta


def plan_of(system: System, steps: list[Step], now: datetime) -> Plan:
    """The stages the silence has reached, and (on the system) when it is next due."""
    silent_for = now - system.last_seen
    reached = [step for step in steps if step.after <= silent_for]
    later = [step for step in steps if step.after > silent_for]
    system.due_at, system.due_after = None, None
    if later:
        system.due_after = later[0].after
    top = reached[-1] if reached else None
    if not later and top is not None and top.repeat:
        count = int((silent_for - top.after) / top.repeat)
        system.due_after = top.after + top.repeat * (count + 1)
    return Plan(system, reached, silent_for)


def write_due_times(systems: list[System]) -> None:
    """Each system's next due time, one UPDATE per distinct value: most are `last_seen` plus a stage's delay,
    the same for many systems."""
    by_offset: dict[timedelta, list[int]] = {}
    by_time: dict[datetime | None, list[int]] = {}
    for system in systems:
        offset = getattr(system, "due_after", None)
        if offset is not None:
            by_offset.setdefault(offset, []).append(system.pk)
        else:
            by_time.setdefault(system.due_at, []).append(system.pk)
    for offset, ids in by_offset.items():
        System.objects.filter(pk__in=ids).update(
            due_at=ExpressionWrapper(F("last_seen") + Value(offset, output_field=DurationField()),
                                     output_field=DateTimeField()))
    for when, ids in by_time.items():
        System.objects.filter(pk__in=ids).update(due_at=when)


def open_silences(systems: list[System], now: datetime) -> dict[int, Silence]:
    """Each system's open silence, opened where there is none (a racing sweeper's, if it was first, is kept)."""
    found = {s.system_id: s for s in Silence.objects.filter(system__in=systems, closed_at=None)}
    missing = [s for s in systems if s.pk not in found]
    if missing:
        insert_new(Silence, [{"system": s.pk, "last_seen": s.last_seen, "opened_at": now, "stage": 0,
                              "repeats": 0} for s in missing])
        found.update({s.system_id: s for s in Silence.objects.filter(system__in=missing, closed_at=None)})
    return found


def write_notices(notices: list, act, now: datetime, done: Sweep) -> None:
    """The notices into the outbox at once; a key written before (a racing sweeper) is left as it is."""
    from tkalert.receiver.models import Outbox

    rows, sites = {}, SiteGroups([system for _, _, system, _ in notices], act)
    for silence, step, system, suffix in notices:
        group = sites.group_of(system)
        if group is None:
            recipient = recipient_of(step, [system], act)
            subject, body = stage_text(system, step, now)
            key, purpose = f"silence:{silence.pk}:stage:{step.position}{suffix}", "stage"
        else:
            hour, load = group
            key, purpose = f"site:{system.contract_id}:{step.position}:{hour:%Y%m%dT%H}{suffix}", "site"
            if key in rows:
                continue
            members = load()
            recipient = recipient_of(step, members, act)
            subject = site_subject(system.contract, len(members), step)
            body = site_body(system.contract, members, step, now)
            done.site_notices += 1
        if recipient and key not in rows:
            rows[key] = {"key": key, "kind": Outbox.Kind.MAIL.value, "purpose": purpose, "recipient": recipient,
                         "subject": subject, "body": body, "headers": {}, "created_at": now, "due_at": now,
                         "state": Outbox.State.PENDING.value, "claim_token": "", "attempts": 0, "last_error": "",
                         "silence": silence.pk if group is None else None, "system": system.pk}
    insert_new(Outbox, list(rows.values()))


class SiteGroups:
    """Which due systems went silent together with most of their contract: per contract and batch one count, and
    the silent neighbours' times only where a group can reach the share at all."""

    def __init__(self, systems: list[System], act):
        self.act, self.near = act, {}
        by_contract: dict[int, list[System]] = {}
        for system in systems:
            if system.contract_id is not None:
                by_contract.setdefault(system.contract_id, []).append(system)
        for contract_id, members in by_contract.items():
            share = members[0].contract.site_share or act.site_share
            total = System.objects.filter(contract_id=contract_id, last_seen__isnull=False).count()
            needed = max(act.site_minimum, share * total)
            window = System.objects.filter(contract_id=contract_id,
                                           last_seen__gte=min(s.last_seen for s in members) - HOUR,
                                           last_seen__lte=max(s.last_seen for s in members) + HOUR)
            if total < act.site_minimum or window.count() < needed:
                continue  # not even all of the window's silent systems together would be a site
            seen = sorted(window.values_list("last_seen", flat=True))
            self.near[contract_id] = (needed, seen)

    def group_of(self, system: System):
        """(the hour the group fell silent in, a loader of its systems) when most of the contract went silent
        together; None otherwise."""
        if system.contract_id not in self.near:
            return None
        needed, seen = self.near[system.contract_id]
        low, high = system.last_seen - HOUR, system.last_seen + HOUR
        first = bisect_left(seen, low)
        if bisect_right(seen, high) - first < needed:
            return None

        def members() -> list[System]:  # loaded once per notice, not per member system
            return list(System.objects.filter(contract_id=system.contract_id, last_seen__gte=low,
                                              last_seen__lte=high).order_by("last_seen")
                        .only("system_id", "last_seen", "contact_mail"))

        return seen[first].replace(minute=0, second=0, microsecond=0), members


def recipient_of(step: Step, systems: list[System], act) -> str:
    if step.notify == Stage.Notify.SUPPORT:
        return act.support_mail or ""
    return ", ".join(sorted({s.contact_mail for s in systems if s.contact_mail}))


def recovered(silence: Silence, system: System, act, now: datetime) -> None:
    """One recovery notice to everyone the silence's stages told (nothing when no stage fired)."""
    if silence.stage == 0:
        return
    steps = [step for step in stages_of(system.contract, act) if step.position <= silence.stage]
    recipients = sorted({address.strip() for step in steps for address in recipient_of(step, [system], act)
                         .split(",") if address.strip()})
    if recipients:
        body = (f"System {system.system_id} sends heartbeats again (received {now:%Y-%m-%d %H:%M:%S} UTC) after "
                f"{hours(now - silence.last_seen)} of silence.\n")
        mail(f"silence:{silence.pk}:recovery", "recovery", ", ".join(recipients),
             f"tkalert: {system.system_id} is back", body, now, silence=silence, system=system)


def stage_text(system: System, step: Step, now: datetime) -> tuple[str, str]:
    customer = system.contract.customer if system.contract else ""
    silent = hours(now - system.last_seen)
    if step.notify == Stage.Notify.CUSTOMER:
        return (f"tkalert reminder: no heartbeat from {system.system_id} for {silent}",
                f"Dear {system.contact_name or 'customer'},\n\nthe vendor has received no heartbeat from system "
                f"{system.system_id} since {system.last_seen:%Y-%m-%d %H:%M} UTC ({silent}).\nPlease check that "
                "the system and its monitoring run and can send mail.\n")
    return (f"tkalert: {system.system_id} ({customer}) silent for {silent}",
            f"No heartbeat for {silent}:\n\n{listing([system])}")


def site_subject(contract: Contract, count: int, step: Step) -> str:
    who = contract.customer or contract.auth_key
    return f"tkalert: {count} systems of {who} went silent together (stage {step.position})"


def site_body(contract: Contract, systems: list[System], step: Step, now: datetime) -> str:
    return (f"{len(systems)} systems of contract {contract.auth_key} ({contract.customer}) stopped sending heartbeats "
            f"within the same hour: probably the site, its network or its mail relay, not the systems.\n\n"
            f"{listing(systems)}")


def listing(systems: list[System]) -> str:
    return "".join(f"  {s.system_id:<30} last seen {s.last_seen:%Y-%m-%d %H:%M} UTC  {s.contact_mail}\n"
                   for s in systems)


def hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.0f} h"
