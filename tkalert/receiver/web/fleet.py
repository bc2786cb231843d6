"""The fleet overview's data: one page of systems, each with its 30-day heartbeat strip and escalation state.

However many rows a page holds, it costs the same handful of queries: the filtered page itself (contract joined),
then one aggregate per column for just the page's systems (heartbeats per day, open silences, open episodes,
maintenance windows, quarantined messages). Overdue means what the sweep decided: an open Silence (tkalert's
escalation state), at the stage it reached; the last heartbeat's age is shown beside it as the raw fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.utils.safestring import mark_safe

from tkalert.receiver.models import Episode, Maintenance, Message, Silence, System

STRIP_DAYS = 30
PAGE_SIZE = 100
STATES = {
    "overdue": "heartbeats overdue (escalating)",
    "ok": "heartbeats on time",
    "never": "never sent a heartbeat",
    "alerting": "open alert episodes",
    "maintenance": "in a maintenance window",
    "unpinned": "no pinned key",
    "invalid": "contract invalid",
}
CELL_TITLES = {"ok": "received", "miss": "missed", "maint": "maintenance", "none": "not yet known"}


@dataclass
class Filters:
    contract: str = ""
    state: str = ""
    text: str = ""

    @classmethod
    def from_query(cls, query) -> Filters:
        state = query.get("state", "")
        return cls(contract=query.get("contract", "").strip(), state=state if state in STATES else "",
                   text=query.get("q", "").strip()[:200])


@dataclass
class Row:
    system: System
    strip: list[tuple[date, str]] = field(default_factory=list)
    stage: int | None = None
    open_episodes: int = 0
    maintenance_until: datetime | None = None
    quarantined: int = 0
    contract_valid: bool | None = None

    @property
    def overdue(self) -> bool:
        return self.stage is not None

    @property
    def strip_html(self) -> str:
        # 3,000 cells a page: plain formatting, as every piece is ours (an ISO date and a word of CELL_TITLES);
        # format_html would spend a third of the page's time escaping them
        return mark_safe("".join(f'<i class="c-{state}" title="{day.isoformat()} {CELL_TITLES[state]}"></i>'
                                 for day, state in self.strip))


def overdue_ids():
    """The systems with an open silence, as a subquery: SQL runs it once (a correlated EXISTS ran per system)."""
    return Silence.objects.filter(closed_at=None).values("system_id")


def alerting_ids():
    return Episode.objects.filter(closed_at=None).values("system_id")


def maintenance_ids(now):
    return Maintenance.objects.filter(starts_at__lte=now, until__gt=now).values("system_id")


def filtered_systems(filters: Filters, now: datetime):
    systems = System.objects.select_related("contract")
    if filters.contract:
        systems = systems.filter(contract__auth_key=filters.contract)
    if filters.text:
        text = filters.text
        systems = systems.filter(Q(system_id__icontains=text) | Q(contact_name__icontains=text)
                                 | Q(contact_mail__icontains=text) | Q(contract__customer__icontains=text)
                                 | Q(contract__auth_key__icontains=text))
    state = filters.state
    if state == "overdue":
        systems = systems.filter(pk__in=overdue_ids())
    elif state == "ok":
        systems = systems.filter(last_seen__isnull=False).exclude(pk__in=overdue_ids())
    elif state == "never":
        systems = systems.filter(last_seen__isnull=True)
    elif state == "alerting":
        systems = systems.filter(pk__in=alerting_ids())
    elif state == "maintenance":
        systems = systems.filter(pk__in=maintenance_ids(now))
    elif state == "unpinned":
        systems = systems.filter(pinned_key="")
    elif state == "invalid":
        systems = systems.filter(Q(contract__isnull=True) | Q(contract__revoked_at__isnull=False)
                                 | Q(contract__valid_until__lt=now))
    return systems.order_by(F("last_seen").asc(nulls_first=True), "system_id")


def overdue_count() -> int:
    return Silence.objects.filter(closed_at=None).values("system").distinct().count()


def fleet_page(filters: Filters, page_number, now: datetime, per_page: int = PAGE_SIZE):
    """(page, rows): the Paginator page of systems and a Row for each, all columns filled."""
    page = Paginator(filtered_systems(filters, now), per_page).get_page(page_number)
    return page, rows_for(list(page.object_list), now)


def rows_for(systems: list[System], now: datetime, days: int = STRIP_DAYS) -> list[Row]:
    ids = [system.pk for system in systems]
    stages = dict(Silence.objects.filter(system_id__in=ids, closed_at=None).values_list("system_id", "stage"))
    episodes = dict(Episode.objects.filter(system_id__in=ids, closed_at=None).order_by().values("system_id")
                    .annotate(n=Count("id")).values_list("system_id", "n"))
    quarantined = dict(Message.objects.filter(system_id__in=ids, verdict=Message.Verdict.QUARANTINED)
                       .order_by().values("system_id").annotate(n=Count("id")).values_list("system_id", "n"))
    first_day = now.date() - timedelta(days=days - 1)
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo)
    beats = heartbeat_days(ids, start)
    windows = maintenance_windows(ids, start, now)
    rows = []
    for system in systems:
        contract = system.contract
        current = [until for starts, until in windows.get(system.pk, []) if starts <= now < until]
        rows.append(Row(system=system, stage=stages.get(system.pk), open_episodes=episodes.get(system.pk, 0),
                        maintenance_until=max(current) if current else None,
                        quarantined=quarantined.get(system.pk, 0),
                        contract_valid=contract.valid_at(now) if contract else None,
                        strip=strip(system, first_day, days, beats.get(system.pk, set()),
                                    windows.get(system.pk, []))))
    return rows


def heartbeat_days(ids: list[int], start: datetime) -> dict[int, set[date]]:
    """The days (UTC) on which each system's heartbeats were accepted, since `start`."""
    found: dict[int, set[date]] = {}
    # the verdict is checked here, not in SQL: with it in the WHERE clause SQLite prefers the (verdict, received_at)
    # index and reads every heartbeat of the fleet since `start`, instead of the page's systems' only
    days = (Message.objects.filter(system_id__in=ids, document_type="heartbeat", received_at__gte=start)
            .order_by().values_list("system_id", TruncDate("received_at"), "verdict").distinct())
    for system_id, day, verdict in days:
        if verdict == Message.Verdict.ACCEPTED:
            found.setdefault(system_id, set()).add(day)
    return found


def maintenance_windows(ids: list[int], start: datetime, now: datetime) -> dict[int, list[tuple]]:
    found: dict[int, list[tuple]] = {}
    for system_id, starts, until in (Maintenance.objects.filter(system_id__in=ids, until__gte=start,
                                                                starts_at__lte=now)
                                     .values_list("system_id", "starts_at", "until")):
        found.setdefault(system_id, []).append((starts, until))
    return found


def strip(system: System, first_day: date, days: int, beats: set[date], windows: list[tuple]):
    """One (day, state) per day, oldest first: ok, maint (no heartbeat, a window that day), miss, or none
    (before the system was known: its key pinned or its first heartbeat in the strip)."""
    known = [d for d in (system.pinned_at.date() if system.pinned_at else None, min(beats) if beats else None) if d]
    since = min(known) if known else None
    cells = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if day in beats:
            state = "ok"
        elif any(starts.date() <= day <= until.date() for starts, until in windows):
            state = "maint"
        elif since is not None and day >= since:
            state = "miss"
        else:
            state = "none"
        cells.append((day, state))
    return cells
