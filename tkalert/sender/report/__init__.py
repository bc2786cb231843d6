"""The daily system report, built before the pipeline's seal -> spool -> deliver (tkalert.sender.pipeline.send_report).

    scope.py     which files: the [report] section's groups of globs (defaults for Icinga 2, Nagios 4, Zabbix 6,
                 snmpd), excludes and the size cap: the allow-list; nothing outside it is ever opened
    manifest.py  one allowed file read safely: size, mode, owner, mtime, SHA-256 and its redacted text
    redact.py    secrets out before anything is diffed, stored or sent: per-product rules, configured patterns,
                 tkalert's own secrets, detect-secrets as a second net where it is installed
    baseline.py  what the vendor last received: the redacted snapshot of each spooled report, promoted to the
                 baseline once the spool's archive says it was delivered
    collect.py   the report: every allowed file compared with the baseline (new, changed as a diff or whole,
                 unchanged, removed), system facts, the monitoring software and its version

The document itself is written by tkalert.document.report. Nothing here is imported by the notification hook.
"""
