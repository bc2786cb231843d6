"""Zabbix 6.0: the `tkalert` script media type, its alert script and the API set-up.

Zabbix hands a script media type only {ALERT.SENDTO}, {ALERT.SUBJECT} and {ALERT.MESSAGE}, so everything else
travels as `key=value` lines in the media type's message templates (media_type.yaml, shipped in this package):
`message` parses them into an `Event`, `alert` is the `tkalert-zabbix` alert script that sends it, `api` talks to
the Zabbix API (import the media type, read a host's inventory).
"""
