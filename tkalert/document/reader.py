"""Validate a document against the shipped `tkalert.xsd` with a hardened lxml parser.

Used by `--dump-xml`, `tkalert test` and the tests; the notification hook itself does not import lxml (it costs
about 20 ms per event), because `document.py` can only write the shapes the tests validate.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from tkalert.errors import TkalertError


class InvalidDocument(TkalertError):
    """A document does not match tkalert.xsd: a bug in tkalert, never the user's input."""


@lru_cache(maxsize=1)
def _schema():
    from lxml import etree

    with resources.files("tkalert.document").joinpath("tkalert.xsd").open("rb") as fh:
        return etree.XMLSchema(etree.parse(fh, _parser()))


def _parser():
    from lxml import etree

    # No DTDs, no entities, no network: the same parser settings the receiver uses on untrusted input.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_valid(document: bytes):
    """Parse and validate; return the root element or raise InvalidDocument naming the first error."""
    from lxml import etree

    try:
        root = etree.fromstring(document, _parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidDocument(f"document is not well-formed XML: {exc}") from None
    schema = _schema()
    if not schema.validate(root):
        error = schema.error_log.last_error
        raise InvalidDocument(f"document does not match tkalert.xsd: line {error.line}: {error.message}")
    return root
