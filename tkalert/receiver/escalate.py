"""Escalate: the sweeper that turns missing heartbeats into notices, each stage once per silence.

A system's `due_at` (indexed) is when it next needs a look: its last heartbeat plus the first stage's delay, a
later stage's, a repeat's, or the end of a maintenance window. `sweep` reads only rows whose due time has come
(never a full scan), in batches, each in one transaction (SKIP LOCKED on PostgreSQL, so sweepers pass each other):
  1. in a maintenance window: nothing fires; it is due again when the window ends;
  2. otherwise the open Silence (one per system, a unique index) is found or opened, and every stage whose delay
     has passed and is above the stage reached fires: a compare-and-set `UPDATE ... WHERE stage = old` (rowcount 1
     wins), then an Outbox row under the key `silence:<id>:stage:<n>`; a repeat likewise with its count;
  3. when most of a contract's systems (`site_share`, at least `site_minimum`) fell silent within the same hour,
     a stage makes one site notice listing them instead of a mail per system (key `site:<contract>:<n>:<hour>`);
  4. the next due time is written; none when nothing is left to fire.
A heartbeat closes the silence (tkalert.receiver.act) and `recovered` writes one recovery notice to everyone the
stages told. Stages come from the contract (`contracts stages`) or receiver.conf (warn_after, alarm_after).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction

from tkalert.receiver.models import Contract, Maintenance, Silence, Stage, System
from tkalert.receiver.outbox import mail

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
    sites: dict = field(default_factory=dict)


def sweep(act, now: datetime, batch: int = BATCH) -> Sweep:
    done = Sweep()
    while True:
        with transaction.atomic():
            systems = list(System.objects.select_for_update(skip_locked=True, of=("self",))
                           .select_related("contract").filter(due_at__lte=now).order_by("due_at")[:batch])
            for system in systems:
                escalate_system(system, act, now, done)
        done.looked_at += len(systems)
        if len(systems) < batch:
            return done


def escalate_system(system: System, act, now: datetime, done: Sweep) -> None:
    mine = System.objects.filter(pk=system.pk, due_at=system.due_at)
    if system.last_seen is None:
        mine.update(due_at=None)
        return
    window = Maintenance.objects.filter(system=system, starts_at__lte=now, until__gt=now).order_by("-until").first()
    if window is not None:
        done.held += 1
        mine.update(due_at=window.until)
        return
    steps = stages_of(system.contract, act, done.stages)
    silent_for = now - system.last_seen
    reached = [step for step in steps if step.after <= silent_for]
    if not reached:
        mine.update(due_at=system.last_seen + steps[0].after)
        return
    silence, _ = Silence.objects.get_or_create(system=system, closed_at=None,
                                               defaults={"last_seen": system.last_seen, "opened_at": now})
    for step in reached:
        if step.position > silence.stage and fire(silence, step, system, act, now, done):
            done.fired += 1
    top = reached[-1]
    repeat_due = None
    if top.repeat and silence.stage == top.position:
        count = int((silent_for - top.after) / top.repeat)
        if count > silence.repeats and Silence.objects.filter(pk=silence.pk, repeats=silence.repeats).update(
                repeats=count):
            silence.repeats = count
            notify(silence, top, system, act, now, done, suffix=f":repeat:{count}")
        repeat_due = system.last_seen + top.after + top.repeat * (count + 1)
    later = [step for step in steps if step.after > silent_for]
    due = system.last_seen + later[0].after if later else repeat_due
    mine.update(due_at=due)


def fire(silence: Silence, step: Step, system: System, act, now: datetime, done: Sweep) -> bool:
    """The stage's compare-and-set; when this sweeper won it, its notice into the outbox."""
    if not Silence.objects.filter(pk=silence.pk, stage=silence.stage).update(stage=step.position, stage_at=now):
        silence.refresh_from_db()
        return False
    silence.stage = step.position
    notify(silence, step, system, act, now, done)
    return True


def notify(silence: Silence, step: Step, system: System, act, now: datetime, done: Sweep, suffix: str = "") -> None:
    site = site_group(system, act, done)
    recipient = recipient_of(step, [system] if site is None else site[1], act)
    if not recipient:
        return
    if site is not None:
        hour, systems = site
        key = f"site:{system.contract_id}:{step.position}:{hour:%Y%m%dT%H}{suffix}"
        if mail(key, "site", recipient, site_subject(system.contract, len(systems), step),
                site_body(system.contract, systems, step, now), now, system=system):
            done.site_notices += 1
        return
    subject, body = stage_text(system, step, now)
    mail(f"silence:{silence.pk}:stage:{step.position}{suffix}", "stage", recipient, subject, body, now,
         silence=silence, system=system)


def recipient_of(step: Step, systems: list[System], act) -> str:
    if step.notify == Stage.Notify.SUPPORT:
        return act.support_mail or ""
    return ", ".join(sorted({s.contact_mail for s in systems if s.contact_mail}))


def site_group(system: System, act, done: Sweep) -> tuple[datetime, list[System]] | None:
    """(the hour the group fell silent in, its systems) when most of the contract went silent together."""
    contract = system.contract
    if contract is None:
        return None
    if contract.pk not in done.sites:
        done.sites[contract.pk] = System.objects.filter(contract=contract, last_seen__isnull=False).count()
    total = done.sites[contract.pk]
    if total < act.site_minimum:
        return None
    near = list(System.objects.filter(contract=contract, last_seen__gte=system.last_seen - HOUR,
                                      last_seen__lte=system.last_seen + HOUR).order_by("last_seen"))
    share = contract.site_share or act.site_share
    if len(near) < act.site_minimum or len(near) < share * total:
        return None
    return near[0].last_seen.replace(minute=0, second=0, microsecond=0), near


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
