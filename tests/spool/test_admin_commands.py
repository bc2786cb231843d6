"""tkalert resend ID, tkalert log --since/--limit, tkalert status (text and --json)."""

from __future__ import annotations

import json
import time

from cast.config import write_config
from click.testing import CliRunner

from tkalert.cli.spoolcmds import log as log_command, parse_since, resend as resend_command, status as status_command
from tkalert.config.settings import load_settings
from tkalert.errors import UsageError
from tkalert.sender.spool import flush, open_site, read_log, submit

from .spoolkit import Clock, sealed


def run(command, *args):
    return CliRunner().invoke(command, list(args))


def test_resend_puts_one_failed_message_back_by_prefix(site_config, smtp_sink, clock):
    config, settings = site_config({"storm": {"enabled": "off"}})
    smtp_sink.mode = "permfail"
    first, second = sealed(host="db1"), sealed(host="db2")
    for message in (first, second):
        submit(message, settings, clock=clock, make_digest=None)
    assert {r.state for r in read_log(open_site(settings))} == {"failed"}

    result = run(resend_command, "--config", str(config), first.message_id[:6])
    assert result.exit_code == 0, result.output
    assert f"requeued {first.message_id}" in result.output
    states = {r.message_id: r.state for r in read_log(open_site(settings))}
    assert states == {first.message_id: "queued", second.message_id: "failed"}

    smtp_sink.mode = "accept"
    flush(settings, make_digest=None)  # resend made it due now, by the real clock
    assert smtp_sink.accepted == [first.message_id]


def test_resend_refuses_short_unknown_and_not_failed_ids(site_config, smtp_sink, clock):
    config, settings = site_config({"storm": {"enabled": "off"}})
    sent = sealed()
    submit(sent, settings, clock=clock, make_digest=None)
    for prefix, words in (("ab", "too short"), ("00000000", "no message"), (sent.message_id[:8], "is sent")):
        result = run(resend_command, "--config", str(config), prefix)
        assert isinstance(result.exception, UsageError) and words in str(result.exception), prefix


def test_log_since_and_limit(site_config, smtp_sink):
    config, settings = site_config({"storm": {"enabled": "off"}})
    now = time.time()
    ids = []
    for hours_ago in (30, 5, 1):
        message = sealed()
        submit(message, settings, clock=Clock(now - hours_ago * 3600), make_digest=None)
        ids.append(message.message_id)

    def listed(*args):
        result = run(log_command, "--config", str(config), "--json", *args)
        assert result.exit_code == 0, result.output
        return [json.loads(line)["message_id"] for line in result.output.splitlines()]

    assert listed() == ids
    assert listed("--since", "6h") == ids[1:]
    assert listed("--since", "1d") == ids[1:]
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 2 * 3600))
    assert listed("--since", iso) == ids[2:]
    assert listed("-n", "2") == ids[1:]
    assert listed("--limit", "1", "--since", "2d") == ids[2:]
    bad = run(log_command, "--config", str(config), "--since", "yesterday")
    assert bad.exit_code == 2 and "neither a duration" in bad.output


def test_parse_since_reads_offsets_and_naive_times_as_utc():
    assert parse_since("2026-11-24T08:00:00+01:00", 0) == parse_since("2026-11-24T07:00", 0)
    assert parse_since("90m", 10_000) == 10_000 - 5400


def test_status_text_and_json(tmp_path, keys, smtp_sink):
    config = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state",
                          sections={"storm": {"enabled": "off"}})
    settings = load_settings(config)
    now = time.time()
    submit(sealed("heartbeat"), settings, clock=Clock(now - 600), make_digest=None)
    smtp_sink.stop()
    submit(sealed(), settings, clock=Clock(now - 7200), make_digest=None)

    result = run(status_command, "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert 590 <= data["last_heartbeat_age"] <= 700 and data["last_heartbeat"].endswith("Z")
    assert data["queue_depth"] == 1 and 7190 <= data["oldest_age"] <= 7300 and data["failed"] == 0
    roles = {(k["role"], k["fingerprint"]): k for k in data["keys"]}
    assert set(roles) == {("vendor", keys.vendor), ("system", keys.system)}
    assert all(k["problem"] is None and k["expires"] for k in data["keys"])  # the cast's keys expire in a year

    text = run(status_command, "--config", str(config)).output
    assert "last heartbeat" in text and "(10m ago)" in text
    assert "1 waiting, oldest 2h" in text
    assert f"vendor key {keys.vendor}" in text and f"system key {keys.system}" in text and "expires 20" in text


def test_status_of_an_empty_spool(site_config, smtp_sink):
    config, _ = site_config()
    text = run(status_command, "--config", str(config)).output
    assert "never" in text and "0 waiting" in text
