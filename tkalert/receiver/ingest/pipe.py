"""The MTA pipe: `tkalert-receiver ingest` reads one RFC 822 message on stdin and stores it (ingest.store).

Postfix's pipe(8) or an alias `|tkalert-receiver ingest` runs it once per mail, so it imports neither Django nor
click: exit 0 once the message is durably stored, 75 (EX_TEMPFAIL) when it cannot be stored, so the MTA keeps the
mail and tries again later; 78 (EX_CONFIG) for a broken config, which the MTA also defers. A message over the
size limit is stored anyway: the MTA already accepted it, and the worker quarantines it ("too-large").
"""

from __future__ import annotations

import sys

EX_OK, EX_TEMPFAIL = 0, 75


def ingest_stdin(config_file: str | None, stdin=None) -> int:
    from tkalert.receiver.config import load_config
    from tkalert.receiver.ingest.store import store_raw

    config = load_config(config_file)
    data = (stdin or sys.stdin.buffer).read()
    try:
        store_raw(config.store_dir, data, "pipe")
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else f"{config.store_dir}: "
        print(f"tkalert-receiver: cannot store the message, the MTA keeps it: {where}{exc.strerror or exc}",
              file=sys.stderr)
        return EX_TEMPFAIL
    return EX_OK
