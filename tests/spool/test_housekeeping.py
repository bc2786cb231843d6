"""Housekeeping (archive pruning, the storm memory sweep) at most once an hour: a hook's work must not grow with
the archive. Counted by wrapping the listings in this process, the clock injected."""

from __future__ import annotations

import os
from pathlib import Path

from .spoolkit import sealed

from tkalert.sender.spool import open_site, submit
from tkalert.sender.spool import storm
from tkalert.sender.spool.archive import Archive
from tkalert.sender.spool.flusher import HOUSEKEEPING_EVERY

KEEP = 30 * 86400


def _count_listings(monkeypatch) -> dict[str, int]:
    calls = {"archive": 0, "storm": 0}
    files, listing = Archive.files, storm._listing

    def counted_files(self):
        calls["archive"] += 1
        return files(self)

    def counted_listing(directory):
        calls["storm"] += 1
        return listing(directory)

    monkeypatch.setattr(Archive, "files", counted_files)
    monkeypatch.setattr(storm, "_listing", counted_listing)
    return calls


def test_a_hooks_flush_lists_a_10000_record_archive_only_once_an_hour(site_config, smtp_sink, clock, monkeypatch):
    _, settings = site_config({"archive": {"keep": "30d"}})
    submit(sealed(), settings, clock=clock, make_digest=None)  # the first flush keeps house and stamps
    archive = open_site(settings).archive
    directory = Path(archive.directory)
    (seed,) = directory.glob("*.json")
    old = directory / "old.json"
    old.write_bytes(seed.read_bytes())
    expired = clock() - KEEP - 60  # past the retention already: only a prune removes them
    os.utime(old, (expired, expired))
    for n in range(1, 10_000):  # names of one inode: listed and stat'ed like 10,000 records, made in a blink
        os.link(old, directory / f"old-{n:05d}.json")
    calls = _count_listings(monkeypatch)

    for n in range(5):  # the stamp is fresh: no hook lists the archive or the storm memory
        clock.advance(60)
        assert submit(sealed(service=f"disk{n}"), settings, clock=clock, make_digest=None).state == "sent"
    assert calls == {"archive": 0, "storm": 0}
    assert len(os.listdir(archive.directory)) == 10_000 + 1 + 5 + 1  # + tmp/

    clock.advance(HOUSEKEEPING_EVERY)  # the stamp is older than an hour: this hook's flush prunes
    assert submit(sealed(service="fan"), settings, clock=clock, make_digest=None).state == "sent"
    assert calls["archive"] >= 1 and calls["storm"] >= 1
    assert not list(directory.glob("old*.json"))
    assert len(list(directory.glob("*.json"))) == 1 + 5 + 1  # the recent records stay

    before = dict(calls)
    clock.advance(60)
    assert submit(sealed(service="psu"), settings, clock=clock, make_digest=None).state == "sent"
    assert calls == before  # stamped again: the next hour's first flush is the next to keep house
