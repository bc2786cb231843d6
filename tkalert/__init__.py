"""tkalert: call-home toolkit for Nagios, Icinga and Zabbix.

Sender pipeline: build (tkalert.document) -> seal (tkalert.openpgp) -> spool -> deliver (tkalert.sender.deliver).
"""

__version__ = "0.1.0"
