"""Read a document with a hardened lxml parser and validate it against a shipped schema.

Two callers: the sender (`parse_valid`: `--dump-xml`, `tkalert test` and the tests check what tkalert wrote) and
the vendor's receiver (`parse_untrusted` then `validate`: a decrypted document from anyone). The notification hook
itself does not import lxml (it costs about 20 ms per event), because `writer.py` can only write the shapes the
tests validate.

Untrusted input is refused, with a stable `reason`, in order of cost: over the size cap ("too-large"), not UTF-8
("not-utf8"), any `<!DOCTYPE`/`<!ENTITY` before a parser sees it ("doctype": lxml with resolve_entities=False still
accepts a document with external entities and leaves unexpanded nodes, and billion laughs or quadratic blowup need
a DTD), then a streaming parse that stops at the first element past the depth cap ("too-deep") or text past the
length cap ("text-too-long"), not well-formed ("malformed-xml"), and last the schema ("schema"). No DTD is loaded,
no entity resolved, nothing fetched from the network.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass
from importlib import resources

from tkalert.errors import TkalertError, one_line

SCHEMAS = {"tkalert": "tkalert.xsd", "legacy": "legacy.xsd"}
# "<!" opens a DOCTYPE, ENTITY, ELEMENT, ATTLIST or conditional section; only comments and CDATA are harmless,
# and what they hold is text (TKalert 1.5 wrote plugin output as CDATA, which may hold "<!DOCTYPE html>").
HARMLESS = (("<!--", "-->"), ("<![CDATA[", "]]>"))
ENCODING = re.compile(r"""\A\ufeff?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class InvalidDocument(TkalertError):
    """A document does not match its schema: from the sender, a bug in tkalert, never the user's input."""

    reason = "schema"


class UnsafeDocument(InvalidDocument):
    """An untrusted document refused before or while parsing; `reason` is a stable word."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 16 << 20  # a storm digest of a few hundred alerts with 64 KiB outputs still fits
    max_depth: int = 8  # digest > events > alert > service > name is 5 deep
    max_text: int = 70_000  # characters per text node, tkalert.xsd's Text limit


def parse_valid(document: bytes):
    """Parse and validate what tkalert wrote; return the root element or raise InvalidDocument naming the error."""
    root = parse_untrusted(document)
    validate(root)
    return root


def parse_untrusted(document: bytes, limits: Limits = Limits()):
    """The root element of a document from anyone, or UnsafeDocument with the reason it was refused."""
    if len(document) > limits.max_bytes:
        raise UnsafeDocument("too-large", f"document of {len(document)} bytes, over {limits.max_bytes}")
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeDocument("not-utf8", f"document is not UTF-8: byte {exc.start}") from None
    declared = ENCODING.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise UnsafeDocument("not-utf8", f"document declares encoding {declared.group(1)}, not UTF-8")
    found = _declaration(text)
    if found is not None:
        raise UnsafeDocument("doctype", f"document carries a markup declaration ({one_line(text[found:found + 40])}"
                                        "...): no DTDs, no entities")
    return _parse(document, limits)


def validate(root, schema: str = "tkalert") -> None:
    """Raise InvalidDocument naming the first error when `root` does not match the named schema."""
    checker = _schema(schema)
    if not checker.validate(root):
        error = checker.error_log.last_error
        raise UnsafeDocument("schema", f"document does not match {SCHEMAS[schema]}: line {error.line}: "
                                       f"{one_line(error.message, 200)}")


def _declaration(text: str) -> int | None:
    """Where the first "<!" outside comments and CDATA sections is, or None; one pass, linear in the text."""
    at = text.find("<!")
    while at >= 0:
        closing = next((end for start, end in HARMLESS if text.startswith(start, at)), None)
        if closing is None:
            return at
        end = text.find(closing, at + 4)
        if end < 0:
            return None  # unterminated: the parser refuses it as malformed
        at = text.find("<!", end + len(closing))
    return None


def _parse(document: bytes, limits: Limits):
    from lxml import etree

    depth = 0
    events = etree.iterparse(io.BytesIO(document), events=("start", "end"), **_HARDENED)
    try:
        for event, element in events:
            depth += 1 if event == "start" else -1
            if depth > limits.max_depth:
                raise UnsafeDocument("too-deep", f"elements nested deeper than {limits.max_depth}")
            if event == "end" and max(len(element.text or ""), len(element.tail or "")) > limits.max_text:
                raise UnsafeDocument("text-too-long", f"<{element.tag}> holds a text of more than "
                                                      f"{limits.max_text} characters")
        root = events.root
    except etree.XMLSyntaxError as exc:
        if LIBXML2_TOO_DEEP in str(exc):  # libxml2's own cap (256) met first: lxml 6 parses ahead of the events
            raise UnsafeDocument("too-deep", f"elements nested deeper than {limits.max_depth}") from None
        raise UnsafeDocument("malformed-xml", f"document is not well-formed XML: {one_line(exc, 200)}") from None
    if root.getroottree().docinfo.doctype:
        raise UnsafeDocument("doctype", "document carries a DOCTYPE: no DTDs, no entities")
    return root


LIBXML2_TOO_DEEP = "Excessive depth in document"  # its message since 2.9 (bookworm's 2.9.14, lxml 6's 2.14)

# No DTDs, no entities, no network, libxml2's own size limits kept: the settings for anything untrusted.
_HARDENED = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False)


# The receiver opens a batch in threads. libxml2 sets up its built-in schema types on the first schema parse, and
# two first parses at once fail ("the given type is not a built-in type"): schemas are parsed one at a time. A
# schema's error log is the object's, not the call's: each thread validates with a schema object of its own.
_PARSING = threading.Lock()
_PER_THREAD = threading.local()


def _schema(name: str):
    schemas = _PER_THREAD.__dict__.setdefault("schemas", {})
    if name not in schemas:
        with _PARSING:
            schemas[name] = _parse_schema(name)
    return schemas[name]


def _parse_schema(name: str):
    from lxml import etree

    with resources.files("tkalert.document").joinpath(SCHEMAS[name]).open("rb") as fh:
        parser = etree.XMLParser(**_HARDENED)
        return etree.XMLSchema(etree.parse(fh, parser))
