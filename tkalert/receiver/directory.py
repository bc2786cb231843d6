"""The directory open.py asks while it opens a message: which key is pinned for a system, which contract is legacy.

Read-only and outside any transaction (opening runs gpg and takes its time); the judge re-checks the pin inside
its transaction, so two first contacts of one system racing through two workers still pin one key.
"""

from __future__ import annotations

from tkalert.receiver.models import Contract, System


class OrmDirectory:
    def pinned_key(self, system_id: str) -> str | None:
        found = System.objects.filter(system_id=system_id).values_list("pinned_key", flat=True).first()
        return found or None

    def legacy_allowed(self, auth_key: str) -> bool:
        return Contract.objects.filter(auth_key=auth_key, legacy=True).exists()


class BatchDirectory:
    """One batch's answers, each asked of `directory` once: the batch's messages are mostly of few systems. Its
    opener threads share it (a dict's get and set are atomic; two threads asking at once both get the answer)."""

    def __init__(self, directory):
        self.directory = directory
        self.answers: dict = {}

    def pinned_key(self, system_id: str) -> str | None:
        return self._ask("pinned_key", system_id)

    def legacy_allowed(self, auth_key: str) -> bool:
        return self._ask("legacy_allowed", auth_key)

    def _ask(self, question: str, subject: str):
        try:
            return self.answers[question, subject]
        except KeyError:
            answer = self.answers[question, subject] = getattr(self.directory, question)(subject)
            return answer
