"""Nothing lost in a real install: keys that cannot seal, a flush that breaks after the entry is safe, a poison
entry, trial sends, a busy flush lock, a server that never answers, directory modes.

Each test runs the real command (`python -m tkalert`, the spool check) against a real SMTP server and real gpg.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from pathlib import Path

from cast.config import write_config
from cast.plugins import run_plugin, run_tkalert
from tkalert.config.settings import load_settings
from tkalert.sender.deliver.mail import payload_of
from tkalert.sender.spool import open_site, read_log
from tkalert.sender.spool.entry import new_entry
from tkalert.sender.spool.lock import FileLock

ALERT = ("--type=service", "--host=db01", "--service=RAID", "--service-status=CRITICAL")


def entries(spool: Path, area: str) -> list[Path]:
    return sorted((spool / area).glob("*.json")) if (spool / area).exists() else []


def test_an_alert_that_cannot_be_sealed_is_kept_and_sent_once_the_key_is_fixed(tmp_path, keys, smtp_sink):
    state = tmp_path / "state"
    config = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, state)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(f"vendor_keys = {keys.vendor}", f"vendor_keys = {keys.expired}"), "utf-8")
    done = run_tkalert(f"--config={config}", *ALERT)
    assert done.returncode == 1
    assert b"kept in the spool" in done.stderr and b"expired" in done.stderr
    assert smtp_sink.mails == []
    [kept] = entries(state / "spool", "unsealed")
    message_id = kept.stem
    code, line = run_plugin("check_tkalert_spool", config)
    assert code == 2 and "not sealed" in line and "expired" in line, line

    config.write_text(text, "utf-8")  # the admin imports the renewed key and fixes the config
    flushed = run_tkalert("flush", f"--config={config}")
    assert flushed.returncode == 0, flushed.stderr
    assert b"sealed 1 kept message" in flushed.stdout
    [mail] = smtp_sink.emails()
    plaintext, signer = keys.decrypt(payload_of(mail))
    assert signer == keys.system and message_id.encode() in plaintext
    assert entries(state / "spool", "unsealed") == []
    assert run_plugin("check_tkalert_spool", config)[0] == 0


def test_a_run_that_fails_on_config_queues_nothing(tmp_path, keys, smtp_sink):
    state = tmp_path / "state"
    config = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, state)
    config.write_text(config.read_text("utf-8").replace(f"vendor_keys = {keys.vendor}\n", ""), "utf-8")
    done = run_tkalert(f"--config={config}", *ALERT)
    assert done.returncode == 78 and b"no vendor key configured" in done.stderr
    assert not (state / "spool").exists() or not any((state / "spool").rglob("*.json"))


def test_once_the_entry_is_safe_the_answer_is_0_whatever_breaks_later(config, smtp_sink, monkeypatch, capsys):
    """A full disk after the entry is written (here: when the archive record of the delivery is written) must not
    answer 75: Nagios and Zabbix would run the hook again and send a duplicate under a new message id."""
    import errno

    from tkalert.cli import main
    from tkalert.sender.spool.archive import Archive

    def disk_full(self, entry):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.directory))

    record = Archive.record
    monkeypatch.setattr(Archive, "record", disk_full)
    assert main([*ALERT]) == 0
    assert "kept in the spool" in capsys.readouterr().err
    assert len(smtp_sink.mails) == 1
    monkeypatch.setattr(Archive, "record", record)  # the disk has room again
    assert run_tkalert("flush", "--now").returncode == 0  # the copy left behind goes again, under the same id
    assert len(set(smtp_sink.accepted)) == 1


def test_an_override_address_that_would_break_the_mail_is_a_usage_error(tmp_path, config, smtp_sink):
    for bad in ("a@b.test\r\nRCPT TO:<x@evil.test>", "not an address", "caf\udce9@b.test"):
        done = run_tkalert(*ALERT, f"--override-target-mail={bad}")
        assert done.returncode == 2, (bad, done.stderr)
        assert b"--override-target-mail" in done.stderr
    assert not any((tmp_path / "state" / "spool").rglob("*.json"))


def test_a_poison_entry_goes_to_failed_and_the_queue_behind_it_moves(tmp_path, keys, config, smtp_sink):
    settings = load_settings(config)
    assert run_tkalert(*ALERT).returncode == 0  # spools the area layout and sends one
    smtp_sink.stop()
    for host in ("web01", "web02"):
        assert run_tkalert("--type=service", f"--host={host}", "--service=HTTP", "--service-status=2").returncode == 0
    site = open_site(settings)
    [good, other] = list(site.outbox.entries("outbox"))
    # an entry as an older version could leave it: a recipient that no mail can carry
    poison = new_entry(good.message.replace(message_id="poison-0001"), time.time(), "queued",
                       override_to="x@y.test\r\nBcc: z@evil.test")
    site.outbox.add(poison)
    smtp_sink.start()
    done = run_tkalert("flush", "--now")
    assert b"internal error" not in done.stderr
    failed = {e.message_id: e.last_error for e in site.outbox.entries("failed")}
    assert list(failed) == ["poison-0001"] and "cannot be delivered" in failed["poison-0001"]
    assert {good.message_id, other.message_id} <= set(smtp_sink.accepted)


def test_a_trial_send_never_enters_the_configured_spool(tmp_path, config, smtp_sink):
    spool = tmp_path / "state" / "spool"
    assert run_tkalert(*ALERT, "--disable-gpg-encryption").returncode == 0
    assert len(smtp_sink.mails) == 1
    smtp_sink.stop()
    done = run_tkalert(*ALERT, "--disable-gpg-encryption")
    assert done.returncode == 1 and b"not kept" in done.stderr
    assert not spool.exists() or not any(spool.rglob("*.json"))


def test_a_check_waits_for_the_flush_lock_holder_and_reports_what_became_of_its_heartbeat(tmp_path, config,
                                                                                      smtp_sink):
    site = open_site(load_settings(config))
    lock = FileLock(site.outbox.lock_path("flush"))
    assert lock.try_acquire()
    threading.Timer(1.0, lock.release).start()  # another tkalert finishes its flush a second later
    done = run_tkalert("--type=heartbeat", "--check")
    assert done.returncode == 0, done.stdout
    assert b"sent heartbeat - OK" in done.stdout


def test_a_server_that_never_answers_costs_the_budget_and_leaves_a_recorded_attempt(tmp_path, keys):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel does) and never says a word
    try:
        state = tmp_path / "state"
        config = write_config(tmp_path / "tkalert.conf", keys, silent.getsockname()[1], state, timeout=30,
                              sections={"spool": {"hook_budget": "6s"}})
        started = time.monotonic()
        done = run_tkalert(f"--config={config}", *ALERT)
        took = time.monotonic() - started
    finally:
        silent.close()
    assert done.returncode == 0, done.stderr
    assert took < 15, took
    [record] = [r for r in read_log(open_site(load_settings(config))) if r.state == "queued"]
    assert record.attempts == 1 and "timed out" in (record.last_error or ""), record


def test_every_directory_tkalert_makes_is_0700_whatever_the_umask(tmp_path, keys, smtp_sink):
    base = tmp_path / "a" / "b"
    config = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, base / "state",
                          spool_dir=tmp_path / "c" / "d" / "spool", sections={"storm": {"rate": "5"}})
    old = os.umask(0)
    try:
        assert run_tkalert(f"--config={config}", *ALERT).returncode == 0
    finally:
        os.umask(old)
    made = [tmp_path / "a", base, base / "state", tmp_path / "c", tmp_path / "c" / "d"]
    made += [p for root in (base / "state", tmp_path / "c" / "d") for p in root.rglob("*") if p.is_dir()]
    assert any(p.name == "storm" for p in made)
    modes = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in made}
    assert set(modes.values()) == {"0o700"}, modes


def test_an_entry_file_of_an_unsealed_message_holds_no_payload(tmp_path, keys, smtp_sink):
    state = tmp_path / "state"
    config = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, state)
    config.write_text(config.read_text("utf-8").replace(keys.vendor, keys.expired), "utf-8")
    run_tkalert(f"--config={config}", *ALERT)
    [kept] = entries(state / "spool", "unsealed")
    record = json.loads(kept.read_bytes())
    assert record["status"] == "unsealed" and record["message"]["payload"] == {"text": ""}
    assert "expired" in record["last_error"]
