"""The JSON API: systems, alert episodes and the quarantine, read with a token (`Authorization: Bearer tka_...`,
made by `tkalert-receiver tokens add`). Sessions do not count here and nothing is written: a script that holds a
token can read what a read-only user sees, no more. Lists are paginated (`page`, 100 a page, `next` says whether
there is more); times are ISO 8601 UTC.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_GET

from tkalert.receiver import quarantine as q
from tkalert.receiver.models import Episode, System
from tkalert.receiver.web import fleet
from tkalert.receiver.web.tokens import token_user

API_PAGE = 100


def bearer(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_required(view):
    """401 without a valid token, whatever the method (the login middleware does not apply: no redirects)."""

    @login_not_required
    @wraps(view)
    def guarded(request, *args, **kwargs):
        user = token_user(bearer(request), timezone.now())
        if user is None:
            response = JsonResponse({"error": "a valid API token is required (Authorization: Bearer TOKEN)"},
                                    status=401)
            response["WWW-Authenticate"] = 'Bearer realm="tkalert-receiver"'
            return response
        request.user = user
        return view(request, *args, **kwargs)

    return guarded


def stamp(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def listing(request, queryset, shape):
    page = Paginator(queryset, API_PAGE).get_page(request.GET.get("page"))
    return JsonResponse({"count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
                         "next": page.has_next(), "results": [shape(item) for item in page.object_list]})


def system_json(row: fleet.Row) -> dict:
    s = row.system
    return {"system_id": s.system_id, "contract": s.contract.auth_key if s.contract else None,
            "customer": s.contract.customer if s.contract else None, "contract_valid": row.contract_valid,
            "last_seen": stamp(s.last_seen), "overdue": row.overdue, "stage": row.stage,
            "open_episodes": row.open_episodes, "maintenance_until": stamp(row.maintenance_until),
            "pinned_key": s.pinned_key or None, "quarantined": row.quarantined,
            "contact_name": s.contact_name, "contact_mail": s.contact_mail,
            "heartbeat_days": {day.isoformat(): state for day, state in row.strip}}


@token_required
@require_GET
def systems(request):
    now = timezone.now()
    page = Paginator(fleet.filtered_systems(fleet.Filters.from_query(request.GET), now), API_PAGE)
    page = page.get_page(request.GET.get("page"))
    rows = fleet.rows_for(list(page.object_list), now)
    return JsonResponse({"count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
                         "next": page.has_next(), "overdue": fleet.overdue_count(),
                         "results": [system_json(row) for row in rows]})


@token_required
@require_GET
def system(request, system_id: str):
    found = get_object_or_404(System.objects.select_related("contract"), system_id=system_id)
    return JsonResponse(system_json(fleet.rows_for([found], timezone.now())[0]))


def episode_json(e: Episode) -> dict:
    return {"id": e.pk, "system_id": e.system.system_id, "host": e.host, "service": e.service, "state": e.state,
            "output": e.output, "opened_at": stamp(e.opened_at), "updated_at": stamp(e.updated_at),
            "closed_at": stamp(e.closed_at), "changes": e.changes, "ticket": e.ticket_ref or None,
            "suppressed": e.suppressed}


@token_required
@require_GET
def episodes(request):
    found = Episode.objects.select_related("system").order_by("-opened_at", "-pk")
    if request.GET.get("open") in ("1", "yes", "true"):
        found = found.filter(closed_at=None)
    if request.GET.get("system"):
        found = found.filter(system__system_id=request.GET["system"])
    return listing(request, found, episode_json)


def quarantined_json(m) -> dict:
    return {"id": m.pk, "received_at": stamp(m.received_at), "channel": m.channel, "reason": m.reason,
            "detail": m.detail, "message_id": m.message_id or None, "auth_key": m.auth_key or None,
            "system_id": m.system.system_id if m.system else None}


@token_required
@require_GET
def quarantine(request):
    found = q.quarantined(request.GET.get("reason") or None).select_related("system").defer("raw", "document")
    return listing(request, found.order_by("-received_at", "-pk"), quarantined_json)
