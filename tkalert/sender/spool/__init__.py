"""Spool: the third step of the sender pipeline — document → seal → **spool** → deliver.

Takes each `SealedMessage` from seal, writes it durably to the outbox before anything else, applies storm control,
and hands the network to one flusher that sends many messages over one connection (tkalert.sender.deliver). It keeps the
admin-readable record of what left, when, to where, and whether it arrived (`tkalert log`, `tkalert show`).

The API, for the hook (tkalert.sender.pipeline), the CLI (tkalert.cli.spoolcmds) and the spool check:

    submit(message, settings, *, make_digest, clock=time.time, override_to=None) -> SubmitResult
    flush(settings, *, make_digest, clock=time.time, wait=0, budget=None, ignore_backoff=False,
          housekeeping=None) -> FlushReport
    retry_failed(settings, message_ids=None, *, clock=time.time) -> list[str]
    open_site(settings) -> Site;  read_log(site, states=None) -> list[LogRecord];  find_entry(site, prefix) -> Entry
    take_census(site, now) -> Census

This package imports only the standard library and tkalert's own types: the hook path stays lean.
"""

# name -> submodule: imported on first use, so the hook's `submit` does not load the flusher's and log's modules
# until it needs them.
_EXPORTS = {
    "Census": "census", "take_census": "census",
    "FlushReport": "flusher", "flush": "flusher", "retry_failed": "flusher",
    "LogRecord": "ledger", "find_entry": "ledger", "read_log": "ledger",
    "Site": "site", "open_site": "site",
    "SubmitResult": "submission", "submit": "submission",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tkalert.sender.spool' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"tkalert.sender.spool.{_EXPORTS[name]}"), name)
