"""Baseline: what the vendor last received of each file, so a report sends only what changed since then.

Kept in `state_dir/report/` (0700), redacted like everything after the manifest step:

    pending/<message id>.json   the snapshot a spooled report carries: every file's redacted text and fingerprint
    delivered.json              the snapshot of the newest report the spool's archive says was sent: the baseline

Before a report is built, `settle` asks the spool about every pending snapshot: sent (its archive record) makes it
the baseline and drops the older ones; still queued, unsealed or failed (an admin may resend it) keeps it waiting;
unknown to the spool (never written, or lost) drops it. A report that was never delivered therefore never becomes
the baseline, and the next report carries its changes again, diffed against what the vendor really has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tkalert.sender.spool import disk

FORMAT = 1


@dataclass
class Snapshot:
    sequence: int = 0
    message_id: str | None = None
    files: dict[str, dict] = field(default_factory=dict)  # path -> {group, fingerprint, sha256, text}

    def to_json(self) -> bytes:
        return json.dumps({"format": FORMAT, "sequence": self.sequence, "message_id": self.message_id,
                           "files": self.files}, indent=1, sort_keys=True).encode("utf-8", "surrogateescape")

    @classmethod
    def from_json(cls, data: bytes) -> "Snapshot":
        raw = json.loads(data)
        return cls(raw.get("sequence", 0), raw.get("message_id"), raw.get("files", {}))


class Baselines:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.pending = self.directory / "pending"

    def prepare(self) -> "Baselines":
        disk.ensure_dir(self.pending)
        disk.ensure_dir(self.directory / "tmp")
        return self

    def delivered(self) -> Snapshot:
        try:
            return Snapshot.from_json((self.directory / "delivered.json").read_bytes())
        except FileNotFoundError:
            return Snapshot()

    def add_pending(self, snapshot: Snapshot) -> None:
        disk.write_durably(self.directory / "tmp", self.pending / f"{snapshot.message_id}.json", snapshot.to_json())

    def pending_snapshots(self) -> list[tuple[Path, Snapshot]]:
        found = []
        for path in self.pending.glob("*.json"):
            try:
                found.append((path, Snapshot.from_json(path.read_bytes())))
            except (OSError, ValueError):
                continue
        return sorted(found, key=lambda item: item[1].sequence)

    def settle(self, site) -> Snapshot:
        """Promote the newest delivered pending snapshot, drop what is superseded or unknown; return the baseline."""
        baseline = self.delivered()
        waiting = self.pending_snapshots()
        for index, (path, snapshot) in enumerate(waiting):
            state = delivery_state(site, snapshot.message_id)
            if state == "sent" and snapshot.sequence >= baseline.sequence:
                disk.write_durably(self.directory / "tmp", self.directory / "delivered.json", snapshot.to_json())
                baseline = snapshot
                for older, _ in waiting[:index + 1]:
                    older.unlink(missing_ok=True)
            elif state in ("sent", "unknown"):
                path.unlink(missing_ok=True)
        return baseline


def delivery_state(site, message_id: str | None) -> str:
    """sent | waiting (unsealed, queued or failed: it may still go) | unknown (the spool never had it, or lost it)."""
    if not message_id:
        return "unknown"
    archived = site.archive.load(message_id)
    if archived is not None and archived.status == "sent":
        return "sent"
    if site.outbox.locate(message_id):
        return "waiting"
    return "unknown"
