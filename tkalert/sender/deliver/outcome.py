"""The result of one delivery attempt for one message: data the spool stores, never an exception."""

from __future__ import annotations

from tkalert.record import Record


class Outcome(Record):
    message_id: str
    destination: str
    delivered: bool
    permanent: bool = False  # True: retrying the same thing cannot help (5xx, bad credentials)
    error: str | None = None

    @classmethod
    def sent(cls, message_id: str, destination: str) -> Outcome:
        return cls(message_id, destination, True)

    @classmethod
    def failed(cls, message_id: str, destination: str, error: str, permanent: bool = False) -> Outcome:
        return cls(message_id, destination, False, permanent, error)
