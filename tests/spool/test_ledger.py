"""tkalert log / show / flush through the click commands, and the archive's retention and category switch."""

from __future__ import annotations

import json

from click.testing import CliRunner
from .spoolkit import sealed

from tkalert.cli.spoolcmds import flush as flush_command, log as log_command, show as show_command
from tkalert.sender.spool import flush, open_site, read_log, submit


def run(command, *args):
    result = CliRunner().invoke(command, list(args), catch_exceptions=False)
    return result


def test_log_lists_every_state_with_its_last_error(site_config, smtp_sink, clock):
    config, settings = site_config({"storm": {"enabled": "off"}})
    sent = sealed(host="web1", service="disk")
    submit(sent, settings, clock=clock, make_digest=None)
    smtp_sink.mode = "permfail"
    refused = sealed(host="db1", service="load")
    submit(refused, settings, clock=clock, make_digest=None)
    smtp_sink.stop()
    waiting = sealed("heartbeat")
    submit(waiting, settings, clock=clock, make_digest=None)

    table = run(log_command, "--config", str(config)).output.splitlines()
    assert table[0].split()[:4] == ["TIME", "TYPE", "HOST/SERVICE", "STATE"]
    rows = {line.split()[5]: line for line in table[1:]}
    assert "web1/disk" in rows[sent.message_id] and " sent " in rows[sent.message_id]
    assert " vendor " in rows[sent.message_id]
    assert " failed " in rows[refused.message_id] and "554 5.7.1" in rows[refused.message_id]
    assert " queued " in rows[waiting.message_id] and "attempt 1, next 2023-11-14T22:15:00Z" in rows[waiting.message_id]

    lines = run(log_command, "--config", str(config), "--json", "--state", "failed").output.splitlines()
    assert [json.loads(line)["message_id"] for line in lines] == [refused.message_id]


def test_show_prints_the_exact_plaintext_by_id_prefix(site_config, smtp_sink, clock):
    config, settings = site_config()
    message = sealed()
    submit(message, settings, clock=clock, make_digest=None)
    result = CliRunner().invoke(show_command, ["--config", str(config), message.message_id[:8]])
    assert result.stdout_bytes == message.plaintext


def test_show_refuses_unknown_and_short_ids(site_config, smtp_sink):
    from tkalert.errors import UsageError

    config, _ = site_config()
    for prefix, words in (("0000000", "no message"), ("ab", "too short")):
        result = CliRunner().invoke(show_command, ["--config", str(config), prefix])
        assert isinstance(result.exception, UsageError) and words in str(result.exception)


def test_with_the_archive_switched_off_the_log_keeps_metadata_only(site_config, smtp_sink, clock):
    config, settings = site_config({"categories": {"archive": "off"}})
    message = sealed()
    submit(message, settings, clock=clock, make_digest=None)
    (record,) = read_log(open_site(settings))
    assert record.state == "sent"
    result = CliRunner().invoke(show_command, ["--config", str(config), message.message_id])
    assert "was not archived" in str(result.exception)


def test_archive_records_are_pruned_after_keep_but_failed_ones_stay(site_config, smtp_sink, clock):
    _, settings = site_config({"archive": {"keep": "30d"}, "storm": {"enabled": "off"}})
    submit(sealed(), settings, clock=clock, make_digest=None)
    smtp_sink.mode = "permfail"
    submit(sealed(), settings, clock=clock, make_digest=None)
    clock.advance(30 * 86400 + 1)
    flush(settings, clock=clock, make_digest=None)
    assert [r.state for r in read_log(open_site(settings))] == ["failed"]


def test_flush_command_reports_and_retries_failed(site_config, smtp_sink, clock):
    config, settings = site_config()
    smtp_sink.mode = "permfail"
    message = sealed()
    submit(message, settings, clock=clock, make_digest=None)
    smtp_sink.mode = "accept"
    assert run(flush_command, "--config", str(config)).output.startswith("sent 0")
    output = run(flush_command, "--config", str(config), "--retry-failed").output
    assert "requeued 1" in output and "sent 1" in output
    assert smtp_sink.accepted == [message.message_id]
