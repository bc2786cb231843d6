"""The built-in SMTP and LMTP listener: answers 250 only after the raw message is durably stored (ingest.store).

aiosmtpd speaks the protocol; `StoringHandler` is the one hook that matters: DATA's bytes go to the store in a
thread (fsync must not stall the other sessions; sessions storing at once share the fsync of new/), then 250; an
OSError is 451 (temporary: the sender's spool or the MTA tries again); over `size_limit` aiosmtpd itself answers
552. LMTP (RFC 2033) answers once per accepted recipient, with one store for all of them. The listener checks
nothing else: a mail with a bad signature was still delivered to us, and its verdict is the worker's (quarantine),
never a bounce that would tell a forger why.
"""

from __future__ import annotations

import asyncio
import re
from functools import partial
from pathlib import Path

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from tkalert.errors import one_line
from tkalert.receiver.ingest.store import GroupSync, store_raw

SERVER_NAME = "tkalert-receiver"
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = re.compile(rf"<({_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*)>", re.ASCII)


class PlainAddresses:
    """MAIL FROM and RCPT TO of a plain `<local@domain>` (dot-atoms: what senders and MTAs send) read by a regular
    expression: aiosmtpd parses every address with the email package's RFC 5322 header parser (and makes a class
    on each call), a third of the listener's time per message. The answer is the parser's, which reads everything
    else (quoted local parts, comments, domain literals, UTF-8: tests/receiver/test_listener.py compares both)."""

    def _getaddr(self, arg: str):
        match = PLAIN_ADDRESS.match(arg or "")
        rest = arg[match.end():] if match else ""
        if match is None or "(" in rest:  # a comment after the address: the parser's to skip
            return super()._getaddr(arg)
        address = match.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest.lstrip(" \t")  # the parser skips the blanks before the parameters


class Smtp(PlainAddresses, SMTP):
    pass


class Lmtp(PlainAddresses, LMTP):
    pass


class StoringHandler:
    def __init__(self, store_dir: Path, channel: str = "smtp", log=None):
        self.store_dir, self.channel = store_dir, channel
        self.log = log or (lambda line: None)
        self.group = GroupSync(store_dir / "new")

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        try:
            stored = await asyncio.get_running_loop().run_in_executor(
                None, partial(store_raw, self.store_dir, data, self.channel, group=self.group))
        except OSError as exc:
            self.log(f"cannot store a message from {session.peer}: {one_line(exc)} (answered 451)")
            return "451 4.3.0 cannot store the message now, try again later"
        ok = f"250 2.0.0 stored as {stored.path.name}"
        return "\r\n".join([ok] * len(envelope.rcpt_tos)) if self.channel == "lmtp" else ok


def protocol_factory(store_dir: Path, channel: str, size_limit: int, log=None):
    """A factory for loop.create_server: one SMTP (or LMTP) protocol object per connection."""
    kind = Lmtp if channel == "lmtp" else Smtp
    handler = StoringHandler(store_dir, channel, log)
    return lambda: kind(handler, data_size_limit=size_limit, enable_SMTPUTF8=True, decode_data=False,
                        hostname=SERVER_NAME, ident=SERVER_NAME)


async def start_listeners(addresses, store_dir: Path, channel: str, size_limit: int, log=None) -> list:
    """Listen on every (host, port); the asyncio servers, already accepting."""
    loop = asyncio.get_running_loop()
    factory = protocol_factory(store_dir, channel, size_limit, log)
    return [await loop.create_server(factory, host, port) for host, port in addresses]
