"""Edges of the sender's command line: odd bytes and characters, --check always a plugin, gpg's noise, the dump file.

Items of "Sender: never lose or duplicate an alert": each test here failed before its fix.
"""

from __future__ import annotations

import email
import os
import stat
import time
from email import policy

from cast.config import write_config
from cast.plugins import run_tkalert
from tkalert.document.reader import parse_valid

BASE = ["--type=service", "--auth-key=k", "--host=h", "--service=s", "--service-status=CRITICAL"]


def plugin_line(done, state: str) -> str:
    """The one plugin line of a --check run in TKalert 1.5's format, with `state`."""
    out = done.stdout.decode()
    assert done.returncode == {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}[state], (out, done.stderr)
    assert out.count("\n") == 1 and out.startswith("tkalert/"), out
    assert f" - {state}|runtime=" in out, out
    assert b"Traceback" not in done.stderr
    return out


# --- 6: non-UTF-8 bytes, Unicode digits, --date=0 -------------------------------------------------------------

def test_undecodable_host_and_service_are_sent_with_replacement_characters(config, smtp_sink):
    """Bytes that are not UTF-8 reach the storm memory and the spool as U+FFFD, not as an internal error."""
    done = run_tkalert("--type=service", b"--host=web\xff01", b"--service=RA\xe9ID", "--service-status=CRITICAL",
                       "--disable-gpg-encryption")
    assert done.returncode == 0, done.stderr
    assert b"internal error" not in done.stderr
    assert len(smtp_sink.mails) == 1
    mail = email.message_from_bytes(smtp_sink.mails[0].content, policy=policy.default)
    root = parse_valid(mail.get_payload(decode=True))
    assert root.findtext("host/name") == "web\ufffd01"
    assert root.findtext("service/name") == "RA\ufffdID"


def test_undecodable_host_in_check_mode_is_a_plugin_line(config, smtp_sink):
    done = run_tkalert("--type=service", b"--host=web\xff01", "--service=RAID", "--service-status=CRITICAL",
                       "--disable-gpg-encryption", "--check")
    plugin_line(done, "OK")
    assert len(smtp_sink.mails) == 1


def test_unicode_digit_as_state_is_a_usage_error(config):
    for value in ("\u00b2", "\u0663", "\U0001d7d0"):  # superscript two, Arabic-Indic three, bold digit two
        done = run_tkalert(*BASE, f"--service-status={value}", "--dump-xml=-")
        assert done.returncode == 2, done.stderr
        assert done.stderr.decode().startswith("tkalert: --service-status must be one of"), done.stderr
        check = run_tkalert(*BASE, f"--host-status={value}", "--dump-xml=-", "--check")
        assert "--host-status must be one of" in plugin_line(check, "UNKNOWN")


def test_date_zero_means_now(config):
    before = int(time.time())
    done = run_tkalert(*BASE, "--date=0", "--dump-xml=-")
    assert done.returncode == 0, done.stderr
    assert before <= int(parse_valid(done.stdout).findtext("date")) <= time.time() + 1


# --- 7: --check always answers as a plugin ---------------------------------------------------------------------

def test_check_with_unwritable_dump_file_is_unknown(config, tmp_path):
    done = run_tkalert(*BASE, f"--dump-xml={tmp_path / 'missing' / 'dump.xml'}", "--check")
    assert "cannot write --dump-xml file" in plugin_line(done, "UNKNOWN")
    plain = run_tkalert(*BASE, f"--dump-xml={tmp_path / 'missing' / 'dump.xml'}")
    assert plain.returncode == 73 and plain.stderr.decode().startswith("tkalert: cannot write --dump-xml file")


def test_check_with_dump_file_says_what_it_wrote(config, tmp_path):
    dump = tmp_path / "dump.xml"
    done = run_tkalert(*BASE, f"--dump-xml={dump}", "--check")
    assert f"wrote alert to {dump}" in plugin_line(done, "OK")
    parse_valid(dump.read_bytes())


def test_disabled_in_check_mode_is_an_ok_plugin_line(config, tmp_path):
    done = run_tkalert("--enabled=0", "--check")
    assert "disabled" in plugin_line(done, "OK")
    off = write_config(tmp_path / "off.conf", None, 1, tmp_path / "state", extra="")
    off.write_text(off.read_text().replace("[tkalert]\n", "[tkalert]\nenabled = 0\n"))
    done = run_tkalert("--config", str(off), "--check")
    assert "disabled" in plugin_line(done, "OK")
    assert run_tkalert("--enabled=0").stdout == b"tkalert not enabled, exit.\n"


def test_strict_ascii_stdout_never_tracebacks(config):
    env = {**os.environ, "PYTHONIOENCODING": "ascii:strict"}
    done = run_tkalert(*BASE, "--service-status=\u00e9t\u00e9", "--check", env=env)
    assert "--service-status must be one of" in plugin_line(done, "UNKNOWN")
    done = run_tkalert(*BASE, b"--host-status=\xff", "--check", env=env)
    assert "--host-status must be one of" in plugin_line(done, "UNKNOWN")
    done = run_tkalert(*BASE, "--notification-type=Flapping\u00e9", "--dump-xml=-", env=env)
    assert done.returncode == 2 and b"Traceback" not in done.stderr


def test_c_locale_with_a_raw_byte_never_tracebacks(config):
    env = {**os.environ, "LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    env.pop("PYTHONIOENCODING", None)
    done = run_tkalert(*BASE, b"--service-status=\xff\xc3\xa9", "--check", env=env)
    assert "--service-status must be one of" in plugin_line(done, "UNKNOWN")


# --- 10: gpg's noise and a missing gpg ---------------------------------------------------------------------------

def test_gpg_failure_is_one_line_without_python_gnupg_log(keys, tmp_path, smtp_sink, monkeypatch):
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    cfg.write_text(cfg.read_text().replace(f"vendor_keys = {keys.vendor}", f"vendor_keys = {'0' * 40}"))
    monkeypatch.setenv("TKALERT_CONFIG", str(cfg))
    done = run_tkalert("--type=heartbeat")
    err = done.stderr.decode()
    assert done.returncode == 1 and err.count("\n") == 1, err
    assert err.startswith("tkalert: could not send heartbeat: not sealed: vendor key ") and "kept in the spool" in err
    check = run_tkalert("--type=heartbeat", "--check")
    assert "vendor key" in plugin_line(check, "CRITICAL") and check.stderr == b""
    verbose = run_tkalert("--type=heartbeat", "--verbose")
    assert "gpg returned a non-zero error code" in verbose.stderr.decode()


def test_gpg_missing_from_path_is_one_seal_error_line(config, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    done = run_tkalert("--type=heartbeat", env=env)
    err = done.stderr.decode()
    assert done.returncode == 1 and err.count("\n") == 1, err
    assert err.startswith("tkalert: could not send heartbeat: not sealed: gpg not found") and "install gnupg" in err
    check = run_tkalert("--type=heartbeat", "--check", env=env)
    assert "gpg not found" in plugin_line(check, "CRITICAL")


# --- 11: the dump file -----------------------------------------------------------------------------------------

def test_dump_file_is_created_0600(config, tmp_path):
    dump = tmp_path / "dump.xml"
    old = os.umask(0)
    try:
        done = run_tkalert(*BASE, f"--dump-xml={dump}")
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    parse_valid(dump.read_bytes())


def test_dump_never_follows_a_planted_symlink(config, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    planted = tmp_path / "dump.xml"
    planted.symlink_to(victim)
    done = run_tkalert(*BASE, f"--dump-xml={planted}")
    assert done.returncode == 73
    err = done.stderr.decode()
    assert err.count("\n") == 1 and "symbolic link" in err, err
    assert victim.read_bytes() == b"precious\n"
    dangling = tmp_path / "dangling.xml"
    dangling.symlink_to(tmp_path / "nowhere")
    assert run_tkalert(*BASE, f"--dump-xml={dangling}").returncode == 73
    assert not (tmp_path / "nowhere").exists()


def test_dump_over_an_existing_file(config, tmp_path):
    mine = tmp_path / "mine.xml"
    mine.write_bytes(b"old " * 1000)
    mine.chmod(0o644)
    done = run_tkalert(*BASE, f"--dump-xml={mine}")
    assert done.returncode == 0, done.stderr
    parse_valid(mine.read_bytes())
    assert stat.S_IMODE(mine.stat().st_mode) == 0o600
    theirs = tmp_path / "theirs.xml"
    theirs.write_bytes(b"theirs\n")
    if os.geteuid() == 0:
        os.chown(theirs, 65534, 65534)
        done = run_tkalert(*BASE, f"--dump-xml={theirs}")
        assert done.returncode == 73 and "not owned by" in done.stderr.decode(), done.stderr
        assert theirs.read_bytes() == b"theirs\n"
    linked = tmp_path / "linked.xml"
    os.link(mine, linked)  # a hard link planted to one of the caller's files
    done = run_tkalert(*BASE, f"--dump-xml={linked}")
    assert done.returncode == 73 and "hard links" in done.stderr.decode(), done.stderr
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = run_tkalert(*BASE, f"--dump-xml={fifo}", timeout=20)
    assert done.returncode == 73 and "not a regular file" in done.stderr.decode(), done.stderr
    done = run_tkalert(*BASE, f"--dump-xml={tmp_path}")
    assert done.returncode == 73 and done.stderr.decode().count("\n") == 1

def test_config_edges_fixed_in_fields_stay_fixed(tmp_path, monkeypatch):
    """Regression (tkalert.config.fields): a port out of range and a secret file that is not UTF-8 are config
    errors (78, UNKNOWN with --check), never internal errors."""
    secret = tmp_path / "key"
    secret.write_bytes(b"\xff\xfe")
    for extra in ("port = 70000", f"auth_key_file = {secret}"):
        cfg = write_config(tmp_path / "c.conf", None, 2525, tmp_path / "state")
        text = cfg.read_text().replace("port = 2525\n", "")
        if extra.startswith("auth_key_file"):
            text = text.replace("auth_key = 0123456789a\n", extra + "\n") + "port = 2525\n"
        else:
            text += extra + "\n"
        cfg.write_text(text)
        monkeypatch.setenv("TKALERT_CONFIG", str(cfg))
        done = run_tkalert("--type=heartbeat", "--disable-gpg-encryption")
        assert done.returncode == 78, done.stderr
        assert done.stderr.decode().splitlines()[-1].startswith("tkalert: "), done.stderr
        assert b"internal error" not in done.stderr and b"Traceback" not in done.stderr
        plugin_line(run_tkalert("--type=heartbeat", "--disable-gpg-encryption", "--check"), "UNKNOWN")


def test_usage_error_in_check_mode_has_the_runtime_perfdata(config):
    """Found by the long property run: click's usage errors lacked 1.5's `|runtime=` in --check mode."""
    done = run_tkalert("--check", "--type", "", "--bogus")
    assert "usage error" in plugin_line(done, "UNKNOWN")


def test_nul_in_an_in_process_argv_is_a_usage_error(capsys, config):
    """Found by the long property run: a NUL (no real argv holds one) in --config was an internal error."""
    from tkalert.cli import main

    assert main(["--config", "a\0b", "--dump-xml=-"]) == 2
    assert capsys.readouterr().err == "tkalert: usage error: an argument holds a NUL character (see 'tkalert --help')\n"
    assert main(["--config=a\0b", "--dump-xml=-", "--check"]) == 3
