"""/metrics in the Prometheus text format (version 0.0.4): what an alerting rule needs about the receiver itself.

Read without a login only from `metrics_allow` addresses (the scraper's), else with a session or an API token.
The numbers come from the tables (and the store's waiting files), so any process of the receiver answers alike.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, F, Min
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.http import require_GET

from tkalert.receiver.django_setup import receiver_config
from tkalert.receiver.models import Message, Outbox, Silence
from tkalert.receiver.web.api import bearer
from tkalert.receiver.web.options import may_read_metrics
from tkalert.receiver.web.tokens import token_user

LATENCY_WINDOW = timedelta(hours=1)
QUANTILES = (0.5, 0.9, 0.99)
LATENCY_SAMPLE = 20000  # the newest ones: enough for the quantiles, bounded however busy the hour was


def family(name: str, kind: str, help_text: str, samples) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        label = ",".join(f'{key}="{text}"' for key, text in labels.items())
        lines.append(f"{name}{{{label}}} {value}" if label else f"{name} {value}")
    return lines


def allowed(request) -> bool:
    config = receiver_config()
    if may_read_metrics(config.web, request.META.get("REMOTE_ADDR", "")):
        return True
    return request.user.is_authenticated or token_user(bearer(request), timezone.now()) is not None


@login_not_required
def metrics(request):
    if not allowed(request):
        return HttpResponseForbidden("metrics are readable from metrics_allow addresses, or logged in\n")
    return read_metrics(request)


@require_GET
def read_metrics(request):
    now = timezone.now()
    lines = []
    # no state filter: only judged messages have a verdict, and so the count reads the verdict index alone
    verdicts = dict(Message.objects.order_by().values("verdict").annotate(n=Count("id"))
                    .values_list("verdict", "n"))
    lines += family("tkalert_receiver_messages", "gauge", "Judged messages kept, by verdict.",
                    [({"verdict": v}, verdicts.get(v, 0)) for v in Message.Verdict.values])
    lines += family("tkalert_receiver_messages_unjudged", "gauge", "Imported messages not judged yet.",
                    [({}, Message.objects.exclude(state=Message.State.DONE).count())])
    lines += family("tkalert_receiver_quarantine_size", "gauge", "Messages in quarantine.",
                    [({}, verdicts.get(Message.Verdict.QUARANTINED, 0))])
    lines += family("tkalert_receiver_store_waiting", "gauge", "Raw messages in the store not imported yet.",
                    [({}, store_waiting())])
    stages = dict(Silence.objects.filter(closed_at=None).order_by().values("stage").annotate(n=Count("id"))
                  .values_list("stage", "n"))
    lines += family("tkalert_receiver_overdue_systems", "gauge",
                    "Systems whose heartbeats are overdue, by the escalation stage reached (0: none yet).",
                    [({"stage": str(stage)}, n) for stage, n in sorted(stages.items())] or [({"stage": "0"}, 0)])
    oldest = Outbox.objects.filter(state__in=[Outbox.State.PENDING, Outbox.State.SENDING]).aggregate(
        oldest=Min("created_at"))["oldest"]
    lines += family("tkalert_receiver_outbox_oldest_age_seconds", "gauge",
                    "Age of the oldest notification not sent yet (0: none waiting).",
                    [({}, round((now - oldest).total_seconds(), 3) if oldest else 0)])
    outbox = dict(Outbox.objects.order_by().values("state").annotate(n=Count("id")).values_list("state", "n"))
    lines += family("tkalert_receiver_outbox", "gauge", "Notifications, by state.",
                    [({"state": s}, outbox.get(s, 0)) for s in Outbox.State.values])
    lines += latency(now)
    body = "\n".join(lines) + "\n"
    return HttpResponse(body, content_type="text/plain; version=0.0.4; charset=utf-8")


def store_waiting() -> int:
    from tkalert.receiver.ingest.store import waiting

    try:
        return len(waiting(receiver_config().store_dir))
    except OSError:
        return 0


def latency(now) -> list[str]:
    """Receipt to verdict for messages judged in the last hour, as a Prometheus summary."""
    taken = (Message.objects.filter(processed_at__gte=now - LATENCY_WINDOW, parent=None)
             .order_by("-processed_at").annotate(took=F("processed_at") - F("received_at"))
             .values_list("took", flat=True)[:LATENCY_SAMPLE])
    seconds = sorted(t.total_seconds() for t in taken if t is not None)
    name = "tkalert_receiver_processing_latency_seconds"
    samples = [({"quantile": str(qn)}, round(seconds[min(len(seconds) - 1, int(qn * len(seconds)))], 3)
                if seconds else "NaN") for qn in QUANTILES]
    lines = family(name, "summary", "Receipt to verdict, messages judged in the last hour.", samples)
    return lines + [f"{name}_sum {round(sum(seconds), 3)}", f"{name}_count {len(seconds)}"]
