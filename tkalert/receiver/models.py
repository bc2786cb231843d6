"""What the receiver keeps: contracts (auth keys), systems (pinned keys, last seen) and every message it received.

A Message row is born `stored` when a worker imports a file from the store (its raw bytes and receipt time with
it), is `claimed` by exactly one worker (a compare-and-set UPDATE) and becomes `done` with a verdict in the same
transaction as everything the verdict changes (tkalert.receiver.work). A digest's events are Messages of their own
(channel "digest", `parent` the digest). The message id is unique among accepted messages: a second copy is a
"duplicate", whichever worker got there second.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Contract(models.Model):
    auth_key = models.CharField(max_length=200, unique=True)
    customer = models.CharField(max_length=200, blank=True)
    legacy = models.BooleanField(default=False, help_text="accepts TKalert 1.5 documents (unsigned, inline PGP)")
    valid_until = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    def valid_at(self, when) -> bool:
        """1.5's "Service: Valid": not revoked and not expired at `when`."""
        return self.revoked_at is None and (self.valid_until is None or when <= self.valid_until)

    def __str__(self):
        return self.auth_key


class System(models.Model):
    system_id = models.CharField(max_length=200, unique=True)
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.SET_NULL)
    pinned_key = models.CharField(max_length=64, blank=True, help_text="fingerprint of the system's signing key")
    public_key = models.TextField(blank=True, help_text="the pinned key, armored, as it came")
    pinned_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True, help_text="receipt time of the newest heartbeat")
    contact_name = models.CharField(max_length=200, blank=True)
    contact_mail = models.CharField(max_length=200, blank=True)
    last_sequence = models.BigIntegerField(null=True, blank=True)
    replays = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.system_id


class Message(models.Model):
    class State(models.TextChoices):
        STORED = "stored"
        CLAIMED = "claimed"
        DONE = "done"

    class Verdict(models.TextChoices):
        ACCEPTED = "accepted"
        DUPLICATE = "duplicate"
        REPLAY = "replay"
        QUARANTINED = "quarantined"

    store_name = models.CharField(max_length=200, unique=True, null=True, blank=True,
                                  help_text="the store file it was imported from (none for a digest's events)")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    raw = models.BinaryField()
    channel = models.CharField(max_length=10)
    received_at = models.DateTimeField(db_index=True, help_text="the receiver's clock")
    state = models.CharField(max_length=10, choices=State.choices, default=State.STORED)
    claim_token = models.CharField(max_length=40, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=12, choices=Verdict.choices, blank=True)
    reason = models.CharField(max_length=60, blank=True)
    detail = models.TextField(blank=True)
    message_id = models.CharField(max_length=200, blank=True, db_index=True)
    system = models.ForeignKey(System, null=True, blank=True, on_delete=models.SET_NULL)
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.SET_NULL)
    auth_key = models.CharField(max_length=200, blank=True)
    document_type = models.CharField(max_length=20, blank=True)
    sequence = models.BigIntegerField(null=True, blank=True)
    fields = models.JSONField(default=dict, blank=True)
    document = models.BinaryField(null=True, blank=True, help_text="the opened XML document")
    signer = models.CharField(max_length=64, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    clock_skew = models.FloatField(null=True, blank=True, help_text="receipt minus signed time, in seconds")
    legacy = models.BooleanField(default=False)
    service_invalid = models.BooleanField(default=False, help_text="contract revoked or expired (1.5's 402)")

    class Meta:
        indexes = [models.Index(fields=["state", "id"]), models.Index(fields=["verdict", "received_at"])]
        constraints = [models.UniqueConstraint(fields=["message_id"], condition=Q(verdict="accepted"),
                                               name="one_accepted_per_message_id")]

    def __str__(self):
        return f"#{self.pk} {self.message_id or self.store_name}"
