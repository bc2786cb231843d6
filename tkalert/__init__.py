"""tkalert: call-home toolkit for Nagios, Icinga and Zabbix.

Sender pipeline: build (tkalert.build) -> seal (tkalert.seal) -> spool -> deliver (tkalert.deliver).
"""

__version__ = "0.1.0"
