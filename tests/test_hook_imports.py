"""The notification hook's own start-up: what the `tkalert` command imports to send one alert, and the readers it
uses instead of the heavy standard modules (config file, spool JSON) giving what those modules give.

The imports are taken from the real command (bin/tkalert, as installed) sending to the test's SMTP sink, under
`python -S -X importtime`: -S keeps the interpreter's own site start-up (a development venv's .pth files) out of
the list, so the list is the hook's alone. `re` loads `enum`; `pathlib`, `json`, `configparser`, `socket` and
`fnmatch` load one or both; together they were over half of the hook's start on Debian's python3. threading,
functools and the collections package (behind collections.abc) were most of the rest.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cast.plugins import ROOT

HEAVY = ("re", "enum", "pathlib", "json", "configparser", "socket", "fnmatch", "urllib.parse", "ipaddress",
         "subprocess", "signal", "logging", "email", "smtplib", "ssl", "gnupg", "click", "lxml", "dataclasses",
         "typing", "uuid", "contextlib", "importlib.metadata", "tempfile", "shutil", "threading", "functools",
         "collections")


def hook_imports(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    done = subprocess.run([sys.executable, "-S", "-X", "importtime", str(ROOT / "bin" / "tkalert"), *args],
                          capture_output=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, timeout=60,
                          check=False)
    lines = done.stderr.decode().splitlines()
    return done, {line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time:")}


ALERT = ("--type=service", "--host=web01", "--service-status=CRITICAL", "--output=Critical [array degraded]")


@pytest.mark.parametrize("check", [[], ["--check"]])
def test_an_alert_delivered_by_the_hook_imports_none_of_the_heavy_modules(config, smtp_sink, check):
    # The first message of a new state directory exports the system key once (a gpg run through subprocess).
    assert hook_imports(f"--config={config}", *ALERT, "--service=RAID")[0].returncode == 0
    done, imported = hook_imports(f"--config={config}", *ALERT, "--service=fans", *check)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(smtp_sink.mails) == 2
    assert sorted(m for m in HEAVY if m in imported) == []
    assert "tkalert.sender.spool.flusher" in imported  # it did deliver, through the spool, in this process


# Only a hook that flushes for itself needs these (the flush lock, its deadline thread, the digest maker's types);
# `types` and `math` gave one name each to the settings and the event readers.
SELF_FLUSH = ("tkalert.deadline", "tkalert.sender.spool.lock", "tkalert.sender.spool.folding", "types", "math")
DELIVERY = ("tkalert.sender.spool.flusher", "tkalert.sender.deliver", "tkalert.sender.deliver.smtp",
            "tkalert.sender.deliver.plainsmtp", "_ssl", "smtplib", "email")


def test_with_the_resident_flusher_the_hook_imports_nothing_of_the_delivery_path(config, smtp_sink):
    import os
    import time

    from tkalert.config.settings import load_settings
    from tkalert.sender.spool import open_site

    assert hook_imports(f"--config={config}", *ALERT, "--service=RAID")[0].returncode == 0
    path = open_site(load_settings(config)).policy.spool.flusher_socket
    flusher = subprocess.Popen([sys.executable, str(ROOT / "bin" / "tkalert"), "flusher", f"--config={config}"],
                               env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(path) and time.monotonic() < deadline:  # renamed into place once listening
            time.sleep(0.02)
        done, imported = hook_imports(f"--config={config}", *ALERT, "--service=fans", "--check")
        handed, handed_imports = hook_imports(f"--config={config}", *ALERT, "--service=disks")  # flusher_wait = check
        while len(smtp_sink.mails) < 3 and time.monotonic() < deadline + 30:  # it leaves before the delivery
            time.sleep(0.05)
    finally:
        flusher.terminate()
        flusher.wait(30)
    assert done.returncode == 0 and b"sent alert - OK" in done.stdout, done.stderr[-2000:]
    assert (handed.returncode, handed.stdout) == (0, b""), handed.stderr[-2000:]
    assert len(smtp_sink.mails) == 3  # the flusher delivered them
    for modules in (imported, handed_imports):
        assert sorted(m for m in HEAVY + DELIVERY + SELF_FLUSH if m in modules) == []
        assert "tkalert.sender.spool.handoff" in modules


def test_a_heartbeat_imports_none_of_them_either(config, smtp_sink):
    assert hook_imports(f"--config={config}", "--type=heartbeat")[0].returncode == 0
    done, imported = hook_imports(f"--config={config}", "--type=heartbeat", "--check")
    assert done.returncode == 0 and done.stdout.startswith(b"tkalert/"), done.stderr[-2000:]
    assert sorted(m for m in HEAVY if m in imported) == []


# --- the config file without configparser: the same sections, or configparser reads it ------------------------------

def configparser_sections(text: str) -> dict:
    import configparser

    parser = configparser.ConfigParser(interpolation=None, default_section="\0none",
                                       inline_comment_prefixes=(";", "#"))
    parser.read_string(text)
    return {name: dict(parser[name]) for name in parser.sections()}


@pytest.mark.parametrize("text", [
    "", "# only a comment\n", "[tkalert]\nauth_key = abc\n\n[gnupg]\nhome=/x\n",
    "[tkalert]\nAUTH_KEY = a;b # comment\ncontact_person = Jane ; her name\n;commented = 1\n  # indented comment\n",
    "[destination vendor]\nmail_to = a@b.example\nhost = [::1]\n[storm]\nrate = 5\n\n\n",
    "[a] trailing words\nkey = = value =\nempty =\n",
    "[tkalert]\r\nauth_key = crlf\r\n",
])
def test_a_plain_file_reads_as_configparser_reads_it(text):
    from tkalert.config.settings import plain_sections

    text = text.replace("\r\n", "\n")  # the file is read with universal newlines
    assert plain_sections(text) == configparser_sections(text)


@pytest.mark.parametrize("text", [
    "[tkalert]\nkey = first\n  continued\n",  # a continued value
    "[tkalert]\nkey: colon\n",  # the other delimiter
    "[tkalert]\nkey = 1\nKEY = 2\n",  # a duplicate (configparser refuses it)
    "[a]\nx = 1\n[a]\ny = 2\n",
    "key = before any section\n",
    "[tkalert]\nno delimiter\n",
    "[]\n",
    "\ufeff[tkalert]\n",
])
def test_anything_else_goes_to_configparser(text):
    from tkalert.config.settings import plain_sections

    assert plain_sections(text) is None


LINE = st.text(st.sampled_from("ab[]=:;# \tK\u00e9"), max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.lists(LINE, max_size=8))
def test_whenever_the_plain_reader_answers_configparser_agrees(lines):
    import configparser

    from tkalert.config.settings import plain_sections

    text = "\n".join(lines)
    plain = plain_sections(text)
    if plain is None:
        return
    try:
        expected = configparser_sections(text)
    except configparser.Error as exc:
        pytest.fail(f"plain reader took a text configparser refuses: {text!r} ({exc})")
    assert plain == expected, text


def test_load_settings_gives_the_same_errors_for_what_configparser_reads(tmp_path):
    from tkalert.config.settings import load_settings
    from tkalert.errors import ConfigError

    path = tmp_path / "tkalert.conf"
    path.write_text("[tkalert]\nauth_key = 1\nauth_key = 2\n")
    with pytest.raises(ConfigError, match=r"cannot read config file .*option 'auth_key' in section 'tkalert' "
                                          r"already exists"):
        load_settings(path)
    path.write_text("[tkalert]\nauth_key = first\n  second\n")
    assert load_settings(path).auth_key == "first\nsecond"


# --- the spool's JSON without the json package ------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from([None, 1, 2]))
def test_spool_json_is_what_json_writes_and_reads(value, indent):
    from tkalert.sender.spool import jsonfile

    text = jsonfile.dumps(value, indent=indent)
    assert text == json.dumps(value, indent=indent)
    assert repr(jsonfile.loads(text.encode())) == repr(json.loads(text.encode()))


@pytest.mark.parametrize("data", [b"", b"[1,", b"{} extra", b"\xff", b"{'single': 1}"])
def test_a_damaged_spool_file_raises_jsons_own_error(data):
    from tkalert.sender.spool import jsonfile

    with pytest.raises(ValueError) as expected:
        json.loads(data)
    with pytest.raises(type(expected.value)) as found:
        jsonfile.loads(data)
    assert str(found.value) == str(expected.value)
