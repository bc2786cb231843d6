"""The dashboard's HTML pages: fleet overview, one system, one reported file, the quarantine, the contracts.

Pages only read; the quarantine's retry and drop are the one change made here (POST, CSRF-checked, support staff
only) and go through tkalert.receiver.quarantine, the same functions as `tkalert-receiver quarantine`.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages as notices
from django.core.paginator import Paginator
from django.db.models import Count, F, Max, Min, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tkalert.receiver import quarantine as q
from tkalert.receiver.models import Contract, Episode, Message, Outbox, ReportFile, Silence, System
from tkalert.receiver.web import fleet
from tkalert.receiver.web.roles import support_required

QUARANTINE_PAGE = 100
DIFF_LINES = 2000  # a version's diff on the file page is cut here (the whole text: `systems files --version`)


@require_GET
def overview(request):
    now = timezone.now()
    filters = fleet.Filters.from_query(request.GET)
    page, rows = fleet.fleet_page(filters, request.GET.get("page"), now)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/overview.html", {
        "page": page, "rows": rows, "filters": filters, "states": fleet.STATES, "query": query.urlencode(),
        "overdue": fleet.overdue_count(), "days": fleet.STRIP_DAYS, "now": now,
        "contracts": Contract.objects.order_by("auth_key").values_list("auth_key", "customer"),
    })


@require_GET
def system_detail(request, pk: int):
    now = timezone.now()
    system = get_object_or_404(System.objects.select_related("contract"), pk=pk)
    row = fleet.rows_for([system], now, days=90)[0]
    received = Message.objects.filter(system=system).order_by("-received_at")
    heartbeats = received.filter(document_type="heartbeat", verdict=Message.Verdict.ACCEPTED)
    since = now - timedelta(days=30)
    drift = heartbeats.filter(received_at__gte=since, clock_skew__isnull=False).aggregate(
        low=Min("clock_skew"), high=Max("clock_skew"))
    episodes = (Episode.objects.filter(system=system).order_by(F("closed_at").desc(nulls_first=True), "-opened_at")
                .annotate(mails=Count("outbox"))[:50])
    return render(request, "web/system.html", {
        "system": system, "row": row, "now": now, "drift": drift,
        "latest_skew": heartbeats.exclude(clock_skew=None).values_list("clock_skew", flat=True).first(),
        "heartbeats": heartbeats.only("pk", "received_at", "signed_at", "clock_skew", "channel",
                                      "message_id")[:50],
        "received": received.only("pk", "received_at", "channel", "verdict", "reason", "document_type",
                                  "message_id", "service_invalid", "legacy")[:100],
        "episodes": episodes,
        "silences": Silence.objects.filter(system=system).order_by("-opened_at")[:20],
        "maintenance": system.maintenance.order_by("-until")[:20],
        "outbox": Outbox.objects.filter(system=system).order_by("-created_at")[:20],
        "signers": (Message.objects.filter(system=system).exclude(signer="").exclude(signer=system.pinned_key)
                    .values("signer").annotate(n=Count("id"), last=Max("received_at")).order_by("-last")[:10]),
        "files": (ReportFile.objects.filter(system=system).defer("content").annotate(versions_count=Count("versions"))
                  .order_by("path")),
    })


@require_GET
def report_file(request, pk: int, file_pk: int):
    """One file of a system's daily reports: its current content and every version as a diff against the one
    before (tkalert.receiver.reports keeps each version's full text)."""
    file = get_object_or_404(ReportFile.objects.select_related("system"), pk=file_pk, system_id=pk)
    versions, before = [], None
    for version in file.versions.order_by("number"):
        versions.append((version, version_diff(before, version)))
        if version.content is not None:
            before = version
    return render(request, "web/report_file.html", {"file": file, "system": file.system,
                                                     "versions": list(reversed(versions))})


def version_diff(before, version) -> list[tuple[str, str]]:
    """(css class, line) of the unified diff from the last version with content to `version`; empty when either
    has none (new, removed, listed or needs-full: the page says which)."""
    import difflib

    if before is None or version.content is None:
        return []
    lines = difflib.unified_diff(before.content.splitlines(), version.content.splitlines(),
                                 f"version {before.number}", f"version {version.number}", lineterm="")
    shown = []
    for n, line in enumerate(lines):
        if n == DIFF_LINES:
            shown.append(("cut", f"... cut at {DIFF_LINES} lines"))
            break
        kind = "add" if line.startswith("+") else "del" if line.startswith("-") else \
            "hunk" if line.startswith("@@") else ""
        shown.append((kind, line))
    return shown


@require_GET
def message_raw(request, pk: int):
    """The message exactly as it came in (for a quarantined one: what to show the sender)."""
    message = get_object_or_404(Message.objects.only("pk", "raw"), pk=pk)
    response = HttpResponse(bytes(message.raw), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="message-{message.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def quarantine_list(request):
    reason = request.GET.get("reason", "").strip()
    found = q.quarantined(reason or None).select_related("system").order_by("-received_at", "-pk")
    page = Paginator(found.defer("raw", "document"), QUARANTINE_PAGE).get_page(request.GET.get("page"))
    reasons = (q.quarantined().order_by().values("reason").annotate(n=Count("id")).order_by("-n", "reason"))
    return render(request, "web/quarantine.html", {"page": page, "reason": reason, "reasons": reasons})


@require_POST
@support_required
def quarantine_action(request):
    """Retry or drop the ticked messages, or every message quarantined for one reason."""
    action = request.POST.get("action")
    numbers = [int(n) for n in request.POST.getlist("id") if n.isdigit()]
    reason = request.POST.get("reason", "").strip()
    if action not in ("retry", "drop") or not (numbers or reason):
        notices.error(request, "Tick messages (or give a reason) and choose retry or drop.")
        return redirect("quarantine")
    selected = q.quarantined(reason or None)
    if numbers:
        selected = selected.filter(pk__in=numbers)
    if action == "retry":
        notices.success(request, f"{q.retry(selected)} messages queued again: the workers judge them anew.")
    else:
        notices.success(request, f"{q.drop(selected)} messages dropped.")
    return redirect("quarantine")


@require_GET
def contracts(request):
    now = timezone.now()
    found = (Contract.objects.order_by("auth_key").prefetch_related("stages")
             .annotate(systems=Count("system", distinct=True),
                       silent=Count("system", filter=Q(system__silences__closed_at=None,
                                                       system__silences__isnull=False), distinct=True)))
    page = Paginator(found, 200).get_page(request.GET.get("page"))
    return render(request, "web/contracts.html", {"page": page, "now": now})
