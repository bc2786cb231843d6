"""The config parser is strict: every mistake is one message that names the key and the fix."""

from __future__ import annotations

import pytest

from tkalert.config.settings import load_settings
from tkalert.errors import ConfigError

FPR = "A" * 40


def settings_from(tmp_path, text: str, env=None):
    path = tmp_path / "tkalert.conf"
    path.write_text(text)
    return load_settings(path, env=env or {})


def test_missing_default_config_means_defaults(tmp_path, monkeypatch):
    monkeypatch.setattr("tkalert.config.settings.DEFAULT_CONFIG", tmp_path / "absent.conf")
    settings = load_settings(None, env={})
    assert settings.path is None and settings.enabled and settings.destinations == ()


def test_explicit_missing_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.conf", env={})


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'auth_kye' in \\[tkalert\\]"):
        settings_from(tmp_path, "[tkalert]\nauth_kye = x\n")


def test_user_ids_are_refused_as_vendor_keys(tmp_path):
    with pytest.raises(ConfigError, match="not a full 40-hex-digit key fingerprint"):
        settings_from(tmp_path, "[gnupg]\nvendor_keys = Vendor Support\n")


def test_destinations_order_and_missing_section(tmp_path):
    text = f"[tkalert]\ndestinations = b, a\n[gnupg]\nvendor_keys = {FPR}\n[destination a]\nhost = x\n" \
           "[destination b]\ntransport = smtp\n"
    settings = settings_from(tmp_path, text)
    assert [d.name for d in settings.destinations] == ["b", "a"]
    assert settings.vendor_keys == (FPR,)
    with pytest.raises(ConfigError, match="no \\[destination c\\] section"):
        settings_from(tmp_path, "[tkalert]\ndestinations = c\n")


def test_auth_key_file_relative_to_config_and_env_wins(tmp_path):
    (tmp_path / "key").write_text("FROMFILE\n")
    assert settings_from(tmp_path, "[tkalert]\nauth_key_file = key\n").auth_key == "FROMFILE"
    env = {"TKALERT_AUTH_KEY": "FROMENV"}
    assert settings_from(tmp_path, "[tkalert]\nauth_key_file = key\n", env).auth_key == "FROMENV"
    with pytest.raises(ConfigError, match="cannot read auth_key_file"):
        settings_from(tmp_path, "[tkalert]\nauth_key_file = missing\n")


def test_bad_enabled_and_broken_syntax(tmp_path):
    with pytest.raises(ConfigError, match="enabled must be 0 or 1"):
        settings_from(tmp_path, "[tkalert]\nenabled = maybe\n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        settings_from(tmp_path, "auth_key = outside any section\n")
