"""The sender pipeline in one place: event -> document -> seal -> spool (-> deliver), with the outcome as data.

Callers (the `tkalert` command, the Zabbix alert script, the heartbeat plugin) hand over an `Event` and the
`Settings`; they get a `SendResult` back and decide how to show it. Seal and spool never see the event: they take
the document's bytes plus its `Facts` (what the spool may know without opening it), so a digest or a report goes
the same way. Misuse and bad configuration raise (`UsageError`, `ConfigError`, `SealError`); a destination that is
down is a result, not an exception.
"""

from __future__ import annotations

import os
import time

from tkalert.config.settings import Settings
from tkalert.document.event import Event
from tkalert.document.stamp import Stamp, new_message_id, next_sequence, system_id
from tkalert.document.writer import build_document
from tkalert.sender.message import Facts, SealedMessage
from tkalert.log import log
from tkalert.record import Record
from tkalert.sender.owner import act_as_spool_owner


# Documented choice (tkalert(1), NOTIFICATION TYPES): these report no change of the monitored state, so they are
# not sent at all; sending them as alerts would open tickets for planned work.
SKIPPED_TYPES = ("FLAPPING", "DOWNTIME")
# RFC 2606 / RFC 6761 names: a contact there cannot be reached. TKalert 1.5 silently dropped such messages while
# `--check` said OK; we send them (nothing is lost) and say why the set-up is not finished.
PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org", "example", "invalid", "test", "localhost")


class SendResult(Record):
    state: str  # delivery: sent | queued (safe in the spool, retried) | failed (in failed/, with the reason) | skipped
    #             | handed (to the resident flusher, which sends it now: `[spool] flusher_wait = check`)
    document_type: str
    message_id: str | None = None
    reason: str | None = None
    warnings: tuple[str, ...] = ()


class SendOptions(Record):
    gnupg_home: str  # file names are text on the hook path (tkalert.config.fields)
    encrypt: bool = True
    override_to: str | None = None
    trial: bool = False  # `tkalert test --send`: delivered once from a private spool, never queued in the real one
    maintenance: tuple | None = None  # (until, reason): a heartbeat declaring a window (tkalert maintenance)
    answer_needed: bool = True  # False: the plain hook may leave once the resident flusher took the message

    @property
    def private_spool(self) -> bool:
        """Trial sends and unencrypted ones (--disable-gpg-encryption) never enter the configured spool: a flush
        of that spool would later send a debugging message, auth key and all, in the clear."""
        return self.trial or not self.encrypt


def complete_event(event: Event, settings: Settings) -> Event:
    """Fill what the command line left out from the config, then normalise and check the event."""
    from tkalert.document.event import absent_to_none

    return event.replace(
        auth_key=absent_to_none(event.auth_key) or settings.auth_key,
        contact_person=absent_to_none(event.contact_person) or settings.contact_person,
        contact_mail=absent_to_none(event.contact_mail) or settings.contact_mail,
    ).checked()


def render(event: Event, settings: Settings, now: float | None = None,
           maintenance: tuple | None = None) -> tuple[bytes, Stamp]:
    """Build the document for a checked event, stamping it with a new message id and sequence number."""
    now = time.time() if now is None else now
    log.info("Creating %s object", "alert" if event.is_alert else event.event_type)
    if event.date is None:
        log.info("Set --date switch to NOW")
    stamp = new_stamp(settings, now)
    return build_document(event, stamp, heartbeat_additions(event, settings, now, maintenance)), stamp


def heartbeat_additions(event: Event, settings: Settings, now: float, maintenance: tuple | None = None) -> str:
    """A heartbeat's optional elements: the monitoring system's health when [health] names a source (only then is
    tkalert.sender.health imported: alerts never pay for it), the categories switched off, and a maintenance
    window (until, reason) that `tkalert maintenance` declares."""
    if event.event_type != "heartbeat":
        return ""
    off = switched_off(settings)
    source = (settings.section("health").get("source") or "off").strip().lower()
    if not off and source == "off" and maintenance is None:
        return ""
    from tkalert.document.health import health_lines, maintenance_line, switched_off_lines

    health = None
    if source != "off" and "health" not in off:
        from tkalert.sender.health import read_health

        health = read_health(settings, now)
    return ((health_lines(health) if health else "") + switched_off_lines(off)
            + (maintenance_line(*maintenance) if maintenance is not None else ""))


def switched_off(settings: Settings) -> list[str]:
    """The [categories] turned off, in the config's order (read again strictly by the spool's policy)."""
    from tkalert.config.fields import truth

    return [name for name, value in settings.section("categories").items() if truth(value) is False]


def new_stamp(settings: Settings, now: float) -> Stamp:
    from tkalert.sender.spool.disk import ensure_dir

    ensure_dir(settings.state_dir)
    identity = system_id(settings.system_id, settings.state_dir)
    return Stamp(new_message_id(), identity, next_sequence(settings.state_dir), now)


def facts_of(event: Event) -> Facts:
    return Facts("alert" if event.is_alert else event.event_type, event.host, event.service,
                 event.service_status or event.host_status, event.notification_type)


def skip_reason(event: Event) -> str | None:
    notification = event.notification_type or ""
    if notification.startswith(SKIPPED_TYPES):
        return f"{notification} notifications are not sent (they do not change the state support acts on)"
    return None


def placeholder_warning(event: Event) -> str | None:
    mail = (event.contact_mail or "").rsplit("@", 1)[-1].lower().rstrip(".")
    if mail and any(mail == d or mail.endswith("." + d) for d in PLACEHOLDER_DOMAINS):
        return (f"contact mail {event.contact_mail} is a placeholder address: the message is sent, but support "
                "cannot reach you; set contact_mail in the config")
    return None


def seal(document: bytes, stamp: Stamp, facts: Facts, settings: Settings, options: SendOptions) -> SealedMessage:
    if options.encrypt:
        payload = seal_payload(document, settings, options)
    else:
        log.warning("--disable-gpg-encryption: the document leaves this machine unencrypted and unsigned")
        payload = document
    return SealedMessage(
        message_id=stamp.message_id, document_type=facts.document_type, system_id=stamp.system_id,
        sequence=stamp.sequence, created=stamp_time(stamp), payload=payload, plaintext=document,
        encrypted=options.encrypt, host=facts.host, service=facts.service, monitored_state=facts.monitored_state,
        notification=facts.notification,
    )


def seal_payload(document: bytes, settings: Settings, options: SendOptions) -> bytes:
    from tkalert.openpgp.seal import seal_document

    from tkalert.sender.system_key import remember

    log.debug("Sealing with GnuPG home %s", options.gnupg_home)
    sealed = seal_document(document, options.gnupg_home, settings.vendor_keys, settings.system_key)
    remember(settings, options.gnupg_home)  # the key the transports attach: exported once, while the home is known
    return sealed


def stamp_time(stamp: Stamp) -> str:
    from tkalert.document.writer import iso_utc

    return iso_utc(stamp.now)


def spool(message: SealedMessage, settings: Settings, options: SendOptions) -> SendResult:
    """Write the message to the outbox first, then let the spool try delivery once (tkalert.sender.spool.submit)."""
    from tkalert.sender.spool.submission import submit  # not through the package: its lazy names need importlib

    with spool_errors(settings):
        submitted = submit(message, settings, make_digest=digest_maker(settings, options),
                           override_to=options.override_to, answer_needed=options.answer_needed)
    log.info("Spooled %s %s: %s%s", message.document_type, message.message_id, submitted.state,
             f" ({submitted.reason})" if submitted.reason else "")
    if submitted.state == "folded":
        reason = f"held back by storm control, goes out in the next digest: {submitted.reason}"
        return SendResult("queued", message.document_type, message.message_id, reason)
    return SendResult(submitted.state, message.document_type, message.message_id, submitted.reason)


def send_event(event: Event, settings: Settings, options: SendOptions) -> SendResult:
    """Write, seal and deliver one event; return what happened.

    Everything that can be wrong with the command line or the config is found before anything is written, so a
    failed run queues nothing; from the first write on, the event is kept: a document that cannot be sealed waits
    in the spool's unsealed/ until `tkalert flush` can seal it."""
    check_options(settings, options)
    event = complete_event(event, settings)
    document_type = "alert" if event.is_alert else event.event_type
    reason = skip_reason(event)
    if reason:
        log.info("Not sending: %s", reason)
        return SendResult("skipped", document_type, reason=reason)
    warnings = tuple(w for w in (placeholder_warning(event),) if w)
    if options.private_spool:
        return _send_privately(event, settings, options).replace(warnings=warnings)
    act_as_spool_owner(settings)
    document, stamp = render(event, settings, maintenance=options.maintenance)
    return seal_and_spool(document, stamp, facts_of(event), settings, options).replace(warnings=warnings)


def check_options(settings: Settings, options: SendOptions, strict: bool = False) -> None:
    """Refuse a bad command line or config before anything is written; `strict`: read every destination's
    options even when the resident flusher noted this config file as read already."""
    from tkalert.errors import ConfigError, UsageError

    if options.override_to is not None:
        from tkalert.sender.deliver.address import mailbox_problem

        problem = mailbox_problem(options.override_to)
        if problem:
            raise UsageError(f"--override-target-mail {options.override_to!r} {problem}")
    if not settings.destinations:
        raise ConfigError(f"{settings.path}: no destination configured: add a [destination NAME] section "
                          "(see tkalert.conf(5))")
    from tkalert.sender.checked import checked_before

    if strict or not checked_before(settings):  # the resident flusher read this very file strictly already
        from tkalert.sender.deliver import open_transport

        for destination in settings.destinations:  # every option read strictly now: a bad one queues nothing
            open_transport(destination, settings)
    if options.encrypt and not settings.vendor_keys:
        raise ConfigError(f"{settings.path}: no vendor key configured: set vendor_keys (the vendor key's 40-digit "
                          "fingerprint) in [gnupg], or use --disable-gpg-encryption for a test")


def seal_and_spool(document: bytes, stamp: Stamp, facts: Facts, settings: Settings,
                   options: SendOptions) -> SendResult:
    """Seal, then spool; a document that cannot be sealed is kept unsealed (the key can be fixed later)."""
    from tkalert.errors import SealError

    try:
        message = seal(document, stamp, facts, settings, options)
    except SealError as exc:
        unsealed = SealedMessage(
            message_id=stamp.message_id, document_type=facts.document_type, system_id=stamp.system_id,
            sequence=stamp.sequence, created=stamp_time(stamp), payload=b"", plaintext=document, encrypted=True,
            host=facts.host, service=facts.service, monitored_state=facts.monitored_state,
            notification=facts.notification)
        keep_unsealed(unsealed, settings, options, str(exc))
        reason = f"not sealed: {exc}; kept in the spool, `tkalert flush` seals and sends it once the key is fixed"
        return SendResult("failed", facts.document_type, stamp.message_id, reason)
    return spool(message, settings, options)


def keep_unsealed(message: SealedMessage, settings: Settings, options: SendOptions, error: str) -> None:
    from tkalert.sender.spool.entry import new_entry
    from tkalert.sender.spool.journal import note
    from tkalert.sender.spool.site import open_site

    with spool_errors(settings):
        site = open_site(settings)
        entry = new_entry(message, time.time(), "unsealed", override_to=options.override_to, last_error=error)
        site.outbox.add(entry)
    log.info("Kept %s %s unsealed: %s", message.document_type, message.message_id, error)
    note(settings, "unsealed", message, error)


def reseal_pending(settings: Settings, options: SendOptions) -> tuple[int, int]:
    """Seal what waits in unsealed/ and queue it (`tkalert flush`); return (sealed, still waiting)."""
    from tkalert.errors import SealError
    from tkalert.sender.spool.journal import note
    from tkalert.sender.spool.site import open_site

    act_as_spool_owner(settings)
    site = open_site(settings)
    done = waiting = 0
    for entry in site.outbox.entries("unsealed"):
        message = entry.message
        try:
            sealed = seal_payload(message.plaintext, settings, options)
        except SealError as exc:
            site.outbox.save(entry.with_status("unsealed", last_error=str(exc)))
            waiting += 1
            continue
        now = time.time()
        queued = entry.with_status("queued", message=message.replace(payload=sealed), next_try=now, last_error=None)
        site.outbox.save(queued)
        site.outbox.remove(message.message_id, "unsealed")
        note(settings, "queued", message, "sealed after the key was fixed")
        done += 1
    return done, waiting


class spool_errors:  # noqa: N801 (used as `with spool_errors(settings):`; a class: contextlib costs the hook)
    """An OSError while the message is not yet on disk: nothing is kept, the caller must try again (75), and
    the line says which file and why (a permission problem names the owner, never "free the disk")."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, traceback) -> bool:
        from tkalert.errors import SpoolError

        if isinstance(exc, PermissionError):
            from tkalert.cli.boundary import permission_line

            raise SpoolError(f"cannot write the spool: {permission_line(exc)}; nothing was sent") from None
        if isinstance(exc, OSError):
            where = exc.filename or self.settings.spool_dir
            raise SpoolError(f"cannot write the spool ({where}): {exc.strerror or exc}; nothing was sent "
                             "(free the disk or fix spool_dir in [tkalert], then retry)") from None
        return False


def _send_privately(event: Event, settings: Settings, options: SendOptions) -> SendResult:
    """A trial or unencrypted send: written, delivered once and removed in a private spool of its own."""
    import shutil
    import tempfile

    private = tempfile.mkdtemp(prefix="tkalert-trial-")
    try:
        sections = {name: values for name, values in settings.sections.items() if name != "archive"}
        trial = settings.replace(spool_dir=os.path.join(private, "spool"), state_dir=os.path.join(private, "state"),
                                 sections=sections)
        document, stamp = render(event, trial, maintenance=options.maintenance)
        result = seal_and_spool(document, stamp, facts_of(event), trial, options)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    if result.state in ("queued", "failed"):
        return result.replace(state="failed", reason=f"{result.reason or 'not delivered'} (a trial send is not "
                                                      "kept for a retry)")
    return result


def seal_digest(messages: list[SealedMessage], settings: Settings, options: SendOptions,
                now: float | None = None) -> SealedMessage:
    """Fold held-back messages into one sealed `<digest>` (storm control); the head comes from the first one."""
    from xml.etree import ElementTree

    from tkalert.document.digest import build_digest

    first = ElementTree.fromstring(messages[0].plaintext)  # our own document, never outside input
    stamp = new_stamp(settings, time.time() if now is None else now)
    document = build_digest([m.plaintext for m in messages], first.findtext("authkey") or "",
                            first.findtext("contact-name"), first.findtext("contact-mail"), stamp)
    # A digest is encrypted unless every message in it was sent in the clear (--disable-gpg-encryption): folding
    # must never take the protection off a message, nor add a seal that a debugging set-up cannot open.
    options = options.replace(encrypt=any(m.encrypted for m in messages))
    return seal(document, stamp, Facts("digest"), settings, options)


def digest_maker(settings: Settings, options: SendOptions | None = None):
    """The spool's `make_digest` (tkalert.sender.spool.folding): folded messages -> one sealed digest."""
    if options is None:
        from tkalert.openpgp.home import resolve_home

        options = SendOptions(gnupg_home=resolve_home(settings.gnupg_home, None))
    return lambda messages: seal_digest(list(messages), settings, options)


def send_report(settings: Settings, options: SendOptions, full: bool = False) -> SendResult:
    """Build the daily system report (tkalert.sender.report), keep its snapshot until the spool says it was
    delivered, then seal and spool it as every document. A report is always sealed: it carries configuration."""
    from tkalert.errors import UsageError
    from tkalert.sender.spool.site import open_site

    if options.private_spool:
        raise UsageError("a report is never sent unencrypted or as a trial: see what it would carry with "
                         "'tkalert report --preview'")
    check_options(settings, options)
    act_as_spool_owner(settings)
    site = open_site(settings)
    if not site.policy.categories.report:
        return SendResult("skipped", "report", reason="report is switched off in [categories]")
    run = report_run(settings, site)
    stamp = new_stamp(settings, time.time())
    document, snapshot = run.build(stamp, full)
    run.baselines.add_pending(snapshot)
    log.info("Report %s: %d files", stamp.message_id, len(snapshot.files))
    result = seal_and_spool(document, stamp, Facts("report"), settings, options)
    if result.state == "sent":
        run.baselines.settle(site)  # delivered now: the baseline of the next report
    return result


def preview_report(settings: Settings, full: bool = False, now: float | None = None) -> bytes:
    """The plaintext document `send_report` would seal now (its message id, sequence and time aside); sends nothing
    and uses up no sequence number."""
    from tkalert.sender.spool.site import open_site

    act_as_spool_owner(settings)
    site = open_site(settings)
    state_dir = settings.state_dir
    try:
        with open(os.path.join(state_dir, "sequence"), encoding="ascii") as fh:
            sequence = int(fh.read().strip() or 0) + 1
    except (OSError, ValueError):
        sequence = 1
    stamp = Stamp(new_message_id(), system_id(settings.system_id, state_dir), sequence,
                  time.time() if now is None else now)
    document, _ = report_run(settings, site).build(stamp, full)
    return document


def report_run(settings: Settings, site):
    from tkalert.sender.report.collect import ReportRun

    return ReportRun.open(settings, site)
