"""Reports (#15): an accepted report keeps, per system and path, the file's current redacted content and every version.

Runs in the verdict's transaction (tkalert.receiver.act), with the system's row locked, so two workers never apply
one system's reports at once. Per <file> of the report (tkalert.document.report):

  <content>                         the full text; stored when its SHA-256 is the file's `sha256`
  <diff base-sha256=...>            applied (apply_diff) to the stored text, only when that text's SHA-256 is the
                                    base's, and kept only when the result's is the file's `sha256`
  status removed                    marked removed
  no content, kind text             unchanged: nothing to do when the stored text is the reported one
  no content, another kind          listed: metadata without content (over the cap, binary, a link, unreadable)
A diff or an unchanged file that does not fit what is stored (a report was lost between them, or the receiver
never had the file) marks the file "needs-full": its content is unknown until a report carries it whole (the
sender's `tkalert report --full`); wrong content is never stored.
"""

from __future__ import annotations

from tkalert.document.report import apply_diff, sha256_text
from tkalert.receiver.models import Message, ReportFile, ReportFileVersion, System

State = ReportFile.State


def store_report(message: Message) -> int:
    """Apply the accepted report `message` to its system's files; how many files got a new version."""
    from tkalert.document.reader import parse_untrusted

    System.objects.select_for_update().filter(pk=message.system_id).first()  # one system's reports in turn
    root = parse_untrusted(bytes(message.document))
    files = root.find("files")
    known = {f.path: f for f in ReportFile.objects.filter(system_id=message.system_id)}
    return sum(store_file(message, known.get(element.get("path")), element) for element in
               (files if files is not None else ()) if isinstance(element.tag, str))


def store_file(message: Message, file: ReportFile | None, element) -> bool:
    """One <file> of the report; True when it made a new version."""
    now = message.received_at
    status, kind, sha = element.get("status", ""), element.get("kind") or "", element.get("sha256") or ""
    size = element.get("size")
    if file is None:
        file = ReportFile(system_id=message.system_id, path=element.get("path"), changed_at=now, state="")
    elif is_older(message, file):
        return False  # an older report arriving late (delivery retries reorder): the newer one stands
    file.group, file.reported_at, file.reported_sequence = element.get("group") or "", now, message.sequence
    if status != "removed":
        file.kind, file.size = kind, int(size) if size is not None else None
    state, content, note = next_state(file, element, status, kind, sha)
    if (state, sha, content) == (file.state, file.sha256, file.content) and file.pk:
        file.save(update_fields=["group", "kind", "size", "reported_at", "reported_sequence"])
        return False
    file.state, file.sha256, file.content, file.note, file.changed_at = state, sha, content, note, now
    file.save()
    number = ReportFileVersion.objects.filter(file=file).count() + 1
    ReportFileVersion.objects.create(file=file, number=number, message=message, status=status, state=state,
                                     size=file.size, sha256=sha, content=content, note=note, received_at=now)
    return True


def is_older(message: Message, file: ReportFile) -> bool:
    """Whether `message` was sealed before the report `file` was last updated from: the sender's sequence orders
    them (a report held up in a spool arrives after a newer one); the receipt time only where a sequence is missing."""
    if message.sequence is not None and file.reported_sequence is not None:
        return message.sequence < file.reported_sequence
    return message.received_at < file.reported_at


def next_state(file: ReportFile, element, status: str, kind: str, sha: str) -> tuple[str, str | None, str]:
    """(state, content, note) of the file after this <file> element."""
    if status == "removed":
        return State.REMOVED, None, ""
    content, diff = element.find("content"), element.find("diff")
    if content is not None:
        text = content.text or ""
        if sha256_text(text) != sha:
            return State.NEEDS_FULL, None, f"the content's SHA-256 is not the reported {sha}"
        return State.CURRENT, text, ""
    if diff is not None:
        base = diff.get("base-sha256") or ""
        if file.state != State.CURRENT or file.content is None or file.sha256 != base:
            have = file.sha256 if file.state == State.CURRENT else f"no content ({file.state or 'new here'})"
            return State.NEEDS_FULL, None, f"a diff against {base}, stored is {have}: a report was lost"
        try:
            text = apply_diff(file.content, diff.text or "")
        except ValueError as exc:
            return State.NEEDS_FULL, None, f"the diff does not apply: {exc}"
        if sha256_text(text) != sha:
            return State.NEEDS_FULL, None, f"the rebuilt text's SHA-256 is not the reported {sha}"
        return State.CURRENT, text, ""
    if kind != "text":
        return State.LISTED, None, element.findtext("note") or kind
    if file.state == State.CURRENT and file.sha256 == sha:
        return State.CURRENT, file.content, ""
    return State.NEEDS_FULL, None, f"reported {status} with SHA-256 {sha}, which is not what is stored"
