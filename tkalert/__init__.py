"""tkalert: call-home toolkit for Nagios, Icinga and Zabbix.

Sender pipeline (tkalert.sender.pipeline): write the document (tkalert.document) -> seal (tkalert.openpgp) -> spool
(tkalert.sender.spool) -> deliver (tkalert.sender.deliver). Configuration in tkalert.config, entry points in
tkalert.cli (one error boundary: tkalert.cli.boundary), monitoring-system glue in tkalert.integrations.
"""

__version__ = "0.1.0"
