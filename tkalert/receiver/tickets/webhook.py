"""The webhook sink: one JSON POST per episode event, signed, with an idempotency key.

Headers: `X-Tkalert-Signature: sha256=<hex>` is HMAC-SHA256 of the exact body under the secret in
receiver.conf's `webhook_secret_file` (the GitHub/Stripe convention, checked with a constant-time compare), and
`Idempotency-Key` is the outbox key (`episode:<id>:<event>[:<n>]`), the same on every retry, so the far side can
drop a resend. 2xx is delivered; 408, 429 and 5xx are tried again; any other answer is permanent. A JSON answer
with a "ticket" member names the ticket, which is kept on the episode.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from tkalert.receiver.models import Episode, Message, Outbox
from tkalert.sender.deliver.failure import classify
from tkalert.sender.deliver.outcome import Outcome

SIGNATURE = "X-Tkalert-Signature"
RETRY_CODES = {408, 429}
TIMEOUT = 30.0


def payload(episode: Episode, message: Message, event: str, key: str) -> str:
    fields = message.fields or {}
    return json.dumps({
        "event": event, "idempotency_key": key, "episode": episode.pk, "system": episode.system.system_id,
        "host": episode.host, "service": episode.service, "state": episode.state,
        "output": fields.get("service/plugin-output", ""), "serial": fields.get("host/server-serial", ""),
        "service_valid": not message.service_invalid, "message_id": message.message_id,
        "opened_at": episode.opened_at.isoformat(), "received_at": message.received_at.isoformat(),
    }, sort_keys=True)


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def post(config, row: Outbox) -> Outcome:
    body = row.body.encode()
    request = urllib.request.Request(row.recipient, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Idempotency-Key", row.key)
    request.add_header(SIGNATURE, sign(config.act.webhook_secret(), body))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            answer = response.read(65536)
    except urllib.error.HTTPError as error:
        permanent = error.code < 500 and error.code not in RETRY_CODES
        return Outcome.failed(row.key, "webhook", f"{row.recipient}: HTTP {error.code}", permanent=permanent)
    except (OSError, ValueError) as exc:
        failure = classify(exc.reason if isinstance(exc, urllib.error.URLError) else exc)
        return Outcome.failed(row.key, "webhook", f"{row.recipient}: {failure.reason}", permanent=False)
    remember_ticket(row, answer)
    return Outcome.sent(row.key, "webhook")


def remember_ticket(row: Outbox, answer: bytes) -> None:
    try:
        ticket = json.loads(answer or b"{}").get("ticket")
    except (ValueError, AttributeError):
        return
    if ticket and row.episode_id:
        Episode.objects.filter(pk=row.episode_id, ticket_ref="").update(ticket_ref=str(ticket)[:100])
