"""Spool: the third step of the sender pipeline — build → seal → **spool** → deliver.

Takes each `SealedMessage` from seal, writes it durably to the outbox before anything else, applies storm control,
and hands the network to one flusher that sends many messages over one connection (tkalert.deliver). It keeps the
admin-readable record of what left, when, to where, and whether it arrived (`tkalert log`, `tkalert show`).

The API, for the hook (tkalert.send), the CLI (tkalert.cli.spoolcmds) and the spool check:

    submit(message, settings, *, clock=time.time, make_digest=None) -> SubmitResult
    flush(settings, *, clock=time.time, make_digest=None, wait=0, budget=None) -> FlushReport
    retry_failed(settings, message_ids=None, *, clock=time.time) -> list[str]
    open_site(settings) -> Site;  read_log(site, states=None) -> list[LogRecord];  find_entry(site, prefix) -> Entry
    take_census(site, now) -> Census

This package imports only the standard library and tkalert's own types: the hook path stays lean.
"""

from tkalert.spool.census import Census, take_census
from tkalert.spool.flusher import FlushReport, flush, retry_failed
from tkalert.spool.ledger import LogRecord, find_entry, read_log
from tkalert.spool.site import Site, open_site
from tkalert.spool.submission import SubmitResult, submit

__all__ = [
    "Census", "FlushReport", "LogRecord", "Site", "SubmitResult",
    "find_entry", "flush", "open_site", "read_log", "retry_failed", "submit", "take_census",
]
