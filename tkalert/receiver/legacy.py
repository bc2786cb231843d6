"""TKalert 1.5 documents: unsigned, no stamp, accepted only for contracts marked legacy.

The open step hands a decrypted, unsigned document here when it carries no `<message-id>` (every tkalert document
has one). It must match legacy.xsd (1.5's elements, `version` "0.1-dev" or "1.x", `<date>` as ctime text such as
"Thu Oct 11 16:54:34 2012" or a Unix epoch) and its auth key must belong to a contract marked legacy; it comes back
as an `Opened` with no system id, message id, sequence or signer. 1.5 wrote no zone with its date: we read it as
UTC. It is the sender's data, not the receiver's clock, so the error is reported, never acted on.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tkalert.document.reader import validate
from tkalert.receiver.opened import Directory, Opened, Refused, fields_of

CTIME = "%a %b %d %H:%M:%S %Y"


def is_legacy(root) -> bool:
    return root.find("message-id") is None


def open_legacy(root, document: bytes, directory: Directory) -> Opened:
    validate(root, "legacy")
    auth_key = root.findtext("authkey", "").strip()
    if not directory.legacy_allowed(auth_key):
        raise Refused("legacy-not-allowed", f"an unsigned TKalert {root.get('version')} document for auth key "
                                            f"{auth_key!r}, whose contract is not marked legacy")
    return Opened(document_type=root.tag, legacy=True, auth_key=auth_key, system_id=None, message_id=None,
                  sequence=None, signed_at=legacy_date(root.findtext("date", "")), signer=None,
                  first_contact_key=None, fields=fields_of(root), events=(), document=document)


def legacy_date(text: str) -> datetime | None:
    """1.5's <date>: ctime text without a zone (read as UTC) or a Unix epoch; None when it is neither."""
    text = " ".join(text.split())
    try:
        if text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), timezone.utc)
        return datetime.strptime(text, CTIME).replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
