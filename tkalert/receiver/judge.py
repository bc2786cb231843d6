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

A worker judges a batch in one transaction and hands a `Batch`: what the transaction already read (contracts,
systems, open episodes, the message ids and sequences accepted before) is read once per batch instead of once per
message, and what it owes is written once, at the batch's end (`Batch.flush`): each system's newest sequence, each
episode's repeats (tkalert.receiver.act), and the verdicts, in one statement (on PostgreSQL a statement's
latency, not its work, is the cost). Nothing in the transaction reads a verdict back before the
flush: accepted ids and sequences are followed in memory. Without a batch (a retry one by one, the tests) every
message reads for itself, and the same flush follows it at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F, Q

from tkalert.errors import one_line
from tkalert.receiver.models import Contract, Message, System

ACCEPTED, DUPLICATE, REPLAY, QUARANTINED = (v.value for v in Message.Verdict)


@dataclass(frozen=True)
class Rules:
    """The judge's knobs from receiver.conf."""

    replay_window: int = 1000
    clock_skew: float = 300.0


@dataclass
class Batch:
    """What one transaction (a worker's batch) has read and still owes, valid only inside it: the contract of each
    auth key, each system (kept up to date with what this transaction changes), the message ids accepted before
    the batch and in it, and each system's newest sequence, written by `flush` before the commit."""

    contracts: dict = field(default_factory=dict)
    systems: dict = field(default_factory=dict)
    accepted_ids: set | None = None
    sequences: dict = field(default_factory=dict)  # System pk -> the newest accepted sequence not yet written
    accepted_sequences: set = field(default_factory=set)  # (System pk, sequence) accepted: read before, and now
    sequences_of: set | None = None  # system ids whose accepted sequences were read (load_sequences)
    judged: list = field(default_factory=list)  # Messages decided whose UPDATE is owed
    repeats: dict = field(default_factory=dict)  # Episode pk -> act.Repeats owed
    episodes: dict = field(default_factory=dict)  # (system pk, host, service) -> its open Episode (act.open_episode)

    def load_accepted(self, message_ids) -> None:
        """The ids among `message_ids` accepted before: one query for the batch instead of one per message."""
        wanted = sorted({i for i in message_ids if i})
        self.accepted_ids = set()
        for start in range(0, len(wanted), 500):
            self.accepted_ids.update(Message.objects.filter(
                verdict=ACCEPTED, message_id__in=wanted[start:start + 500]).values_list("message_id", flat=True))

    def load_sequences(self, pairs) -> None:
        """Which of the (system id, sequence) `pairs` were accepted before: one query for the batch instead of one
        per message whose sequence is not past its system's newest (replay_reason)."""
        pairs = {(system_id, sequence) for system_id, sequence in pairs if system_id and sequence is not None}
        self.sequences_of = {system_id for system_id, _ in pairs}
        if pairs:
            self.accepted_sequences.update(Message.objects.filter(
                verdict=ACCEPTED, system__system_id__in=self.sequences_of,
                sequence__in={sequence for _, sequence in pairs}).values_list("system_id", "sequence"))

    def flush(self) -> None:
        """What the batch owes: the verdicts, each system's newest sequence (forward only: the condition is in the
        UPDATE, as in `accept`), the episodes' repeats."""
        from tkalert.receiver.act import write_repeats

        save_judged(self.judged)
        self.judged.clear()
        for pk, sequence in self.sequences.items():  # systems before episodes: the order a heartbeat locks them
            System.objects.filter(Q(last_sequence__isnull=True) | Q(last_sequence__lt=sequence), pk=pk).update(
                last_sequence=sequence)
        self.sequences.clear()
        write_repeats(self.repeats)


def judge(message: Message, opened, rules: Rules, signer: str | None = None, batch: Batch | None = None) -> Message:
    """Decide and save `message` (and what its verdict changes); `opened` is an Opened or a Refused. With a
    `batch` (a worker's transaction), what it read before is not read again; its `flush` is the caller's."""
    if batch is None:
        batch = Batch()
        judge(message, opened, rules, signer, batch)
        batch.flush()
        return message
    if _is_refusal(opened):
        return quarantine(message, opened.reason, opened.detail, batch)
    record(message, opened, rules, signer)
    if opened.auth_key not in batch.contracts:
        batch.contracts[opened.auth_key] = Contract.objects.filter(auth_key=opened.auth_key).first()
    contract = batch.contracts[opened.auth_key]
    if contract is None:
        return quarantine(message, "unknown-auth-key", f"no contract has the auth key {opened.auth_key!r}", batch)
    message.contract = contract
    message.service_invalid = not contract.valid_at(message.received_at)
    if opened.legacy and not contract.legacy:
        return quarantine(message, "legacy-not-allowed", "a TKalert 1.5 document for a contract not marked legacy",
                          batch)
    system = system_for(opened, contract, batch)
    message.system = system
    if not pin(system, opened, message):
        return quarantine(message, "key-changed", f"signed by {message.signer}, but {system.pinned_key} is pinned "
                                                  f"for {system.system_id}", batch)
    if opened.message_id and accepted_before(opened.message_id, batch):
        return decide(message, DUPLICATE, "duplicate", "this message id was accepted before", batch)
    replay = replay_reason(system, opened.sequence, rules, batch)
    if replay and opened.message_id and batch.accepted_ids is not None and Message.objects.filter(
            message_id=opened.message_id, verdict=ACCEPTED).exists():
        # the batch's ids were read at its start: on PostgreSQL another worker may have accepted this very message
        # since (its copy, resent after a kill), and its sequence makes this one look like a replay
        return decide(message, DUPLICATE, "duplicate", "this message id was accepted before", batch)
    if replay:
        System.objects.filter(pk=system.pk).update(replays=F("replays") + 1)
        return decide(message, REPLAY, replay,
                      f"sequence {opened.sequence} after {system.last_sequence} with a new message id", batch)
    for event in opened.events:  # first: they were written before the digest, their sequences are lower
        judge_event(message, event, rules, batch)
    accept(message, system, opened, batch)
    return message


def judge_event(digest: Message, event, rules: Rules, batch: Batch) -> Message:
    child = Message(parent=digest, raw=bytes(event.document), channel="digest", received_at=digest.received_at,
                    state=Message.State.DONE, processed_at=digest.processed_at)
    return judge(child, event, rules, signer=digest.signer, batch=batch)


def accepted_before(message_id: str, batch: Batch) -> bool:
    if batch.accepted_ids is not None:
        return message_id in batch.accepted_ids
    return Message.objects.filter(message_id=message_id, verdict=ACCEPTED).exists()


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


def system_for(opened, contract: Contract, batch: Batch) -> System:
    """The sending system; a 1.5 sender has no system id and is known by its auth key, as 1.5's receiver did."""
    system_id = opened.system_id or f"legacy:{opened.auth_key}"
    if system_id not in batch.systems:
        batch.systems[system_id], _ = System.objects.get_or_create(system_id=system_id,
                                                                   defaults={"contract": contract})
    return batch.systems[system_id]


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
    system.refresh_from_db(fields=["pinned_key", "public_key", "pinned_at"])  # the rest follows in memory
    return bool(won) or system.pinned_key.upper() == signer.upper()


def replay_reason(system: System, sequence: int | None, rules: Rules, batch: Batch | None = None) -> str | None:
    """Why a new message id with this sequence is a replay, or None. Concurrent hooks and spool retries deliver
    out of order, so going back is tolerated up to `replay_window`; a sequence number used twice never is."""
    if sequence is None or system.last_sequence is None:
        return None
    if sequence < system.last_sequence - rules.replay_window:
        return "sequence-backwards"
    return "replay" if sequence <= system.last_sequence and used(system, sequence, batch) else None


def used(system: System, sequence: int, batch: Batch | None) -> bool:
    """Did an accepted message of `system` carry `sequence`: this batch's (in memory: their verdicts are not
    written yet), or one before it (read for the batch, else asked now)."""
    if batch is not None and (system.pk, sequence) in batch.accepted_sequences:
        return True
    if batch is not None and batch.sequences_of is not None and system.system_id in batch.sequences_of:
        return False
    return Message.objects.filter(system=system, sequence=sequence, verdict=ACCEPTED).exists()


def accept(message: Message, system: System, opened, batch: Batch | None = None) -> None:
    """Accepted: the system's newest sequence and (a heartbeat) last seen and contact move forward only. The
    conditions are in the UPDATEs, so two workers accepting one system's messages at once (PostgreSQL re-checks
    the WHERE after the row lock) never move them back. `system` follows in memory (the batch's later messages
    are judged against it); with a batch, the sequence is written by `Batch.flush`."""
    decide(message, ACCEPTED, "", "service invalid: contract revoked or expired" if message.service_invalid else "",
           batch)
    if batch is not None and batch.accepted_ids is not None and opened.message_id:
        batch.accepted_ids.add(opened.message_id)
    if batch is not None and opened.sequence is not None:
        batch.accepted_sequences.add((system.pk, opened.sequence))
    if opened.sequence is not None and (system.last_sequence is None or system.last_sequence < opened.sequence):
        system.last_sequence = opened.sequence
        if batch is None:
            System.objects.filter(Q(last_sequence__isnull=True) | Q(last_sequence__lt=opened.sequence),
                                  pk=system.pk).update(last_sequence=opened.sequence)
        else:
            batch.sequences[system.pk] = opened.sequence
    if opened.document_type == "heartbeat":  # the newest one names the contact and the contract (its auth key):
        fields = opened.fields  # a system registered by `systems trust` before first contact has none till then
        contact = (fields.get("contact-name", system.contact_name), fields.get("contact-mail", system.contact_mail))
        newer = Q(last_seen__isnull=True) | Q(last_seen__lte=message.received_at)
        if System.objects.filter(newer, pk=system.pk).update(last_seen=message.received_at, contact_name=contact[0],
                                                              contact_mail=contact[1], contract=message.contract):
            system.last_seen, (system.contact_name, system.contact_mail) = message.received_at, contact
            system.contract = message.contract


def quarantine(message: Message, reason: str, detail: str = "", batch: Batch | None = None) -> Message:
    return decide(message, QUARANTINED, reason, detail, batch)


JUDGED = ["state", "processed_at", "verdict", "reason", "detail", "message_id", "auth_key", "document_type",
          "sequence", "fields", "document", "legacy", "signer", "signed_at", "clock_skew", "contract",
          "service_invalid", "system"]


def decide(message: Message, verdict: str, reason: str, detail: str, batch: Batch | None = None) -> Message:
    """The verdict on `message`, saved now, or with a `batch` owed until its flush."""
    message.verdict, message.reason, message.detail = verdict, reason, one_line(detail, 2000)
    if message.pk is None:
        message.save()  # a digest's event: a new row (act reads its digest's accepted events back)
    elif batch is not None:
        batch.judged.append(message)
    else:
        save_judged([message])
    return message


def save_judged(messages: list[Message]) -> None:
    """Only what the judge decides (the raw bytes, possibly megabytes, are never written again), all messages in
    one statement (tkalert.receiver.bulk.update_rows: on PostgreSQL one UPDATE over arrays, on SQLite one
    executemany of an UPDATE compiled once; Model.save(update_fields=...) compiles it again for every message)."""
    from tkalert.receiver.bulk import update_rows

    attnames = [Message._meta.get_field(name).attname for name in JUDGED]
    update_rows(Message, JUDGED, [(message.pk, *(getattr(message, name) for name in attnames))
                                  for message in messages])


def _is_refusal(opened) -> bool:
    return isinstance(opened, Exception)
