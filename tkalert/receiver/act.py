"""Act: what an accepted message changes, in the same transaction as its verdict (tkalert.receiver.work).

  alert, first problem state     opens an Episode for (system, host, service) and its ticket
  alert, another problem state   updates the episode (compare-and-set on the old state) and the ticket
  alert, the same state again    only the episode's time and output: no mail
  alert, OK / UP                 closes the episode and its ticket; nothing open: nothing to do
  heartbeat                      the system's next due time; closes an open Silence with one recovery notice
  test                           a signed receipt to the sender's contact (1.5's "TKmon Setup OK")
  report                         each reported file's current content and version (tkalert.receiver.reports);
                                 a receipt, where the contract asks for receipts
  any signed message             clock drift beyond `drift_limit`: one notice to the contact per drift episode
Each effect is a conditional UPDATE whose rowcount says who won, and every notification an Outbox row under a
unique key, so a retried or racing worker does nothing twice. A message of an older receipt time than the
episode's last update (delivery retries reorder) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import F

from tkalert.receiver.models import Episode, Message, Silence, System

RECOVERED = {"OK", "UP"}
ACCEPTED = Message.Verdict.ACCEPTED


def act_on_verdict(message: Message, config, batch=None) -> None:
    """Act on `message` and on its accepted digest events; anything not accepted changes nothing. With a `batch`
    (tkalert.receiver.judge.Batch) a repeated alert's episode update is owed until its flush."""
    act_on(message, config, batch)
    if message.document_type == "digest" and message.verdict == ACCEPTED:
        for event in Message.objects.filter(parent=message, verdict=ACCEPTED).defer("raw").order_by("id"):
            act_on(event, config, batch)


def act_on(message: Message, config, batch=None) -> None:
    if message.verdict != ACCEPTED or message.system_id is None:
        return
    step = STEPS.get(message.document_type)
    if step is not None:
        step(message, config, batch)
    notice_drift(message, config.act)


def act_on_alert(message: Message, config, batch=None) -> None:
    fields = message.fields or {}
    host = fields.get("host/name", "")
    service = fields.get("service/name", "")
    state = (fields.get("service/status") if service else fields.get("host/status")) or "UNKNOWN"
    state = state.upper()
    for _ in range(RACES):
        episode = open_episode(message.system_id, host, service, batch)
        if episode is None:
            if state not in RECOVERED:
                open_new(message, host, service, state, config, batch)
            return
        if alert_on(episode, message, state, config, batch):
            return
        if batch is not None:  # another worker changed it since this batch read it: read it again
            batch.episodes.pop(episode_key(episode), None)


RACES = 3  # reads of an episode that other workers keep changing under this one: a bound on the retries


def open_new(message: Message, host: str, service: str, state: str, config, batch=None) -> Episode:
    """The first problem state: a new episode and its ticket."""
    from tkalert.receiver.outbox import message_id_for
    from tkalert.receiver.tickets import ticket_event

    now = message.received_at
    episode = Episode.objects.create(
        system_id=message.system_id, host=host, service=service, state=state, output=output_of(message.fields or {}),
        opened_at=now, updated_at=now, first_message=message, suppressed=in_maintenance(message.system_id, now))
    episode.thread_id = message_id_for(f"episode:{episode.pk}:open")
    Episode.objects.filter(pk=episode.pk).update(thread_id=episode.thread_id)
    if batch is not None:
        batch.episodes[episode_key(episode)] = episode
    ticket_event(episode, message, "open", config.act, now)
    return episode


def alert_on(episode: Episode, message: Message, state: str, config, batch=None) -> bool:
    """Another alert for an open episode: False when its compare-and-set lost (another worker changed the
    episode since it was read), for the caller to read it again."""
    from tkalert.receiver.tickets import ticket_event

    now, output = message.received_at, output_of(message.fields or {})
    owed = batch.repeats.get(episode.pk) if batch is not None else None
    if now < (max(episode.updated_at, owed.updated_at) if owed else episode.updated_at):
        return True  # an older report arriving late
    if state == episode.state and batch is not None:
        batch.repeats[episode.pk] = Repeats(episode.state, now, (owed.count if owed else 0) + 1, output)
        return True
    if owed:  # the repeats before a change are written first, as they came
        write_repeats({episode.pk: batch.repeats.pop(episode.pk)})
    mine = Episode.objects.filter(pk=episode.pk, state=episode.state, closed_at=None)
    if state in RECOVERED:
        if not mine.update(state=state, closed_at=now, updated_at=now, output=output):
            return False
        episode.refresh_from_db()
        if batch is not None:
            batch.episodes.pop(episode_key(episode), None)
        ticket_event(episode, message, "close", config.act, now)
    elif state == episode.state:
        repeated(episode, now, output)
    elif mine.update(state=state, changes=F("changes") + 1, updated_at=now, output=output):
        episode.refresh_from_db()
        ticket_event(episode, message, "change", config.act, now)
    else:
        return False
    return True


# The two statements of every repeated alert (the most common message after heartbeats), as SQL written once: the
# ORM's compiling of a filter costs ten times the statement itself. Its system and contract are read only when a
# ticket event needs them (open, change, close).
OPEN_EPISODE = "SELECT * FROM {table} WHERE system_id = %s AND host = %s AND service = %s AND closed_at IS NULL"
REPEATED = ("UPDATE {table} SET updated_at = %s, repeats = repeats + %s, output = %s "
            "WHERE id = %s AND state = %s AND closed_at IS NULL")


@dataclass(frozen=True)
class Repeats:
    """A batch's repeats of one episode's state, owed until its flush: one UPDATE for them all, whose row lock is
    then held only until the commit (not from the first repeat on: a second worker would wait all that time)."""

    state: str  # the episode's state they repeat (the compare-and-set)
    updated_at: datetime  # the newest
    count: int
    output: str  # the newest


def open_episode(system_id: int, host: str, service: str, batch=None) -> Episode | None:
    """The open episode of (system, host, service): one at most (the one_open_episode constraint). With a `batch`,
    read once per batch: its later alerts for the same service (a storm's) find it in memory, kept up to date with
    what this batch changes; a compare-and-set that loses to another worker drops it (act_on_alert reads again)."""
    key = (system_id, host, service)
    if batch is not None and key in batch.episodes:
        return batch.episodes[key]
    sql = OPEN_EPISODE.format(table=connection.ops.quote_name(Episode._meta.db_table))
    episode = next(iter(Episode.objects.raw(sql, [system_id, host, service])), None)
    if batch is not None and episode is not None:
        batch.episodes[key] = episode
    return episode


def episode_key(episode: Episode) -> tuple:
    return episode.system_id, episode.host, episode.service


def repeated(episode: Episode, now: datetime, output: str) -> None:
    """The same state again: only the episode's time, count and output (compare-and-set on its state)."""
    write_repeats({episode.pk: Repeats(episode.state, now, 1, output)})


def write_repeats(repeats: dict) -> None:
    """Each episode's owed Repeats (Episode pk -> Repeats), in one executemany; emptied."""
    if not repeats:
        return
    prepare = Episode._meta.get_field("updated_at").get_db_prep_save
    rows = [[prepare(r.updated_at, connection), r.count, r.output, pk, r.state] for pk, r in repeats.items()]
    with connection.cursor() as cursor:
        cursor.executemany(REPEATED.format(table=connection.ops.quote_name(Episode._meta.db_table)), rows)
    repeats.clear()


def act_on_heartbeat(message: Message, config, batch=None) -> None:
    """The newest heartbeat ends a silence; an older one changes nothing. The first one gives the system its due
    row (tkalert.receiver.escalate keeps it from then on, judging from the last heartbeat when it comes due: a
    heartbeat writes no due time)."""
    from tkalert.receiver.escalate import first_due, recovered, schedule

    now = message.received_at
    if "maintenance" in (message.fields or {}):
        declared_maintenance(message, config)
    system = System.objects.select_related("contract").get(pk=message.system_id)
    if system.last_seen != now:
        return
    if not Message.objects.filter(system_id=system.pk, document_type="heartbeat", verdict=Message.Verdict.ACCEPTED,
                                  received_at__lt=now).exists():
        schedule([(system.pk, first_due(system, config.act))])
    silence = Silence.objects.filter(system=system, closed_at=None).first()
    if silence and Silence.objects.filter(pk=silence.pk, closed_at=None).update(closed_at=now):
        recovered(silence, system, config.act, now)


def declared_maintenance(message: Message, config) -> None:
    """A heartbeat's `<maintenance until=...>` (tkalert maintenance): a window from its receipt until then, at
    most `maintenance_max` long; an `until` not after its receipt ends the system's current windows."""
    from datetime import timedelta

    from tkalert.document.reader import parse_untrusted
    from tkalert.receiver.models import Maintenance
    from tkalert.receiver.opened import utc

    element = parse_untrusted(bytes(message.document)).find("maintenance")
    now = message.received_at
    longest = now + timedelta(seconds=config.act.maintenance_max)
    try:
        until = min(utc(element.get("until")), longest)
    except (ValueError, OverflowError):  # past what Python holds (9999-12-31T24:00:00Z): the longest window
        until = longest
    if until <= now:
        Maintenance.objects.filter(system_id=message.system_id, starts_at__lte=now, until__gt=now).update(until=now)
        return
    reason = " ".join((element.text or "").split()) or "declared by the system"
    Maintenance.objects.create(system_id=message.system_id, starts_at=now, until=until,
                               reason=reason[:Maintenance._meta.get_field("reason").max_length])


def act_on_test(message: Message, config, batch=None) -> None:
    from tkalert.receiver.receipt import receipt

    receipt(message, config.act)


def act_on_report(message: Message, config, batch=None) -> None:
    """A report's files are stored (tkalert.receiver.reports); it gets a receipt where its contract asks for one
    (`Contract.receipts`; #12's daily reports)."""
    from tkalert.receiver.receipt import receipt
    from tkalert.receiver.reports import store_report

    store_report(message)
    if message.contract_id is not None and message.contract.receipts:
        receipt(message, config.act, what="report")
    ask_for_full_report(message)


def ask_for_full_report(message: Message) -> bool:
    """When this report left files whose content the receiver no longer knows (a report was lost between a diff
    and its base), one mail to the system's contact asks for `tkalert report --full`; True when written."""
    from tkalert.receiver.models import Outbox, ReportFile, ReportFileVersion
    from tkalert.receiver.outbox import enqueue
    from tkalert.receiver.receipt import contact_of

    paths = sorted(ReportFileVersion.objects.filter(message=message, state=ReportFile.State.NEEDS_FULL)
                   .values_list("file__path", flat=True))
    contact = contact_of(message)
    if not paths or not contact:
        return False
    system = message.system.system_id
    body = (f"tkalert-receiver: report {message.message_id} from system {system} changed files whose earlier "
            f"version the receiver does not have (a report was lost on the way), so their content is unknown:\n\n"
            + "".join(f"  {path}\n" for path in paths)
            + "\nPlease send one full report from that system:\n\n  tkalert report --full\n")
    return enqueue(f"needs-full:{message.message_id}", Outbox.Kind.MAIL, "needs-full", contact,
                   f"tkalert: system {system} needs a full report", body, message.received_at,
                   system=message.system)


def notice_drift(message: Message, act) -> None:
    """One notice per drift episode: it begins when the signed time is off by more than `drift_limit` and ends
    with the first message within it."""
    from tkalert.receiver.outbox import mail

    if message.signed_at is None or message.parent_id is not None:
        return
    skew = (message.received_at - message.signed_at).total_seconds()
    # the judge's System, read in this transaction and kept up to date by it: no UPDATE that would change nothing
    known = message.system if Message.system.is_cached(message) else None
    drifting = abs(skew) > act.drift_limit
    if known is not None and (known.drifting_since is not None) == drifting:
        return
    mine = System.objects.filter(pk=message.system_id)
    if not drifting:
        mine.exclude(drifting_since=None).update(drifting_since=None)
        if known is not None:
            known.drifting_since = None
        return
    if not mine.filter(drifting_since=None).update(drifting_since=message.received_at):
        return
    if known is not None:
        known.drifting_since = message.received_at
    system = System.objects.get(pk=message.system_id)
    contact = (message.fields or {}).get("contact-mail") or system.contact_mail
    if contact:
        direction = "behind" if skew > 0 else "ahead of"
        body = (f"The clock of system {system.system_id} is {abs(skew):.0f} seconds {direction} the receiver's "
                f"(message {message.message_id}, received {message.received_at:%Y-%m-%d %H:%M:%S} UTC).\n"
                "Please check its time synchronisation (NTP); escalation uses the receiver's clock only.\n")
        mail(f"drift:{system.pk}:{message.received_at.isoformat()}", "drift", contact,
             f"tkalert: clock drift on {system.system_id}", body, message.received_at, system=system)


def in_maintenance(system_id: int, now: datetime) -> bool:
    from tkalert.receiver.models import Maintenance

    return Maintenance.objects.filter(system_id=system_id, starts_at__lte=now, until__gt=now).exists()


def output_of(fields: dict) -> str:
    return fields.get("service/plugin-output") or fields.get("host/output") or ""


STEPS = {"alert": act_on_alert, "heartbeat": act_on_heartbeat, "test": act_on_test, "report": act_on_report}
