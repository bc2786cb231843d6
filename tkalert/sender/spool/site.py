"""Site: one machine's spool opened for a command — its policy, outbox and archive, directories created 0700.

Every entry point (submit, flush, log, show, the spool check) starts here, so the config sections are parsed
and checked once, before anything touches the disk.
"""

from __future__ import annotations

from tkalert.record import Record
from tkalert.sender.owner import act_as_spool_owner
from tkalert.sender.spool.archive import Archive
from tkalert.sender.spool.outbox import Outbox
from tkalert.sender.spool.policy import Policy, load_policy


class Site(Record):
    policy: Policy
    outbox: Outbox
    archive: Archive


def open_site(settings, create: bool = True) -> Site:
    act_as_spool_owner(settings)  # before any file is touched: everything created belongs to the spool's owner
    policy = load_policy(settings)
    outbox = Outbox(settings.spool_dir)
    archive = Archive(policy.archive.directory, policy.archive.keep, policy.categories.archive)
    if create:
        outbox.prepare()
        archive.prepare()
    return Site(policy, outbox, archive)
