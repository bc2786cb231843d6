"""Storm control's digest: every folded document travels whole inside one valid, sealed `<digest>`."""

from __future__ import annotations

from cast.config import write_config
from tkalert.document.event import Event
from tkalert.document.reader import parse_valid
from tkalert.config.settings import load_settings
from tkalert.sender.pipeline import SendOptions, complete_event, facts_of, render, seal, seal_digest


def test_digest_embeds_every_event_and_decrypts(tmp_path, keys):
    settings = load_settings(write_config(tmp_path / "c.conf", keys, 25, tmp_path / "state"), env={})
    options = SendOptions(gnupg_home=keys.sender_home)
    folded = []
    for service in ("HTTP", "SMTP", "]]>&<"):
        event = complete_event(Event(event_type="service", host="web01", service=service, service_status="CRITICAL"),
                               settings)
        document, stamp = render(event, settings)
        folded.append(seal(document, stamp, facts_of(event), settings, options))
    digest = seal_digest(folded, settings, options)
    assert digest.document_type == "digest"
    plaintext, signer = keys.decrypt(digest.payload)
    assert signer == keys.system
    root = parse_valid(plaintext)
    assert root.tag == "digest" and root.findtext("authkey") == "0123456789a"
    events = root.find("events")
    assert events.get("count") == "3"
    assert [a.findtext("message-id") for a in events] == [m.message_id for m in folded]
    assert [a.findtext("service/name") for a in events] == ["HTTP", "SMTP", "]]>&<"]
    assert int(root.findtext("sequence")) > max(m.sequence for m in folded)


def test_digest_is_encrypted_when_any_folded_message_was(tmp_path, keys):
    settings = load_settings(write_config(tmp_path / "c.conf", keys, 25, tmp_path / "state"), env={})
    event = complete_event(Event(event_type="service", host="web01", service="HTTP", service_status="CRITICAL"),
                           settings)
    clear, sealed = (seal(*render(event, settings), facts_of(event), settings,
                          SendOptions(gnupg_home=keys.sender_home, encrypt=encrypt)) for encrypt in (False, True))
    assert parse_valid(seal_digest([clear, clear], settings, SendOptions(keys.sender_home)).payload).tag == "digest"
    mixed = seal_digest([clear, sealed], settings, SendOptions(keys.sender_home, encrypt=False))
    assert mixed.encrypted and keys.decrypt(mixed.payload)[1] == keys.system
