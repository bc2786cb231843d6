"""Admin commands: keygen makes a usable signing key; demo runs the whole pipeline on its embedded default."""

from __future__ import annotations

from cast.plugins import run_tkalert
from tkalert.openpgp.keys import export_public, import_keys, kill_agent
from tkalert.openpgp.seal import seal_document


def test_keygen_creates_a_key_that_signs(tmp_path, keys, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("TKALERT_CONFIG", str(tmp_path / "none.conf"))
    done = run_tkalert("keygen", "--home", str(home))
    assert done.returncode == 78  # an explicitly named config that does not exist is an error
    monkeypatch.delenv("TKALERT_CONFIG")
    try:
        done = run_tkalert("keygen", "--home", str(home), "--name", "db01.acme-gmbh.de")
        assert done.returncode == 0, done.stderr
        fingerprint = done.stdout.decode().split()[3]
        assert f"system_key = {fingerprint}" in done.stdout.decode()
        assert (home / "system-key.asc").read_bytes().startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
        assert oct(home.stat().st_mode & 0o777) == "0o700"
        import_keys(home, export_public(keys.vendor_home, keys.vendor))
        payload = seal_document(b"<test/>", home, (keys.vendor,), fingerprint)
        import_keys(keys.vendor_home, (home / "system-key.asc").read_bytes())
        assert keys.decrypt(payload) == (b"<test/>", fingerprint)
    finally:
        kill_agent(home)


def test_demo_runs_the_whole_loop_into_the_receiver():
    """Heartbeat, alert and a storm digest through the real sender and SMTP into a real receiver on SQLite."""
    done = run_tkalert("demo", timeout=300)
    out = done.stdout.decode()
    assert done.returncode == 0, (out, done.stderr)
    listing = out.split("tkalert-receiver messages list):", 1)[1].split("\n\n", 1)[0]
    rows = [line.split() for line in listing.strip().splitlines()[1:]]
    assert [(row[4], row[5], row[6]) for row in rows] == [  # TYPE, STATE, VERDICT
        ("heartbeat", "done", "accepted"), ("alert", "done", "accepted"), ("digest", "done", "accepted"),
        *[("alert", "done", "accepted")] * 4]
    assert [row[3] for row in rows[3:]] == ["digest"] * 4  # the digest's events, each a message of its own
    assert "pinned key: " in out and "held back by storm control" in out
    assert out.rstrip().endswith("demo: all steps passed")


def test_demo_sender_only_plays_the_vendor_itself():
    done = run_tkalert("demo", "--sender-only")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert out.count("signature by system key valid, document valid against tkalert.xsd") == 2
    assert "<name>IPMI Sensors</name>" in out
    assert out.rstrip().endswith("demo: all steps passed")


def test_unknown_admin_option_is_one_usage_line():
    done = run_tkalert("keygen", "--bogus")
    assert done.returncode == 2
    assert done.stderr.decode().count("\n") == 1



def test_config_before_the_command_word_runs_the_command(config):
    """`tkalert --config FILE status` is the admin command with that config, as `tkalert status --config FILE`."""
    for argv in (["--config", str(config), "status"], [f"--config={config}", "status"],
                 ["status", "--config", str(config)]):
        done = run_tkalert(*argv)
        assert done.returncode == 0, (argv, done.stderr)
        assert b"queue" in done.stdout.lower(), (argv, done.stdout)
