"""TLS trust for the network transports (smtp, microsoft365, https): whom we believe we are talking to.

Three ways to trust a server, in this order:
- pinned: `pin_sha256` names the SHA-256 fingerprint of the server's leaf certificate (DER), one or two of them
  so a certificate can be rolled over without a gap. With a pin set the certificate chain and host name are NOT
  checked: the pin is the trust (a self-signed certificate is fine), as in Fabasoft app.telemetry's agent link.
- verified (the default): the chain is checked against the system CAs or `ca_file`, and the host name must match.
- `verify = no`: neither; the connection is encrypted but anyone on the path can read it. For tests and
  emergencies only.
The pin is compared right after the handshake, before a password, token or message crosses the connection.
Fingerprints are written as 64 hex digits, with or without colons (`openssl x509 -noout -fingerprint -sha256`).
ssl is imported when a connection needs it: reading the options (every hook checks every destination's) does not.
"""

from __future__ import annotations

from tkalert.sender.deliver.destination import DestinationOptions
from tkalert.sender.deliver.failure import FIX_PIN, TransportFailure


class PinMismatch(TransportFailure):
    """The server showed a certificate whose fingerprint is not pinned: a configuration problem or an attack."""

    def __init__(self, reason: str):
        super().__init__(f"certificate refused: {reason}", True, FIX_PIN)


def fingerprint(der: bytes) -> str:
    import hashlib

    return hashlib.sha256(der).hexdigest()


def pretty(fpr: str) -> str:
    return ":".join(fpr[i:i + 2] for i in range(0, len(fpr), 2)).upper()


def parse_pins(value: str | None, where: str = "pin_sha256") -> tuple[str, ...]:
    """`AB:CD:..., 0123...` -> normalised lowercase hex; raises ValueError naming the bad one."""
    pins = []
    for item in (value or "").replace(",", " ").split():
        pin = item.replace(":", "").lower()
        if len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin):
            raise ValueError(f"{where}: {item!r} is not a SHA-256 fingerprint (64 hex digits, colons allowed)")
        pins.append(pin)
    return tuple(pins)


class TlsPolicy:
    __slots__ = ("verify", "ca_file", "pins")

    def __init__(self, verify: bool = True, ca_file=None, pins: tuple[str, ...] = ()):
        self.verify, self.ca_file, self.pins = verify, ca_file, pins

    @classmethod
    def from_options(cls, options: DestinationOptions) -> TlsPolicy:
        try:
            pins = parse_pins(options.text("pin_sha256"))
        except ValueError as exc:
            raise options.error(str(exc)) from None
        if len(pins) > 2:
            raise options.error("pin_sha256 takes one or two fingerprints (two while a certificate rolls over)")
        return cls(verify=options.boolean("verify"), ca_file=options.path("ca_file"), pins=pins)

    def context(self):
        import ssl

        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.pins or not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def check(self, sock) -> str:
        """Check the peer of a finished handshake; returns its fingerprint, raises PinMismatch."""
        fpr = fingerprint(sock.getpeercert(binary_form=True))
        if self.pins and fpr not in self.pins:
            raise PinMismatch(
                f"server certificate SHA-256 {pretty(fpr)} matches no pinned fingerprint "
                f"({', '.join(pretty(p) for p in self.pins)})"
            )
        return fpr

    def describe(self, fpr: str) -> str:
        how = "pinned" if self.pins else ("verified chain" if self.verify else "NOT verified (verify = no)")
        return f"certificate SHA-256 {pretty(fpr)}, {how}"
