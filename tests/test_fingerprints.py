"""Key fingerprints in the config: gpg's grouped form is accepted; a near miss (a digit or two off, or a 16-digit
long key id) names the key of the keyring it probably meant, in `tkalert test` and in seal's diagnosis."""

from __future__ import annotations

from cast.config import write_config
from cast.plugins import run_tkalert
from tkalert.config.settings import load_settings, split_fingerprints
from tkalert.openpgp.keys import probable_key

FPR = "E4FEA96E0123456789ABCDEF0123456789ABCDEF"


def grouped(fpr: str) -> str:
    """As `gpg --fingerprint` prints it: ten groups of four, two spaces in the middle."""
    groups = [fpr[i:i + 4] for i in range(0, 40, 4)]
    return " ".join(groups[:5]) + "  " + " ".join(groups[5:])


def test_grouped_fingerprints_load(tmp_path):
    cfg = tmp_path / "c.conf"
    cfg.write_text(f"[gnupg]\nvendor_keys = {grouped(FPR)}, {grouped('A' * 40).lower()}\n"
                   f"system_key = {grouped('B' * 40)}\n")
    settings = load_settings(cfg, env={})
    assert settings.vendor_keys == (FPR, "A" * 40)
    assert settings.system_key == "B" * 40


def test_whole_fingerprints_apart_by_spaces_stay_apart():
    assert split_fingerprints(f"{FPR} {'A' * 40}") == [FPR, "A" * 40]
    assert split_fingerprints(f"{grouped(FPR)} {grouped('A' * 40)}") == [FPR, "A" * 40]


def off_by(fpr: str, digits: int) -> str:
    flip = {c: d for c, d in zip("0123456789ABCDEF", "123456789ABCDEF0", strict=True)}
    return "".join(flip[c] if i < digits else c for i, c in enumerate(fpr))


def test_probable_key_for_a_near_miss_and_a_long_key_id():
    keys = [{"fingerprint": FPR, "uids": ["Vendor <v@x>"], "subkeys": [["1111222233334444", "e", "F" * 40]]},
            {"fingerprint": "C" * 40, "uids": ["Other <o@x>"], "subkeys": []}]
    assert FPR in probable_key(keys, off_by(FPR, 1)) and "Vendor" in probable_key(keys, off_by(FPR, 2))
    assert probable_key(keys, off_by(FPR, 3)) is None
    assert FPR in probable_key(keys, FPR[-16:]) and "long key id" in probable_key(keys, FPR[-16:])
    assert FPR in probable_key(keys, "1111 2222 3333 4444")
    assert probable_key(keys, "0" * 16) is None


def protocol(cfg):
    done = run_tkalert("test", "--config", str(cfg))
    assert "Traceback" not in done.stderr.decode()
    return done.returncode, [line for line in done.stdout.decode().splitlines() if line.startswith("FAIL")]


def test_tkalert_test_accepts_the_grouped_form(tmp_path, keys, smtp_sink):
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    cfg.write_text(cfg.read_text().replace(keys.vendor, grouped(keys.vendor)).replace(keys.system,
                                                                                      grouped(keys.system)))
    code, failed = protocol(cfg)
    assert (code, failed) == (0, [])


def test_tkalert_test_names_the_key_a_typo_meant(tmp_path, keys, smtp_sink):
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    typo = off_by(keys.vendor, 1)
    cfg.write_text(cfg.read_text().replace(keys.vendor, typo))
    code, failed = protocol(cfg)
    assert code == 1
    assert any(f"vendor key {typo}" in line and f"probably means {keys.vendor}" in line for line in failed), failed


def test_tkalert_test_names_the_key_a_long_key_id_meant(tmp_path, keys, smtp_sink):
    cfg = write_config(tmp_path / "c.conf", keys, smtp_sink.port, tmp_path / "state")
    cfg.write_text(cfg.read_text().replace(keys.system, keys.system[-16:]))
    code, failed = protocol(cfg)
    assert code == 1
    assert failed[0].startswith("FAIL  config") and "system_key" in failed[0]
    assert any(f"probably means {keys.system}" in line and "long key id" in line for line in failed), failed
