"""The README's sample tkalert.conf parses as written, inline `; comments` included."""

from __future__ import annotations

import re
from pathlib import Path

from tkalert.config.settings import load_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def sample_config() -> str:
    blocks = re.findall(r"```ini\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (block,) = [b for b in blocks if b.startswith("[tkalert]")]
    return block


def test_readme_sample_config_loads(tmp_path):
    text = sample_config()
    # the placeholders an admin replaces; everything else exactly as written
    text = re.sub(r"<the vendor key's 40-digit fingerprint>", "A" * 40, text)
    text = re.sub(r"<the fingerprint tkalert keygen printed>", "B" * 40, text)
    assert "<" not in text, "a placeholder the test does not know"
    (tmp_path / "auth_key").write_text("0123456789a\n")
    cfg = tmp_path / "tkalert.conf"
    cfg.write_text(text)
    settings = load_settings(cfg, env={})
    assert settings.auth_key == "0123456789a"
    assert settings.contact_person == "Jane Admin"
    assert settings.vendor_keys == ("A" * 40,) and settings.system_key == "B" * 40
    [vendor] = settings.destinations
    assert dict(vendor.options) == {"host": "localhost", "port": "25", "mail_to": "callhome@vendor.example"}


def test_inline_comment_needs_whitespace_before_it(tmp_path):
    cfg = tmp_path / "c.conf"
    cfg.write_text("[tkalert]\ncontact_person = Jane;Admin # the admin\ncontact_mail = a#b@acme.test\t; mail\n")
    settings = load_settings(cfg, env={})
    assert settings.contact_person == "Jane;Admin"
    assert settings.contact_mail == "a#b@acme.test"
