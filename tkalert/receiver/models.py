"""What the receiver keeps: contracts (auth keys), systems (pinned keys, last seen) and every message it received.

A Message row is born `stored` when a worker imports a file from the store (its raw bytes and receipt time with
it), is `claimed` by exactly one worker (a compare-and-set UPDATE) and becomes `done` with a verdict in the same
transaction as everything the verdict changes (tkalert.receiver.work). A digest's events are Messages of their own
(channel "digest", `parent` the digest). The message id is unique among accepted messages: a second copy is a
"duplicate", whichever worker got there second.

What the receiver does about accepted messages (#13, tkalert.receiver.act and .escalate): an alert `Episode` per
(system, host, service) from its first problem to its recovery, with the ticket it is tracked in; a `Silence` per
stretch of missing heartbeats with the escalation stage it reached; per-contract `Stage`s (none: receiver.conf's
defaults); `Maintenance` windows that hold stages and tickets; and the `Outbox` every outgoing mail and webhook is
written to before it is sent. Exactly once with many workers: each step is a compare-and-set UPDATE (rowcount 1
wins) followed by an Outbox INSERT under a unique key; the open Episode and the open Silence are unique too.
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
    sink = models.CharField(max_length=10, blank=True, help_text="mail | webhook | none; blank: receiver.conf's")
    sink_target = models.CharField(max_length=500, blank=True, help_text="the ticket address or webhook URL")
    site_share = models.FloatField(null=True, blank=True,
                                   help_text="share of its systems silent within an hour that makes one site notice")
    receipts = models.BooleanField(default=False, help_text="a signed receipt for every report, not only tests")

    def valid_at(self, when) -> bool:
        """1.5's "Service: Valid": not revoked and not expired at `when`."""
        return self.revoked_at is None and (self.valid_until is None or when <= self.valid_until)

    def __str__(self):
        return self.auth_key


class System(models.Model):
    # Every index is written again by each heartbeat (its due times are rows of DueTime, so the sweep only reads
    # systems): the unique id is a constraint (no second pattern index, PostgreSQL's `_like`, that no lookup
    # uses), and the contract is found through the (contract, last_seen) index.
    system_id = models.CharField(max_length=200)
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    pinned_key = models.CharField(max_length=64, blank=True, help_text="fingerprint of the system's signing key")
    public_key = models.TextField(blank=True, help_text="the pinned key, armored, as it came")
    pinned_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True, help_text="receipt time of the newest heartbeat")
    contact_name = models.CharField(max_length=200, blank=True)
    contact_mail = models.CharField(max_length=200, blank=True)
    last_sequence = models.BigIntegerField(null=True, blank=True)
    replays = models.PositiveIntegerField(default=0)
    drifting_since = models.DateTimeField(null=True, blank=True, help_text="clock drift noticed (once per episode)")

    class Meta:
        indexes = [models.Index(fields=["contract", "last_seen"])]
        constraints = [models.UniqueConstraint(fields=["system_id"], name="one_system_per_id")]

    def __str__(self):
        return self.system_id


class DueTime(models.Model):
    """When the sweep must look at a system next (a stage, a repeat, a window's end): a row of its own, not a column
    of the wide System row, written once and deleted by the sweep that takes it (tkalert.receiver.escalate).
    Rows are written in time order, so the ten thousand due at one moment sit together on a few pages, in the table
    and in its index, instead of on ten thousand pages of the systems. A hint, not a promise: a system seen since is
    looked at and scheduled again; one row per system, from its first heartbeat on (no index by system)."""

    system = models.ForeignKey(System, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                               related_name="+")
    due_at = models.DateTimeField(db_index=True)


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


class Stage(models.Model):
    """One escalation stage of a contract: `after` this long without a heartbeat, notify `notify`."""

    class Notify(models.TextChoices):
        CUSTOMER = "customer"  # the system's last contact (1.5's "TKMonitor Reminder")
        SUPPORT = "support"  # the vendor's support address, with the list of silent systems

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    after = models.DurationField()
    notify = models.CharField(max_length=10, choices=Notify.choices)
    repeat = models.DurationField(null=True, blank=True, help_text="again every so long while still silent")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contract", "position"], name="one_stage_per_position")]
        ordering = ["contract", "position"]


class Episode(models.Model):
    """An alert from its first problem state to its recovery; one open per (system, host, service)."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="episodes")
    host = models.CharField(max_length=200)
    service = models.CharField(max_length=200, blank=True, help_text="blank: a host alert")
    state = models.CharField(max_length=20)
    output = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    changes = models.PositiveIntegerField(default=0, help_text="state changes notified after the opening one")
    repeats = models.PositiveIntegerField(default=0, help_text="the same state reported again")
    first_message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ticket_ref = models.CharField(max_length=100, blank=True, help_text="the ticket system's id, once learnt")
    thread_id = models.CharField(max_length=200, blank=True, help_text="Message-ID of the opening mail")
    suppressed = models.BooleanField(default=False, help_text="opened during a maintenance window: no ticket")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["system", "host", "service"], condition=Q(closed_at=None),
                                               name="one_open_episode")]
        indexes = [models.Index(fields=["system", "host", "service"])]


class Silence(models.Model):
    """A system's heartbeats missing: opened by the sweep at the first stage, closed by the next heartbeat."""

    # not a database constraint: checking ten thousand systems at a sweep's commit locked (wrote) their rows
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="silences", db_constraint=False)
    last_seen = models.DateTimeField(null=True, blank=True, help_text="the newest heartbeat before it")
    opened_at = models.DateTimeField()
    stage = models.PositiveSmallIntegerField(default=0, help_text="the highest stage fired (0: none yet)")
    stage_at = models.DateTimeField(null=True, blank=True)
    repeats = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["system"], condition=Q(closed_at=None),
                                               name="one_open_silence")]


class Maintenance(models.Model):
    """A window declared for a system: no stages and no tickets for it until `until`."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="maintenance")
    starts_at = models.DateTimeField()
    until = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=200, blank=True)


class Outbox(models.Model):
    """One outgoing mail or webhook, written before it is sent; `key` makes every notification exactly one row.

    Its links say what a message was about; they are not foreign-key constraints in the database (Django still
    clears them when a system, silence or episode is deleted): a sweep after an outage writes ten thousand rows,
    and checking three keys each at commit cost more than writing them. Nothing looks rows up by their episode or
    silence (their keys say it), so only the system link is indexed (a system's page lists its mails); deleting a
    system reads the outbox once to clear the others."""

    class Kind(models.TextChoices):
        MAIL = "mail"
        WEBHOOK = "webhook"

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"  # permanently: a person must look

    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    purpose = models.CharField(max_length=20, help_text="ticket-open, ticket-update, stage, recovery, site, ...")
    recipient = models.CharField(max_length=500, help_text="a mail address or the webhook URL")
    subject = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True, help_text="the mail's text, or the webhook's JSON")
    headers = models.JSONField(default=dict, blank=True)
    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox",
                                db_constraint=False, db_index=False)
    silence = models.ForeignKey(Silence, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox",
                                db_constraint=False, db_index=False)
    system = models.ForeignKey(System, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox",
                               db_constraint=False)
    created_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="next attempt")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    claim_token = models.CharField(max_length=40, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "due_at"])]
        constraints = [models.UniqueConstraint(fields=["key"], name="one_outbox_row_per_key")]

    def __str__(self):
        return self.key


class ReportFile(models.Model):
    """One configuration file a system reports (#15), with its current redacted content rebuilt from the reports
    (tkalert.receiver.reports); every change is a ReportFileVersion."""

    class State(models.TextChoices):
        CURRENT = "current"  # `content` is the file's full text as last reported, its SHA-256 `sha256`
        LISTED = "listed"  # reported without content: over the size cap, binary, a symbolic link, unreadable
        REMOVED = "removed"
        NEEDS_FULL = "needs-full"  # a diff or manifest that does not fit what is stored (a report was lost)

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="report_files")
    path = models.TextField()
    group = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, blank=True, help_text="text | binary | too-large | unreadable | symlink")
    state = models.CharField(max_length=12, choices=State.choices)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="as the sender last reported it")
    content = models.TextField(null=True, blank=True, help_text="the full redacted text (state current)")
    note = models.TextField(blank=True, help_text="why there is no content")
    changed_at = models.DateTimeField(help_text="receipt time of the report of the newest version")
    reported_at = models.DateTimeField(help_text="receipt time of the newest report that listed it")
    reported_sequence = models.BigIntegerField(null=True, blank=True,
                                               help_text="the sender's sequence of the newest report that listed it")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["system", "path"], name="one_report_file_per_path")]
        ordering = ["system", "path"]


class ReportFileVersion(models.Model):
    """A file as one report changed it: number 1 is the first report of it."""

    file = models.ForeignKey(ReportFile, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    message = models.ForeignKey(Message, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=12, help_text="the report's: new | changed | unchanged | removed")
    state = models.CharField(max_length=12, choices=ReportFile.State.choices)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    content = models.TextField(null=True, blank=True)
    note = models.TextField(blank=True)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "number"], name="one_report_file_version")]
        ordering = ["file", "number"]
