"""Judge: an opened message (open.Opened) or a refusal (open.Refused) becomes a verdict, stored with what it changes.

Runs inside the worker's finishing transaction (tkalert.receiver.work), after the claim was confirmed, so every
effect happens exactly once. In order, the first that applies decides:

  Refused by open                              quarantined, with open's reason
  auth key of no contract                      quarantined "unknown-auth-key"
  TKalert 1.5 document, contract not legacy    quarantined "legacy-not-allowed"
  signer is not the key pinned for the system  quarantined "key-changed" (a pin racing in from another worker)
  message id accepted before                   "duplicate": an idempotent no-op (spools resend after kill -9)
  sequence back beyond the window              "replay" (reason "sequence-backwards"): dropped, counted
  sequence reused by another accepted message  "replay" (reason "replay"): dropped, counted
  otherwise                                    accepted; "Service: Invalid" when the contract is revoked/expired
An accepted first contact pins its signer (trust on first use); an accepted heartbeat sets the system's last seen
(the receiver's receipt time, never the sender's) and contact; a digest's events are judged as messages of their
own. Nothing here raises for bad input: every outcome is data on the Message row.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, Q

from tkalert.errors import one_line
from tkalert.receiver.models import Contract, Message, System

ACCEPTED, DUPLICATE, REPLAY, QUARANTINED = (v.value for v in Message.Verdict)


@dataclass(frozen=True)
class Rules:
    """The judge's knobs from receiver.conf."""

    replay_window: int = 1000
    clock_skew: float = 300.0


def judge(message: Message, opened, rules: Rules, signer: str | None = None, contracts: dict | None = None) -> Message:
    """Decide and save `message` (and what its verdict changes); `opened` is an Opened or a Refused.
    `contracts` caches the contract of each auth key for the rest of one transaction (a worker's batch)."""
    if _is_refusal(opened):
        return quarantine(message, opened.reason, opened.detail)
    record(message, opened, rules, signer)
    contracts = {} if contracts is None else contracts
    if opened.auth_key not in contracts:
        contracts[opened.auth_key] = Contract.objects.filter(auth_key=opened.auth_key).first()
    contract = contracts[opened.auth_key]
    if contract is None:
        return quarantine(message, "unknown-auth-key", f"no contract has the auth key {opened.auth_key!r}")
    message.contract = contract
    message.service_invalid = not contract.valid_at(message.received_at)
    if opened.legacy and not contract.legacy:
        return quarantine(message, "legacy-not-allowed", "a TKalert 1.5 document for a contract not marked legacy")
    system = system_for(opened, contract)
    message.system = system
    if not pin(system, opened, message):
        return quarantine(message, "key-changed",
                          f"signed by {message.signer}, but {system.pinned_key} is pinned for {system.system_id}")
    if opened.message_id and Message.objects.filter(message_id=opened.message_id, verdict=ACCEPTED).exists():
        return decide(message, DUPLICATE, "duplicate", "this message id was accepted before")
    replay = replay_reason(system, opened.sequence, rules)
    if replay:
        System.objects.filter(pk=system.pk).update(replays=F("replays") + 1)
        return decide(message, REPLAY, replay,
                      f"sequence {opened.sequence} after {system.last_sequence} with a new message id")
    for event in opened.events:  # first: they were written before the digest, their sequences are lower
        judge_event(message, event, rules, contracts)
    accept(message, system, opened)
    return message


def judge_event(digest: Message, event, rules: Rules, contracts: dict) -> Message:
    child = Message(parent=digest, raw=bytes(event.document), channel="digest", received_at=digest.received_at,
                    state=Message.State.DONE, processed_at=digest.processed_at)
    return judge(child, event, rules, signer=digest.signer, contracts=contracts)


def record(message: Message, opened, rules: Rules, signer: str | None) -> None:
    """What the message says, whatever its verdict: ids, fields, the plaintext, the signed time and the skew."""
    message.message_id = opened.message_id or ""
    message.auth_key = opened.auth_key or ""
    message.document_type = opened.document_type or ""
    message.sequence = opened.sequence
    message.fields = dict(opened.fields)
    message.document = bytes(opened.document)
    message.legacy = bool(opened.legacy)
    message.signer = opened.signer or signer or ""
    message.signed_at = opened.signed_at
    if opened.signed_at is not None:
        skew = (message.received_at - opened.signed_at).total_seconds()
        message.clock_skew = skew if abs(skew) > rules.clock_skew else None


def system_for(opened, contract: Contract) -> System:
    """The sending system; a 1.5 sender has no system id and is known by its auth key, as 1.5's receiver did."""
    system_id = opened.system_id or f"legacy:{opened.auth_key}"
    system, _ = System.objects.get_or_create(system_id=system_id, defaults={"contract": contract})
    return system


def pin(system: System, opened, message: Message) -> bool:
    """False when the signer is not the pinned key; pins the signer on first contact (TOFU)."""
    signer = message.signer
    if not signer:
        return True  # unsigned: only a legacy contract's document gets this far
    if system.pinned_key:
        return system.pinned_key.upper() == signer.upper()
    # conditional: a pin another worker committed first wins, and this message is judged against it
    won = System.objects.filter(pk=system.pk, pinned_key="").update(
        pinned_key=signer, public_key=opened.first_contact_key or "", pinned_at=message.received_at)
    system.refresh_from_db()
    return bool(won) or system.pinned_key.upper() == signer.upper()


def replay_reason(system: System, sequence: int | None, rules: Rules) -> str | None:
    """Why a new message id with this sequence is a replay, or None. Concurrent hooks and spool retries deliver
    out of order, so going back is tolerated up to `replay_window`; a sequence number used twice never is."""
    if sequence is None or system.last_sequence is None:
        return None
    if sequence < system.last_sequence - rules.replay_window:
        return "sequence-backwards"
    reused = sequence <= system.last_sequence and Message.objects.filter(
        system=system, sequence=sequence, verdict=ACCEPTED).exists()
    return "replay" if reused else None


def accept(message: Message, system: System, opened) -> None:
    """Accepted: the system's newest sequence and (a heartbeat) last seen and contact move forward only. The
    conditions are in the UPDATEs, so two workers accepting one system's messages at once (PostgreSQL re-checks
    the WHERE after the row lock) never move them back."""
    decide(message, ACCEPTED, "", "service invalid: contract revoked or expired" if message.service_invalid else "")
    rows = System.objects.filter(pk=system.pk)
    if opened.sequence is not None:
        rows.filter(Q(last_sequence__isnull=True) | Q(last_sequence__lt=opened.sequence)).update(
            last_sequence=opened.sequence)
    if opened.document_type == "heartbeat":
        fields = opened.fields
        rows.filter(Q(last_seen__isnull=True) | Q(last_seen__lte=message.received_at)).update(
            last_seen=message.received_at, contact_name=fields.get("contact-name", system.contact_name),
            contact_mail=fields.get("contact-mail", system.contact_mail))


def quarantine(message: Message, reason: str, detail: str = "") -> Message:
    return decide(message, QUARANTINED, reason, detail)


JUDGED = ["verdict", "reason", "detail", "message_id", "auth_key", "document_type", "sequence", "fields", "document",
          "legacy", "signer", "signed_at", "clock_skew", "contract", "service_invalid", "system"]


def decide(message: Message, verdict: str, reason: str, detail: str) -> Message:
    message.verdict, message.reason, message.detail = verdict, reason, one_line(detail, 2000)
    # only what the judge decides: the raw bytes (possibly megabytes) are never written again
    message.save(update_fields=JUDGED if message.pk else None)
    return message


def _is_refusal(opened) -> bool:
    return isinstance(opened, Exception)
