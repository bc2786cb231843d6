"""The one strict reader of config values: switches, durations, whole numbers, choices, secret files, unknown keys.

Each reader accepts every documented spelling and refuses anything else with one line naming where (file and
section), the key, the bad value and what is accepted. The callers' tests below show that every section now
applies the same rule (a port 0, an empty secret file, a bad switch).
"""

from __future__ import annotations

import os

import pytest

from tkalert.config import fields
from tkalert.config.fields import Section
from tkalert.errors import ConfigError

WHERE = "/etc/tkalert/tkalert.conf [spool]"


def refused(reader, *args) -> str:
    with pytest.raises(ConfigError) as caught:
        reader(*args)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- switches ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("yes", True), ("no", False), ("true", True), ("false", False), ("on", True), ("off", False),
    ("1", True), ("0", False), ("YES", True), ("Off", False), (" True ", True),
])
def test_switch_accepts_one_vocabulary(value, expected):
    assert fields.boolean(value, "enabled", WHERE) is expected


@pytest.mark.parametrize("value", ["maybe", "", "2", "y", "n", "enable", "onn", "-1"])
def test_switch_refuses_anything_else_naming_where_key_value_and_words(value):
    message = refused(fields.boolean, value, "enabled", WHERE)
    assert message.startswith(f"{WHERE}: enabled must be yes or no")
    assert repr(value) in message and "true/false" in message and "on/off" in message and "1/0" in message


def test_switch_message_uses_the_spelling_the_man_page_documents():
    assert "enabled must be on or off" in refused(fields.boolean, "maybe", "enabled", WHERE, "on or off")


# --- durations -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, seconds", [
    ("90", 90), ("90s", 90), ("5m", 300), ("2h", 7200), ("7d", 7 * 86400), ("2w", 14 * 86400),
    ("0.3", 0.3), (".5", 0.5), ("30.", 30), ("1.5m", 90), (" 5 m ", 300), ("30", 30),
])
def test_duration_takes_a_number_with_an_optional_unit(value, seconds):
    assert fields.duration(value, "interval", WHERE) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["a week", "", "5x", "m", "-1", "1e3", "inf", "5 min", "0", "0s", "0.0"])
def test_duration_refuses_other_spellings_and_zero(value):
    message = refused(fields.duration, value, "interval", WHERE)
    assert message.startswith(f"{WHERE}: interval must be a duration above 0")
    assert repr(value) in message and "90s, 5m, 2h, 7d or 2w" in message


def test_duration_may_allow_zero():
    assert fields.duration("0", "repeat_window", WHERE, positive=False) == 0
    assert "must be a duration (" in refused(fields.duration, "-5", "repeat_window", WHERE, False)


# --- whole numbers -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, low, high, number", [
    ("1", 1, 65535, 1), ("65535", 1, 65535, 65535), (" 587 ", 1, 65535, 587), ("0", 0, None, 0),
    ("100", 1, None, 100),
])
def test_integer_in_range(value, low, high, number):
    assert fields.integer(value, "port", WHERE, low, high) == number


@pytest.mark.parametrize("value, low, high, words", [
    ("0", 1, 65535, "from 1 to 65535"), ("65536", 1, 65535, "from 1 to 65535"), ("-1", 1, 65535, "from 1 to 65535"),
    ("25.0", 1, 65535, "whole number"), ("twenty", 1, 65535, "whole number"), ("²", 1, 65535, "whole number"),
    ("0", 1, None, "of at least 1"), ("", 0, None, "of at least 0"),
])
def test_integer_refuses_out_of_range_and_non_numbers(value, low, high, words):
    message = refused(fields.integer, value, "port", WHERE, low, high)
    assert message.startswith(f"{WHERE}: port must be a whole number") and words in message and repr(value) in message


# --- choices -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, word", [("starttls", "starttls"), ("STARTTLS", "starttls"), (" smtps ", "smtps")])
def test_choice_is_one_word_of_a_few_any_case(value, word):
    assert fields.choice(value, "security", WHERE, ("none", "starttls", "smtps")) == word


@pytest.mark.parametrize("value", ["tls", "", "start tls"])
def test_choice_refuses_others_listing_them(value):
    message = refused(fields.choice, value, "security", WHERE, ("none", "starttls", "smtps"))
    assert message == f"{WHERE}: security must be one of none, starttls, smtps, not {value!r}"


# --- secret files --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, secret", [(b"s3cret\n", "s3cret"), (b"s3cret", "s3cret"), (b"  p w \r\n", "p w"),
                                             ("pässwort\n".encode(), "pässwort")])
def test_secret_file_is_read_stripped(tmp_path, content, secret):
    (tmp_path / "pw").write_bytes(content)
    assert fields.secret(tmp_path / "pw", "password_file", WHERE) == secret


@pytest.mark.parametrize("content", [b"", b"\n", b"  \n\n"])
def test_empty_secret_file_is_an_error(tmp_path, content):
    (tmp_path / "pw").write_bytes(content)
    message = refused(fields.secret, tmp_path / "pw", "password_file", WHERE)
    assert message.startswith(f"{WHERE}: password_file {tmp_path / 'pw'} is empty")


def test_non_utf8_secret_file_is_an_error(tmp_path):
    (tmp_path / "pw").write_bytes(b"caf\xe9\n")
    assert "is not UTF-8 text" in refused(fields.secret, tmp_path / "pw", "token_file", WHERE)


def test_unreadable_secret_file_names_path_and_reason(tmp_path):
    message = refused(fields.secret, tmp_path / "missing", "token_file", WHERE)
    assert message.startswith(f"{WHERE}: cannot read token_file {tmp_path / 'missing'}: No such file or directory")
    assert "Is a directory" in refused(fields.secret, tmp_path, "token_file", WHERE)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_secret_file_without_permission(tmp_path):
    (tmp_path / "pw").write_text("x\n")
    (tmp_path / "pw").chmod(0)
    assert "Permission denied" in refused(fields.secret, tmp_path / "pw", "password_file", WHERE)


# --- unknown keys --------------------------------------------------------------------------------------------------

def test_unknown_key_suggests_the_close_one_and_lists_the_known():
    message = refused(fields.refuse_unknown, {"maxage": "7d"}, {"max_age", "batch_size"}, "spool",
                      "/etc/tkalert/tkalert.conf")
    assert message == ("/etc/tkalert/tkalert.conf: unknown key 'maxage' in [spool] (did you mean 'max_age'? "
                       "known: batch_size, max_age; see tkalert.conf(5))")


def test_unknown_key_without_a_close_one_and_without_file():
    message = refused(fields.refuse_unknown, {"zzz": "1"}, ("url", "timeout"), "zabbix")
    assert message == "unknown key 'zzz' in [zabbix] (known: timeout, url; see tkalert.conf(5))"
    fields.refuse_unknown({"url": "x"}, ("url", "timeout"), "zabbix")


# --- Section: one section bound to the readers -----------------------------------------------------------------------

def test_section_defaults_when_absent_and_strict_when_present(tmp_path):
    section = Section({"interval": "5m", "enabled": "off"}, ("interval", "enabled", "rate"), "storm",
                      tmp_path / "tkalert.conf")
    assert section.duration("interval", 60.0) == 300 and section.boolean("enabled", True) is False
    assert section.integer("rate", 20, 1) == 20
    empty = Section({"rate": ""}, ("rate",), "storm", tmp_path / "tkalert.conf")
    assert f"{tmp_path / 'tkalert.conf'} [storm]: rate must be a whole number" in refused(empty.integer, "rate", 20, 1)


def test_section_paths_and_secrets_are_relative_to_the_config(tmp_path):
    (tmp_path / "token").write_text("abc\n")
    section = Section({"token_file": "token", "ca_file": "ca.pem"}, ("token_file", "ca_file"), "zabbix",
                      tmp_path / "tkalert.conf")
    assert section.secret("token_file") == "abc" and section.path("ca_file") == tmp_path / "ca.pem"
    assert section.secret("absent") is None


def test_section_required_key_and_port():
    section = Section({"port": "0"}, {"url": fields.REQUIRED, "port": None}, "destination x")
    assert refused(section.text, "url") == "[destination x]: url is not set (add `url = ...` to the section)"
    assert "port must be a whole number from 1 to 65535, not '0'" in refused(section.port, "port")


def test_fields_import_is_lean():
    import subprocess
    import sys
    from pathlib import Path

    heavy = ("email", "click", "lxml", "gnupg", "difflib", "configparser")
    code = f"import sys, tkalert.config.fields; print([m for m in {heavy!r} if m in sys.modules])"
    root = str(Path(fields.__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": root})
    assert done.stdout.strip() == "[]"


# --- every caller applies the same rule ----------------------------------------------------------------------------

def write(tmp_path, text: str, **files: bytes):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    path = tmp_path / "tkalert.conf"
    path.write_text(text)
    from tkalert.config.settings import load_settings

    return load_settings(path, env={})


def open_first(settings):
    from tkalert.sender.deliver import open_transport

    return open_transport(settings.destinations[0], settings)


def test_port_zero_in_a_destination_is_refused(tmp_path):
    settings = write(tmp_path, "[destination relay]\nhost = localhost\nport = 0\n")
    with pytest.raises(ConfigError, match=r"tkalert.conf \[destination relay\]: port must be a whole number from 1 to "
                                          r"65535, not '0'"):
        open_first(settings)
    settings = write(tmp_path, "[destination relay]\nport = 70000\n")
    with pytest.raises(ConfigError, match="from 1 to 65535"):
        open_first(settings)


@pytest.mark.parametrize("text, where", [
    ("[destination relay]\nsecurity = starttls\nusername = alice\npassword_file = pw\n", "[destination relay]"),
    ("[destination m365]\ntransport = microsoft365\ntenant = t\nclient_id = c\nclient_secret_file = pw\n"
     "username = u@example.com\n", "[destination m365]"),
])
def test_empty_secret_file_for_mail_destinations(tmp_path, text, where):
    settings = write(tmp_path, text, pw=b"\n")
    with pytest.raises(ConfigError) as caught:
        open_first(settings)
    assert where in str(caught.value) and f"{tmp_path / 'pw'} is empty" in str(caught.value)


@pytest.mark.parametrize("key", ["password_file", "token_file"])
def test_empty_secret_file_for_the_zabbix_api(tmp_path, key):
    from tkalert.integrations.zabbix.api import access_from_section

    (tmp_path / "pw").write_text("\n")
    with pytest.raises(ConfigError, match=rf"\[zabbix\]: {key} {tmp_path / 'pw'} is empty"):
        access_from_section({"url": "https://z", "user": "a", key: "pw"}, tmp_path, tmp_path / "tkalert.conf")


def test_empty_auth_key_file_is_an_error_too(tmp_path):
    with pytest.raises(ConfigError, match=r"\[tkalert\]: auth_key_file .* is empty"):
        write(tmp_path, "[tkalert]\nauth_key_file = key\n", key=b"\n")
    with pytest.raises(ConfigError, match="auth_key_file .* is not UTF-8 text"):
        write(tmp_path, "[tkalert]\nauth_key_file = key\n", key=b"\xff\xfe")


@pytest.mark.parametrize("text, words", [
    ("[tkalert]\nenabled = maybe\n", "[tkalert]: enabled must be 0 or 1"),
    ("[destination relay]\nverify = maybe\n", "[destination relay]: verify must be yes or no"),
])
def test_one_switch_vocabulary_in_every_section(tmp_path, text, words):
    with pytest.raises(ConfigError) as caught:
        open_first(write(tmp_path, text))
    assert words in str(caught.value) and "on/off" in str(caught.value)


def test_switch_words_are_the_same_everywhere(tmp_path):
    from tkalert.sender.spool.policy import load_policy

    settings = write(tmp_path, "[tkalert]\nenabled = Off\n[storm]\nenabled = no\n[categories]\nreport = FALSE\n"
                               "[destination relay]\nverify = 0\n")
    policy = load_policy(settings)
    assert not settings.enabled and not policy.storm.enabled and not policy.categories.report
    assert open_first(settings).tls.verify is False


def test_cli_enabled_option_takes_the_same_words():
    from tkalert.cli.send import _disabled
    from tkalert.errors import UsageError

    assert _disabled("off") and _disabled("No") and not _disabled("yes") and not _disabled("1")
    with pytest.raises(UsageError, match="--enabled must be 0 or 1 .*on/off.*not 'maybe'"):
        _disabled("maybe")


def test_durations_with_units_in_destinations_and_the_zabbix_api(tmp_path):
    from tkalert.integrations.zabbix.api import access_from_section

    settings = write(tmp_path, "[destination relay]\ntimeout = 1m\n")
    assert open_first(settings).timeout == 60
    assert access_from_section({"url": "https://z", "token": "t", "timeout": "2m"}, tmp_path).timeout == 120
    with pytest.raises(ConfigError, match=r"\[zabbix\]: timeout must be a duration above 0"):
        access_from_section({"url": "https://z", "token": "t", "timeout": "0"}, tmp_path)


def test_unknown_transport_is_a_choice(tmp_path):
    settings = write(tmp_path, "[destination relay]\ntransport = smpt\n")
    with pytest.raises(ConfigError, match=r"\[destination relay\]: transport must be one of .*smtp.*not 'smpt'"):
        open_first(settings)


def test_spool_ranges(tmp_path):
    from tkalert.sender.spool.policy import load_policy

    policy = load_policy(write(tmp_path, "[storm]\nrepeat_window = 0\n[spool]\nhook_budget = 0\n[archive]\nkeep = 0\n"))
    assert (policy.storm.repeat_window, policy.spool.hook_budget, policy.archive.keep) == (0, 0, 0)
    for text in ("[storm]\ninterval = 0\n", "[spool]\nretry_base = 0s\n", "[spool]\nmax_age = 0\n"):
        with pytest.raises(ConfigError, match=r"tkalert.conf \[(storm|spool)\]: \w+ must be a duration above 0"):
            load_policy(write(tmp_path, text))
    with pytest.raises(ConfigError, match=r"\[spool\]: batch_size must be a whole number of at least 1, not '0'"):
        load_policy(write(tmp_path, "[spool]\nbatch_size = 0\n"))
