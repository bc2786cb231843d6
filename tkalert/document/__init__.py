"""The document: the shared contract between sender and receiver.

`event.Event` holds what the caller said; `stamp` decides what identifies one message (system id, sequence, message
id); `text` makes any string safe to put in a document; `writer` writes the XML in TKalert 1.5's element names and
order plus tkalert's additions; `digest` wraps many documents in one; `reader` parses a document with a hardened
parser and validates it against the shipped `tkalert.xsd`.
"""
