"""The man pages name every option of `tkalert init` and `tkalert report` and every key of [report] and
[redact]; the contrib timer and cron line run the report command that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tkalert.cli.init import init
from tkalert.cli.report import report
from tkalert.sender.report.scope import REPORT_KEYS

ROOT = Path(__file__).resolve().parents[2]


def man(name: str) -> str:
    return (ROOT / "man" / name).read_text(encoding="utf-8").replace("\\-", "-")


@pytest.mark.parametrize("command", [init, report])
def test_every_option_of_init_and_report_is_in_its_man_entry(command):
    entry = man("tkalert.1").split(f".B {command.name} ", 1)[1].split("\n.TP", 1)[0]
    options = {opt for param in command.params for opt in param.opts if opt.startswith("--")}
    assert options <= set(re.findall(r"--[a-z][a-z-]*", entry))


def test_every_report_and_redact_key_is_documented():
    section = man("tkalert.conf.5").split(".SH [report]", 1)[1].split(".SH [zabbix]", 1)[0]
    for key in (*REPORT_KEYS, r"files. NAME", r"pattern. NAME"):
        assert re.search(rf"^\.BI? {re.escape(key)}$", section, re.M), key


def test_the_timer_and_the_cron_line_run_tkalert_report():
    service = (ROOT / "contrib" / "systemd" / "tkalert-report.service").read_text()
    assert "ExecStart=/usr/bin/tkalert report\n" in service
    assert "Unit=" not in (ROOT / "contrib" / "systemd" / "tkalert-report.timer").read_text()
    cron = (ROOT / "contrib" / "systemd" / "tkalert-report.cron").read_text().splitlines()
    assert [line.split(None, 6)[5:] for line in cron if line[:1].isdigit()] == [["nagios", "tkalert report"]]


def test_every_health_key_and_category_is_documented():
    from tkalert.sender.health import HEALTH_KEYS
    from tkalert.sender.spool.policy import CATEGORY_KEYS

    conf = man("tkalert.conf.5")
    health = conf.split(".SH [health]", 1)[1].split(".SH ", 1)[0]
    assert {key for key in HEALTH_KEYS} <= set(re.findall(r"^\.B (\w+)$", health, re.M))
    categories = conf.split(".SH [categories]", 1)[1].split(".SH ", 1)[0]
    assert set(CATEGORY_KEYS) <= set(re.findall(r"\b(\w+)\b", " ".join(
        line for line in categories.splitlines() if line.startswith((".B", ".BR")))))
    assert ".BI report. NAME" in categories
