"""`tkalert init` and the system id: made once, never the raw machine id, kept across re-init, settable."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cast.plugins import run_tkalert
from tkalert.config.settings import load_settings
from tkalert.config.template import render_template, set_value
from tkalert.document.identity import derived_id
from tkalert.document.reader import parse_valid
from tkalert.document.stamp import system_id
from tkalert.openpgp.keys import export_public, kill_agent

MACHINE = "3d1219c7c4c5404aaa1f6d2a48adfda4"


@pytest.fixture
def site(tmp_path, keys):
    """A machine before set-up: the vendor's public key file, and where init puts config, keys and state."""
    vendor_file = tmp_path / "vendor.asc"
    vendor_file.write_bytes(export_public(keys.vendor_home, keys.vendor))
    base = tmp_path / "machine"
    paths = {"config": base / "etc" / "tkalert.conf", "home": base / "gnupg", "state": base / "state",
             "spool": base / "spool", "vendor": vendor_file}
    yield paths
    kill_agent(paths["home"])


def init(site, *extra: str):
    return run_tkalert("init", "--config", str(site["config"]), "--home", str(site["home"]), "--state-dir",
                       str(site["state"]), "--spool-dir", str(site["spool"]), "--name", "db01.acme-gmbh.de", *extra)


def snapshot(site) -> dict[str, str]:
    """Every file init writes, by content (the keyring's agent sockets and gpg's backups aside)."""
    found = {}
    for root in (site["config"].parent, site["state"], site["home"]):
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith("S.") and not path.name.endswith("~"):
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def dumped_system_id(config: Path) -> str:
    done = run_tkalert("--config", str(config), "--auth-key", "0123456789a", "--dump-xml=-")
    assert done.returncode == 0, done.stderr
    return parse_valid(done.stdout).findtext("system-id")


def test_init_sets_up_a_machine_and_a_second_run_changes_nothing(site, keys):
    first = init(site, "--vendor-key", str(site["vendor"]))
    assert first.returncode == 0, first.stderr
    out = first.stdout.decode()
    assert f"vendor key: {keys.vendor} (Vendor Support <callhome@vendor.test>) imported" in out
    assert oct(site["config"].parent.stat().st_mode & 0o777) == "0o700"
    settings = load_settings(site["config"])
    assert settings.vendor_keys == (keys.vendor,)
    assert settings.system_key and settings.system_key in out
    assert (site["home"] / "system-key.asc").read_bytes().startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    stored = (site["state"] / "system-id").read_text().strip()
    assert dumped_system_id(site["config"]) == stored
    before = snapshot(site)

    second = init(site, "--vendor-key", str(site["vendor"]))
    assert second.returncode == 0, second.stderr
    assert second.stdout.decode().rstrip().endswith("tkalert init: nothing changed (already set up)")
    assert snapshot(site) == before
    assert "already pinned" in second.stdout.decode()


def test_the_system_id_survives_re_init_and_a_move_to_new_hardware(site, tmp_path):
    assert init(site).returncode == 0
    old = (site["state"] / "system-id").read_text().strip()
    assert init(site).returncode == 0
    assert (site["state"] / "system-id").read_text().strip() == old
    new_machine = {k: (tmp_path / "new" / v.relative_to(tmp_path / "machine") if k != "vendor" else v)
                   for k, v in site.items()}
    try:
        done = init(new_machine, "--system-id", old)
        assert done.returncode == 0, done.stderr
        assert f"system id: {old} (set by --system-id" in done.stdout.decode()
        assert dumped_system_id(new_machine["config"]) == old
        again = init(new_machine, "--system-id", old)
        assert "nothing changed" in again.stdout.decode()
    finally:
        kill_agent(new_machine["home"])


def test_a_configured_system_id_wins_and_a_bad_one_is_a_usage_error(site):
    assert init(site, "--system-id", "bad id/../x").returncode == 2
    assert not site["config"].exists()  # refused before anything was written
    assert init(site).returncode == 0
    site["config"].write_text(set_value(site["config"].read_text(), "tkalert", "system_id", "contract-4711"))
    assert dumped_system_id(site["config"]) == "contract-4711"
    clash = init(site, "--system-id", "other-id")
    assert clash.returncode == 78
    assert "system_id = contract-4711" in clash.stderr.decode()


def test_a_vendor_key_file_without_a_key_is_refused(site, tmp_path):
    empty = tmp_path / "empty.asc"
    empty.write_text("not a key\n")
    done = init(site, "--vendor-key", str(empty))
    assert done.returncode in (1, 2)
    assert done.stderr.decode().count("\n") == 1


def test_the_id_from_the_machine_id_is_a_keyed_hash_never_the_machine_id(tmp_path):
    machine_id = tmp_path / "machine-id"
    machine_id.write_text(MACHINE + "\n")
    value, source = derived_id(machine_id)
    assert source.startswith("keyed hash")
    assert MACHINE not in value.replace("-", "") and MACHINE[:12] not in value.replace("-", "")
    assert derived_id(machine_id)[0] == value  # stable: the same machine derives the same id
    state = tmp_path / "state"
    state.mkdir()
    assert system_id(None, state, machine_id) == value
    machine_id.write_text("0" * 32 + "\n")  # new hardware, or a re-generated machine id
    assert system_id(None, state, machine_id) == value  # kept, never made again
    assert system_id("configured", state, machine_id) == "configured"


def test_without_a_machine_id_the_id_is_random_and_kept(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    first = system_id(None, state, tmp_path / "absent")
    assert first == system_id(None, state, tmp_path / "absent")


def test_the_template_parses_and_edits_keep_every_other_line(tmp_path):
    text = render_template(tmp_path / "state", tmp_path / "spool", tmp_path / "gnupg")
    config = tmp_path / "tkalert.conf"
    config.write_text(text)
    assert load_settings(config).state_dir == str(tmp_path / "state")
    edited = set_value(text, "gnupg", "system_key", "A" * 40)
    assert [line for line in edited.splitlines() if "system_key" in line] == ["system_key = " + "A" * 40]
    assert len(edited.splitlines()) == len(text.splitlines())
    added = set_value("[tkalert]\n# mine\n", "gnupg", "home", "/x")
    assert added == "[tkalert]\n# mine\n\n[gnupg]\nhome = /x\n"
