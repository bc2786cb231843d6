"""`init`, `serve`, `ingest` and `work`: setting the receiver up and running it."""

from __future__ import annotations

import click

from tkalert.cli.boundary import emit
from tkalert.receiver.cli.group import pass_context

VENDOR_UID = "tkalert receiver <callhome@vendor.invalid>"


@click.command()
@click.option("--import-key", "import_key", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="use the vendor key pair in FILE (armored secret key) instead of generating one")
@click.option("--name", "uid", default=VENDOR_UID, show_default=True, help="user id of a generated vendor key")
@pass_context
def init(ctx, import_key, uid):
    """Create the database (or migrate it), the store and the vendor key pair; prints the vendor key's fingerprint."""
    from pathlib import Path

    from tkalert.receiver.django_setup import migrate
    from tkalert.receiver.ingest.store import prepare
    from tkalert.receiver.vendor_key import ensure_vendor_key

    config = ctx.config()
    config.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    prepare(config.store_dir)
    if config.database.engine == "sqlite":
        config.database.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    ctx.django()
    migrate()
    fingerprint, public = ensure_vendor_key(config.gnupg_home, config.passphrase(), uid,
                                            Path(import_key) if import_key else None)
    public_file = config.state_dir / "vendor-public.asc"
    public_file.write_bytes(public)
    emit(f"database ready ({config.database.engine}); store {config.store_dir}")
    emit(f"vendor key {fingerprint}; public key for the senders' vendor_keys in {public_file}")
    return 0


@click.command()
@pass_context
def serve(ctx):
    """Listen (SMTP, LMTP, HTTPS) and run the workers until SIGTERM."""
    import asyncio

    from tkalert.receiver.serve import serve as run

    asyncio.run(run(ctx.config()))
    return 0


@click.command()
@pass_context
def ingest(ctx):
    """Store one RFC 822 mail from stdin (the MTA pipe): exit 0 when stored, 75 when the MTA should keep it."""
    from tkalert.receiver.ingest.pipe import ingest_stdin

    return ingest_stdin(ctx.config_file)


@click.command()
@click.option("--once", is_flag=True, help="process what is waiting, then exit")
@pass_context
def work(ctx, once):
    """Import stored messages, then open and judge them; several may run at once."""
    import signal

    config = ctx.django()
    from tkalert.receiver.serve import log_line
    from tkalert.receiver.work import Worker

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    done = Worker(config, log=log_line).run(stop=lambda: bool(stopping), once=once)
    if once:
        emit(f"{done} messages judged")
    return 0
