"""The hardened reader under the open step: what lxml alone would let through, and each cap acting first."""

from __future__ import annotations

import pytest

from cast import mails
from tkalert.document.reader import InvalidDocument, Limits, parse_untrusted, parse_valid, validate

XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE heartbeat [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       b'<heartbeat version="1">&xxe;</heartbeat>')


def refusal(document: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(InvalidDocument) as refused:
        parse_untrusted(document, limits or Limits())
    return refused.value.reason


def test_lxml_without_entity_resolution_still_takes_an_external_entity():
    """Why a DOCTYPE is refused before any parser sees it (../shared/DESIGN.md, "Hardened XML")."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(XXE, parser)
    assert root.tag == "heartbeat" and len(root) == 1  # an unexpanded entity node, no error
    assert refusal(XXE) == "doctype"


@pytest.mark.parametrize("declaration", (b"<!DOCTYPE heartbeat>", b"<!ENTITY x 'y'>", b"<!ELEMENT a ANY>",
                                         b"<!doctype heartbeat>", b"<![INCLUDE[ ]]>"))
def test_every_markup_declaration_is_refused(declaration):
    assert refusal(b'<?xml version="1.0"?>' + declaration + b"<heartbeat/>") == "doctype"


def test_comments_and_cdata_are_no_declarations():
    root = parse_untrusted(b"<!-- a comment --><heartbeat><![CDATA[<!DOCTYPE>]]></heartbeat>")
    assert root.text == "<!DOCTYPE>"


@pytest.mark.parametrize("limits, document, reason", (
    (Limits(max_bytes=100), b"<a>" + b"x" * 100 + b"</a>", "too-large"),
    (Limits(max_depth=3), b"<a><b><c><d/></c></b></a>", "too-deep"),
    (Limits(max_text=10), b"<a><b>01234567890</b></a>", "text-too-long"),
))
def test_each_cap(limits, document, reason):
    assert refusal(document, limits) == reason


def test_deep_nesting_stops_at_the_cap_not_at_libxml2s():
    assert refusal(b"<a>" * 100_000 + b"</a>" * 100_000) == "too-deep"


@pytest.mark.parametrize("document, reason", (
    (b"<heartbeat>\xe4</heartbeat>", "not-utf8"),
    (b'<?xml version="1.0" encoding="ISO-8859-1"?><heartbeat/>', "not-utf8"),
    ("<heartbeat/>".encode("utf-16"), "not-utf8"),
    (b"<heartbeat><a></heartbeat>", "malformed-xml"),
    (b"", "malformed-xml"),
))
def test_encoding_and_syntax(document, reason):
    assert refusal(document) == reason


def test_sender_documents_still_validate_and_a_wrong_one_names_the_schema():
    assert parse_valid(mails.document("service")).tag == "alert"
    with pytest.raises(InvalidDocument, match="does not match tkalert.xsd") as refused:
        parse_valid(mails.document().replace(b"<sequence>1</sequence>", b""))
    assert refused.value.reason == "schema"


def test_legacy_schema_takes_what_1_5_wrote():
    validate(parse_untrusted(mails.legacy_document("alert")), "legacy")
    validate(parse_untrusted(mails.legacy_document("heartbeat", version="0.1-dev")), "legacy")
    with pytest.raises(InvalidDocument, match="legacy.xsd"):
        validate(parse_untrusted(mails.legacy_document(version="0.1.0")), "legacy")


THREADS = r'''
import sys, threading
sys.path.insert(0, sys.argv[1])
from cast import mails
from tkalert.document.reader import InvalidDocument, parse_untrusted, validate

good, bad = mails.document("service"), mails.document().replace(b"<sequence>1</sequence>", b"")
start, outcomes = threading.Barrier(8), []

def one(n):
    start.wait()
    for _ in range(20):
        try:
            validate(parse_untrusted(good if n % 2 else bad))
            outcomes.append("valid" if n % 2 else "WRONG: a bad document passed")
        except InvalidDocument as exc:
            outcomes.append("refused: " + exc.reason if n % 2 == 0 and "does not match" in str(exc) else repr(exc))
        except Exception as exc:
            outcomes.append(repr(exc))

threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print("\n".join(sorted(set(outcomes))))
'''


def test_a_fresh_process_validates_in_many_threads_at_once():
    """The receiver opens a batch in threads: libxml2's first schema parse is not thread-safe (built-in types
    set up twice: "the given type is not a built-in type") and a shared schema's error log is not either."""
    import subprocess
    import sys
    from pathlib import Path

    for _ in range(5):  # each a fresh interpreter: the race is in the first parse
        done = subprocess.run([sys.executable, "-c", THREADS, str(Path(__file__).parents[1])],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n") == ["refused: schema", "valid", ""]


def test_signed_times_read_as_strptime_reads_them():
    """opened.utc reads the canonical UtcTime without strptime: the same datetime, or the same error, for every
    day of four years (leap days included) at random times, impossible dates, and XML Schema's 24:00:00."""
    import random
    from datetime import datetime, timedelta, timezone

    from tkalert.receiver.opened import utc

    def strptime(text):
        try:
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return ValueError

    def read(text):
        try:
            return utc(text)
        except ValueError:
            return ValueError

    shuffle = random.Random(3339)
    day = datetime(2023, 1, 1, tzinfo=timezone.utc)
    texts = [f"{day + timedelta(days=n, seconds=shuffle.randrange(86400)):%Y-%m-%dT%H:%M:%SZ}" for n in range(1461)]
    texts += ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-03T23:59:60Z", "2026-1-3T9:3:0Z",
              "0000-01-01T00:00:00Z"]
    assert all(read(text) == strptime(text) for text in texts)
    assert utc("2024-02-29T24:00:00Z") == datetime(2024, 3, 1, tzinfo=timezone.utc)
