"""Escalate: the sweeper that turns missing heartbeats into notices, each stage once per silence.

When a system next needs a look (its last heartbeat plus the first stage's delay, a later stage's, a repeat's, or
the end of a maintenance window) is a row of the narrow `DueTime` table, not a column of the system: `sweep` takes the
rows whose time has come (never a full scan) and deletes them, in batches, each in one transaction (SKIP LOCKED on
PostgreSQL, so sweepers pass each other), each done set-wise, a handful of statements per batch whatever its size
(tkalert.receiver.bulk: after a relay or network outage ten thousand systems are due at once, and rows go in and
out as tuples, not model instances). The wide System rows are only read: a sweep writes its due rows, silences and
outbox rows, which land together on a few pages. A due row is a hint: each system is judged from its last
heartbeat, so one heard from since is simply scheduled again (a healthy system is looked at once per first-stage
delay, where a heartbeat used to rewrite its due time each time). Nothing locks the system rows either: a heartbeat
committed while a batch runs is not waited for, so the batch may fire a stage on the heartbeat before it; that
silence closes, with its recovery notice, at the next heartbeat.
  1. in a maintenance window: nothing fires; it is due again when the window ends;
  2. otherwise every stage whose delay has passed and is above the stage of the system's open Silence fires. A
     system without one gets a silence born at that stage (INSERT ... ON CONFLICT DO NOTHING RETURNING: the unique
     open silence is the compare-and-set); an open one moves by `UPDATE ... WHERE stage = old RETURNING id`, a
     repeat likewise by `WHERE repeats < count`. Only what this sweeper won becomes notices, Outbox rows under the
     key `silence:<id>:stage:<n>` (ON CONFLICT DO NOTHING as well), so two sweepers never send one stage twice;
  3. when most of a contract's systems (`site_share`, at least `site_minimum`) fell silent within the same hour,
     a stage makes one site notice listing them instead of a mail per system (key `site:<contract>:<n>:<hour>`);
  4. the next due row is written: the next stage or repeat, or, with nothing left to fire, a look again one first
     stage's delay later (so each system keeps exactly one due row from its first heartbeat on, and a heartbeat
     never has to write one: tkalert.receiver.act writes the first).
A heartbeat closes the silence (tkalert.receiver.act) and `recovered` writes one recovery notice to everyone the
stages told. Stages come from the contract (`contracts stages`) or receiver.conf (warn_after, alarm_after).
"""

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Max

from tkalert.receiver.bulk import insert_new, select_in, update_where
from tkalert.receiver.models import Contract, DueTime, Maintenance, Outbox, Silence, Stage, System
from tkalert.receiver.outbox import mail

BATCH = 10000  # a transaction each; a SQLite commit writes every page the batch touched
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


def schedule(pairs: list[tuple[int, datetime]]) -> None:
    """Due rows for (system pk, when) pairs."""
    insert_new(DueTime, ("system", "due_at"), pairs)


def next_due(system_pk: int) -> datetime | None:
    """The system's earliest due row (a full scan of the due rows: for tests, not the sweep)."""
    return DueTime.objects.filter(system_id=system_pk).order_by("due_at").values_list("due_at", flat=True).first()


@dataclass
class Sweep:
    """What one sweep did."""

    looked_at: int = 0
    fired: int = 0
    site_notices: int = 0
    held: int = 0
    stages: dict = field(default_factory=dict)
    contracts: dict = field(default_factory=dict)


class Due(NamedTuple):
    """A due system as the sweep reads it: the columns it needs, not a model instance (thousands per batch)."""

    pk: int
    system_id: str
    contract_id: int | None
    last_seen: datetime | None
    contact_name: str
    contact_mail: str
    contract: Contract | None = None


SWEPT = ("id", "system_id", "contract_id", "last_seen", "contact_name", "contact_mail")


def sweep(act, now: datetime, batch: int = BATCH) -> Sweep:
    done = Sweep()
    while True:
        with collector_paused(), transaction.atomic():
            taken = take_due(now, batch)
            rows = systems_of(taken)
            if rows:
                escalate_batch(with_contracts(rows, done.contracts), act, now, done)
        done.looked_at += len(rows)
        if len(taken) < batch:
            return done


@contextmanager
def collector_paused():
    """Python's cycle collector off for one batch: its ten thousand rows, plans and notices (tuples that form no
    cycles) would start full collections that walk every object Django holds, a fifth of a sweep's CPU."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def take_due(now: datetime, batch: int) -> set[int]:
    """The systems of up to `batch` due rows, the rows deleted: this transaction's to look at (on PostgreSQL
    another sweeper skips the rows this one locked; `= ANY(ARRAY(...))`, as `IN (...)` there is planned as a hash
    join over the whole table). A system with two rows due is looked at once."""
    table = DueTime._meta.db_table
    pick = f"SELECT id FROM {table} WHERE due_at <= %s ORDER BY due_at LIMIT %s"
    among = f"= ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED))" if connection.vendor == "postgresql" else f"IN ({pick})"
    sql = f"DELETE FROM {table} WHERE id {among} RETURNING system_id"
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(now), batch])
        return {pk for pk, in cursor.fetchall()}


def systems_of(pks: set[int]) -> list[tuple]:
    """The columns the sweep needs of these systems (a system deleted since has none)."""
    return select_in(f"SELECT {', '.join(SWEPT)} FROM {System._meta.db_table} WHERE {{where}}", "id", pks)


def with_contracts(rows: list[tuple], cache: dict) -> list[Due]:
    """Each system with its contract, from one query per sweep (not a join per batch row)."""
    missing = {row[2] for row in rows if row[2] is not None} - set(cache)
    cache.update(Contract.objects.in_bulk(missing))
    return [Due(*row, cache.get(row[2])) for row in rows]


def escalate_batch(systems: list[Due], act, now: datetime, done: Sweep) -> None:
    """One batch of due systems, set-wise: a few statements per batch, not per system (a sweep after an outage
    finds thousands due at once)."""
    windows = open_windows(now)
    plans, due = [], {}
    for system in systems:
        if system.last_seen is None:
            due[system.pk] = None
        elif system.pk in windows:
            done.held += 1
            due[system.pk] = windows[system.pk]
        else:
            steps = stages_of(system.contract, act, done.stages)
            plan = plan_of(system, steps, now)
            due[system.pk] = plan.due_at or now + steps[0].after
            if plan.reached:
                plans.append(plan)
    write_notices(fire(plans, now, done), act, now, done)
    schedule([(pk, when) for pk, when in due.items() if when is not None])


def open_windows(now: datetime) -> dict[int, datetime]:
    """The end of each system's open maintenance window: all of them, a few, read through the `until` index
    rather than once per batch system."""
    return dict(Maintenance.objects.filter(starts_at__lte=now, until__gt=now).values("system_id")
                .annotate(end=Max("until")).values_list("system_id", "end"))


@dataclass
class Plan:
    system: Due
    reached: list[Step]
    due_at: datetime | None
    repeats: int


def plan_of(system: Due, steps: list[Step], now: datetime) -> Plan:
    """The stages the silence has reached, the repeats of the last one, and when the system is next due."""
    silent_for = now - system.last_seen
    reached = [step for step in steps if step.after <= silent_for]
    later = [step for step in steps if step.after > silent_for]
    top = reached[-1] if reached else None
    repeats = int((silent_for - top.after) / top.repeat) if top is not None and top.repeat else 0
    if later:
        due_at = system.last_seen + later[0].after
    elif top is not None and top.repeat:
        due_at = system.last_seen + top.after + top.repeat * (repeats + 1)
    else:
        due_at = None
    return Plan(system, reached, due_at, repeats)


Notice = tuple  # (silence id, Step, Due, key suffix)


def fire(plans: list[Plan], now: datetime, done: Sweep) -> list[Notice]:
    """The notices this sweeper won: a system without an open silence gets one born at the stage it reached (the
    unique open silence is the compare-and-set); an open one moves up by compare-and-set."""
    found = open_silences([plan.system.pk for plan in plans])
    newborn = [plan for plan in plans if plan.system.pk not in found]
    born = dict(insert_new(Silence, ("system", "last_seen", "opened_at", "stage", "stage_at", "repeats"),
                           [(plan.system.pk, plan.system.last_seen, now, plan.reached[-1].position, now,
                             plan.repeats) for plan in newborn], returning=("system_id", "id")))
    notices = []
    for plan in newborn:
        if plan.system.pk in born:
            notices += [(born[plan.system.pk], step, plan.system, "") for step in plan.reached]
            done.fired += len(plan.reached)
    found.update(open_silences([plan.system.pk for plan in newborn if plan.system.pk not in born]))
    return notices + move_silences([plan for plan in plans if plan.system.pk not in born], found, now, done)


def open_silences(system_pks: list[int]) -> dict[int, tuple[int, int, int]]:
    """Each system's open silence: {system pk: (silence id, stage, repeats)}."""
    rows = select_in(f"SELECT system_id, id, stage, repeats FROM {Silence._meta.db_table} "
                     "WHERE closed_at IS NULL AND {where}", "system_id", system_pks)
    return {system: (pk, stage, repeats) for system, pk, stage, repeats in rows}


def move_silences(plans: list[Plan], found: dict, now: datetime, done: Sweep) -> list[Notice]:
    """Open silences up to the stage their system reached (`UPDATE ... WHERE stage = old`), and the last stage
    again when a repeat is due (`WHERE repeats < count`): one statement per distinct move, notices for the
    silences this sweeper moved."""
    moves: dict[tuple[int, int], list] = {}
    repeats: dict[int, list] = {}
    for plan in plans:
        silence, stage, counted = found[plan.system.pk]
        fresh = [step for step in plan.reached if step.position > stage]
        if fresh:
            moves.setdefault((stage, fresh[-1].position), []).append((silence, plan, fresh))
        top = plan.reached[-1]
        if top.repeat and plan.repeats > counted:  # a stage that fires just now (a window ended) is not repeated
            repeats.setdefault(plan.repeats, []).append((silence, plan, top not in fresh))
    notices = []
    for (old, new), group in moves.items():
        won = set(update_where(Silence, [silence for silence, _, _ in group], {"stage": new, "stage_at": now},
                               "stage = %s AND closed_at IS NULL", [old]))
        for silence, plan, fresh in group:
            if silence in won:
                notices += [(silence, step, plan.system, "") for step in fresh]
                done.fired += len(fresh)
    for count, group in repeats.items():
        won = set(update_where(Silence, [silence for silence, _, _ in group], {"repeats": count},
                               "repeats < %s", [count]))
        notices += [(silence, plan.reached[-1], plan.system, f":repeat:{count}") for silence, plan, again in group
                    if again and silence in won]
    return notices


OUTBOX = ("key", "kind", "purpose", "recipient", "subject", "body", "headers", "created_at", "due_at", "state",
          "claim_token", "attempts", "last_error", "silence", "system")


def write_notices(notices: list[Notice], act, now: datetime, done: Sweep) -> None:
    """The notices into the outbox at once; a key written before (a racing sweeper) is left as it is."""
    rows, sites, no_headers = {}, SiteGroups([system for _, _, system, _ in notices], act), {}
    for silence, step, system, suffix in notices:
        group = sites.group_of(system)
        if group is None:
            recipient = recipient_of(step, [system], act)
            subject, body = stage_text(system, step, now)
            key, purpose = f"silence:{silence}:stage:{step.position}{suffix}", "stage"
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
            rows[key] = (key, Outbox.Kind.MAIL.value, purpose, recipient, subject, body, no_headers, now, now,
                         Outbox.State.PENDING.value, "", 0, "", silence if group is None else None, system.pk)
    insert_new(Outbox, OUTBOX, list(rows.values()))


class SiteGroups:
    """Which due systems went silent together with most of their contract: per contract and batch, the silent
    systems around them counted, and the contract's size only up to what that count could be a share of."""

    def __init__(self, systems: list[Due], act):
        self.act, self.near = act, {}
        by_contract: dict[int, list[Due]] = {}
        for system in systems:
            if system.contract_id is not None:
                by_contract.setdefault(system.contract_id, []).append(system)
        for contract_id, members in by_contract.items():
            share = members[0].contract.site_share or act.site_share
            window = System.objects.filter(contract_id=contract_id,
                                           last_seen__gte=min(s.last_seen for s in members) - HOUR,
                                           last_seen__lte=max(s.last_seen for s in members) + HOUR)
            silent = window.count()
            if silent < act.site_minimum:
                continue
            # a contract of 100,000 systems is not counted to learn that 1,000 silent ones are not most of it
            cap = int(silent / share) + 2
            total = System.objects.filter(contract_id=contract_id, last_seen__isnull=False)[:cap].count()
            needed = max(act.site_minimum, share * total)
            if total == cap or silent < needed:
                continue  # not even all of the window's silent systems together would be a site
            seen = sorted(window.values_list("last_seen", flat=True))
            self.near[contract_id] = (needed, seen)

    def group_of(self, system: Due):
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


def stage_text(system: System | Due, step: Step, now: datetime) -> tuple[str, str]:
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
