"""smtplib's client for the staged connection of tkalert.sender.deliver.smtp (TLS, AUTH, `tkalert test`).

Imported only when a connection needs smtplib: plain SMTP without login goes through
tkalert.sender.deliver.plainsmtp.
"""

from __future__ import annotations

import smtplib
import socket

from tkalert.sender.deliver.hostname import local_hostname


class StagedClient(smtplib.SMTP):
    """smtplib's client on a socket we connected (and, for smtps, wrapped) ourselves, so each stage is separate."""

    def __init__(self, sock: socket.socket, host: str, port: int, timeout: float):
        self._prepared = sock
        super().__init__(host, port, local_hostname=local_hostname(), timeout=timeout)  # no getfqdn(): see hostname

    def _get_socket(self, host, port, timeout):
        return self._prepared

    def connect(self, host, port, source_address=None):
        self.greeting = super().connect(host, port, source_address)
        return self.greeting
