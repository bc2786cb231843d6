"""Build: turn an event (from the command line or an alert script) into an XML document.

`event.Event` holds what the caller said; `text` makes any string safe to put in a document; `document` writes the
XML in TKalert 1.5's element names and order plus tkalert's additions; `schema` validates it against the shipped
`tkalert.xsd`. The result is the plaintext that the seal step signs and encrypts.
"""
