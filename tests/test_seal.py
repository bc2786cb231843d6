"""Sealing with the real gpg: encrypted to the vendor by fingerprint, signed by the system key, clear failures."""

from __future__ import annotations

import pytest

from cast.config import write_config
from cast.keys import gpg
from cast.plugins import run_tkalert
from tkalert.errors import SealError
from tkalert.openpgp.seal import seal_document, sealed

DOC = b"<heartbeat/>"


def test_sealed_message_decrypts_for_vendor_and_verifies_system_signature(keys):
    payload = seal_document(DOC, keys.sender_home, (keys.vendor,), keys.system)
    assert payload.startswith(b"-----BEGIN PGP MESSAGE-----")
    plaintext, signer = keys.decrypt(payload)
    assert plaintext == DOC
    assert signer == keys.system


def test_decoy_with_the_vendor_user_id_is_never_used(keys):
    payload = seal_document(DOC, keys.sender_home, (keys.vendor,), keys.system)
    listing = gpg(keys.vendor_home, "--list-packets", input=payload)
    recipients = listing.stdout.decode() + listing.stderr.decode()
    decoy_keyids = gpg(keys.sender_home, "--with-colons", "--list-keys", keys.decoy).stdout.decode()
    decoy_ids = {line.split(":")[4] for line in decoy_keyids.splitlines() if line.startswith(("pub:", "sub:"))}
    assert decoy_ids and not any(keyid in recipients for keyid in decoy_ids)
    assert keys.decrypt(payload)[0] == DOC


def test_expired_vendor_key_fails_with_the_fix(keys):
    expected = f"vendor key {keys.expired} expired on 2020-01-02: import the vendor's renewed"
    with pytest.raises(SealError, match=expected):
        seal_document(DOC, keys.sender_home, (keys.expired,), keys.system)


def test_missing_vendor_key_names_the_import_command(keys):
    missing = "0" * 40
    with pytest.raises(SealError, match=f"vendor key {missing} is not in the keyring .*gpg --homedir .* --import"):
        seal_document(DOC, keys.sender_home, (missing,), keys.system)


def test_missing_system_secret_key(keys):
    with pytest.raises(SealError, match=f"no secret key for system key {keys.vendor}"):
        seal_document(DOC, keys.sender_home, (keys.vendor,), keys.vendor)


def test_unsafe_home_permissions_refused(keys, tmp_path):
    home = keys.sender_copy(tmp_path / "home")
    home.chmod(0o777)
    with pytest.raises(SealError, match=rf"unsafe permissions on GnuPG home {home} .*chmod 700 {home}"):
        seal_document(DOC, home, (keys.vendor,), keys.system)


def test_missing_home(keys, tmp_path):
    with pytest.raises(SealError, match="does not exist: create it with 'install -d -m 700"):
        seal_document(DOC, tmp_path / "nowhere", (keys.vendor,), keys.system)


def test_gpg_warnings_on_stderr_are_not_failures(keys, tmp_path):
    home = keys.sender_copy(tmp_path / "home")
    # An obsolete option makes GnuPG 2.2 print a warning on every run, as TKalert 1.5 choked on.
    (home / "gpg.conf").write_text("no-use-agent\n")
    payload = seal_document(DOC, home, (keys.vendor,), keys.system)
    assert keys.decrypt(payload)[0] == DOC


def test_cli_reports_seal_failure_in_one_line(keys, tmp_path, smtp_sink, monkeypatch):
    home = keys.sender_copy(tmp_path / "home")
    home.chmod(0o757)
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state", home=home)
    monkeypatch.setenv("TKALERT_CONFIG", str(cfg))
    done = run_tkalert("--type=heartbeat")
    assert done.returncode == 1
    assert done.stderr.decode().count("\n") == 1 and "unsafe permissions" in done.stderr.decode()
    assert smtp_sink.mails == []
    check = run_tkalert("--type=heartbeat", "--check")
    assert check.returncode == 2
    assert check.stdout.decode().startswith("tkalert/") and "- CRITICAL|runtime=" in check.stdout.decode()


def test_success_needs_the_status_lines_not_only_exit_0():
    signed = "[GNUPG:] KEY_CONSIDERED X 0\n[GNUPG:] BEGIN_ENCRYPTION 2 9\n[GNUPG:] SIG_CREATED S 22 8 00 1 X\n" \
             "[GNUPG:] END_ENCRYPTION\n"
    assert sealed(0, "gpg: WARNING: unsafe permissions\n" + signed, signed=True)
    assert not sealed(2, signed, signed=True)
    assert not sealed(0, signed.replace("SIG_CREATED", "SIG_SKIPPED"), signed=True)
    assert not sealed(0, signed.replace("[GNUPG:] END_ENCRYPTION\n", ""), signed=True)
    assert sealed(0, signed.replace("SIG_CREATED", "NOTHING"), signed=False)
    assert not sealed(0, "gpg: SIG_CREATED END_ENCRYPTION\n", signed=False)  # only status lines count


def test_one_gpg_process_and_no_python_gnupg_on_success(keys, tmp_path):
    """The hook's success path starts gpg once and imports neither python-gnupg (its import and version probe cost
    every event a second gpg process) nor subprocess."""
    import subprocess
    import sys

    probe = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from tkalert.openpgp.seal import seal_document\n"
        "runs = []\n"
        "real = os.posix_spawnp\n"
        "def counting(path, argv, *a, **k):\n"
        "    runs.append(argv[0])\n"
        "    return real(path, argv, *a, **k)\n"
        "os.posix_spawnp = counting\n"
        f"out = seal_document(b'<x/>', Path({str(keys.sender_home)!r}), ({keys.vendor!r},), {keys.system!r})\n"
        "assert out.startswith(b'-----BEGIN PGP MESSAGE-----'), out\n"
        "print(runs, 'gnupg' in sys.modules, 'subprocess' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['gpg'] False False", done.stdout + done.stderr


def test_a_document_larger_than_a_pipe_goes_through_whole(keys):
    """gpg's stdin, stdout and stderr are pipes of 64 KiB: a report of megabytes must neither block nor be cut."""
    document = b"<report>" + b"x" * 3_000_000 + b"</report>"
    plaintext, signer = keys.decrypt(seal_document(document, keys.sender_home, (keys.vendor,), keys.system))
    assert plaintext == document and signer == keys.system


def test_gpg_refusing_before_reading_all_input_is_a_seal_error_not_a_hang(keys):
    with pytest.raises(SealError, match="is not in the keyring"):
        seal_document(b"<report>" + b"x" * 3_000_000 + b"</report>", keys.sender_home, ("0" * 40,), keys.system)
