"""The admin commands: name -> "module:attribute" of its click command, imported only when that command runs.

Read by `tkalert.cli.main` (is the first word a command?) and by the admin group (tkalert.cli.admin).
"""

COMMANDS = {
    "init": "tkalert.cli.init:init",
    "keygen": "tkalert.cli.keys:keygen",
    "demo": "tkalert.cli.demo:demo",
    "test": "tkalert.cli.selftest:test_setup",
    "flush": "tkalert.cli.spoolcmds:flush",
    "flusher": "tkalert.cli.flusher:flusher",
    "log": "tkalert.cli.spoolcmds:log",
    "maintenance": "tkalert.cli.maintenance:maintenance",
    "show": "tkalert.cli.spoolcmds:show",
    "report": "tkalert.cli.report:report",
    "resend": "tkalert.cli.spoolcmds:resend",
    "status": "tkalert.cli.spoolcmds:status",
    "zabbix": "tkalert.cli.zabbix:zabbix",
}
