"""Entry: one spooled message and its bookkeeping, as one self-contained JSON file.

Submit creates an entry from a `SealedMessage`; the flusher updates it (attempts, next try, last error) and finally
turns it into an archive record (sent, folded) or a failed/ record (failed, expired). The file holds the payload
and the plaintext document too, so that every file on its own is enough to deliver, to account for, and to show
the message (`tkalert show`). Where a file lies says its status; the `status` field repeats it for readers.
"""

from __future__ import annotations

from tkalert.record import Record
from tkalert.sender.message import SealedMessage
from tkalert.sender.spool import jsonfile

FORMAT = 1
# SealedMessage field -> its key in the file: the file format stays as tkalert 0.1 wrote it
FILE_KEYS = {"document_type": "kind", "monitored_state": "state"}
STATUSES = ("unsealed", "queued", "folded", "sent", "failed", "expired")
FIELDS = {key: name for name, key in FILE_KEYS.items()}
ID_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
ID_CHARS = ID_START | frozenset("._-")


class Entry(Record):
    message: SealedMessage
    status: str
    queued_at: float
    attempts: int = 0
    next_try: float = 0.0
    last_error: str | None = None
    destination: str | None = None
    finished_at: float | None = None
    fold_reason: str | None = None
    digest_id: str | None = None  # folded events: the digest that carried them
    digest_of: tuple[str, ...] = ()  # a digest: the message ids it folds
    override_to: str | None = None  # --override-target-mail: delivered there, not to the configured mail_to

    @property
    def message_id(self) -> str:
        return self.message.message_id

    def with_status(self, status: str, **changes) -> "Entry":
        return self.replace(status=status, **changes)


def new_entry(message: SealedMessage, now: float, status: str = "queued", **extra) -> Entry:
    check_message_id(message.message_id)
    return Entry(message=message, status=status, queued_at=now, next_try=now, **extra)


def check_message_id(message_id: str) -> str:
    """The id becomes a file name: refuse anything that could leave the directory."""
    if not (message_id and len(message_id) <= 128 and message_id[0] in ID_START and ID_CHARS.issuperset(message_id)):
        raise ValueError(f"message id {message_id!r} is not a safe file name (letters, digits, . _ -)")
    return message_id


def dumps(entry: Entry, keep_documents: bool = True) -> bytes:
    return jsonfile.dumps(to_record(entry, keep_documents), indent=1).encode("utf-8")


def loads(data: bytes) -> Entry:
    return from_record(jsonfile.loads(data))


def to_record(entry: Entry, keep_documents: bool = True) -> dict:
    """The entry as the JSON object its file holds (an archive's digest file lists several of them)."""
    record = entry.as_dict()
    message = {FILE_KEYS.get(k, k): v for k, v in record.pop("message").items()}
    message["payload"] = _blob(entry.message.payload) if keep_documents else None
    message["plaintext"] = _blob(entry.message.plaintext) if keep_documents else None
    record["digest_of"] = list(entry.digest_of)
    return {"format": FORMAT, "message": message, **record}


def from_record(record: dict) -> Entry:
    record = dict(record)
    record.pop("format", None)
    message = {FIELDS.get(k, k): v for k, v in record.pop("message").items()}
    message["payload"] = _unblob(message.get("payload"))
    message["plaintext"] = _unblob(message.get("plaintext"))
    record["digest_of"] = tuple(record.get("digest_of") or ())
    return Entry(message=SealedMessage(**message), **record)


def _blob(data: bytes) -> dict[str, str]:
    # Text stays readable in the file (an admin may look); anything else round-trips exactly as base64.
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        import base64

        return {"base64": base64.b64encode(data).decode("ascii")}


def _unblob(blob: dict[str, str] | None) -> bytes:
    if not blob:
        return b""
    if "text" in blob:
        return blob["text"].encode("utf-8")
    import base64

    return base64.b64decode(blob["base64"])
