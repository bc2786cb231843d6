"""The Zabbix media type's message and the tkalert-zabbix alert script, without a Zabbix server.

Messages are made the way Zabbix makes them: the shipped media_type.yaml's templates with their macros expanded
(and Zabbix's CRLF line ends). The alert script runs as Zabbix runs it: a child process with an empty environment
(no HOME, no TKALERT_CONFIG), the config named by SENDTO, sending to a real SMTP server with real gpg.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cast.config import write_config
from cast.plugins import run_tkalert
from hypothesis import given, settings
from hypothesis import strategies as st

from tkalert.document.stamp import Stamp
from tkalert.document.writer import build_document
from tkalert.document.reader import parse_valid
from tkalert.sender.deliver.mail import payload_of
from tkalert.integrations.zabbix.api import MEDIA_TYPE_NAME, ZABBIX_KEYS, access_from_section, media_type_yaml
from tkalert.integrations.zabbix.alert_message import KEYS, REST_KEY, MessageError, event_from_message, parse_fields

ROOT = Path(__file__).resolve().parent.parent
MEDIA_TYPE = ROOT / "tkalert" / "integrations" / "zabbix" / "media_type.yaml"
CONTRIB = ROOT / "contrib" / "zabbix" / "tkalert_media_type.yaml"

# What Zabbix 6.0 expands the templates' macros to, for a problem on a host with a filled inventory.
MACROS = {
    "{HOST.HOST}": "hw-node-01", "{HOST.NAME}": "HW node 01", "{HOST.IP}": "192.0.2.10",
    "{EVENT.NAME}": "PSU 1: temperature 95 °C >= 90", "{EVENT.NSEVERITY}": "4", "{EVENT.SEVERITY}": "High",
    "{EVENT.STATUS}": "PROBLEM", "{EVENT.ID}": "4711", "{EVENT.DATE}": "2024.05.31", "{EVENT.TIME}": "13:45:07",
    "{EVENT.DURATION}": "1h 2m 3s", "{INVENTORY.SERIALNO.A}": "S-90000123", "{INVENTORY.OS}": "Debian 12",
    "{EVENT.TAGS.component_serial}": "PSU-7", "{EVENT.TAGS.component_name}": "PSU 1",
    "{EVENT.OPDATA}": "Temperature: 95 °C", "{ITEM.NAME}": "PSU 1 temperature", "{ITEM.VALUE}": "95",
    "{EVENT.RECOVERY.STATUS}": "RESOLVED", "{EVENT.RECOVERY.DATE}": "2024.05.31",
    "{EVENT.RECOVERY.TIME}": "14:00:00", "{EVENT.UPDATE.DATE}": "2024.05.31", "{EVENT.UPDATE.TIME}": "13:50:00",
    "{EVENT.UPDATE.ACTION}": "acknowledged", "{EVENT.UPDATE.MESSAGE}": "technician on the way",
}


def templates() -> dict[str, str]:
    """operation mode -> message template, read from the shipped YAML (its layout is fixed: no YAML library)."""
    found = {}
    for block in MEDIA_TYPE.read_text(encoding="utf-8").split("- event_source: TRIGGERS")[1:]:
        mode = re.search(r"operation_mode: (\w+)", block).group(1)
        body = block.split("message: |-\n", 1)[1].splitlines()
        indent = len(body[0]) - len(body[0].lstrip())
        found[mode] = "\n".join(line[indent:] for line in body if line.startswith(" " * indent))
    return found


def expand(mode: str, **changes: str) -> str:
    """The message Zabbix hands the script: macros expanded, unknown ones left as they are, CRLF line ends."""
    values = {**MACROS, **{"{" + k.replace("_", ".") + "}": v for k, v in changes.items()}}
    text = re.sub(r"\{[^{}]+\}", lambda m: values.get(m.group(0), m.group(0)), templates()[mode])
    return text.replace("\n", "\r\n")


# --- the media type file -----------------------------------------------------------------------------------------

def test_contrib_media_type_is_the_packaged_one():
    assert CONTRIB.read_bytes() == MEDIA_TYPE.read_bytes() == media_type_yaml().encode("utf-8")


def test_media_type_is_a_zabbix_6_0_script_media_type_with_the_three_alert_macros():
    text = MEDIA_TYPE.read_text(encoding="utf-8")
    assert "\n  version: '6.0'\n" in text
    assert f"\n    - name: {MEDIA_TYPE_NAME}\n      type: SCRIPT\n      script_name: tkalert-zabbix\n" in text
    assert "parameters:\n        - '{ALERT.SENDTO}'\n        - '{ALERT.SUBJECT}'\n        - '{ALERT.MESSAGE}'\n" in text
    assert sorted(templates()) == ["PROBLEM", "RECOVERY", "UPDATE"]


@pytest.mark.parametrize("mode", ["PROBLEM", "RECOVERY", "UPDATE"])
def test_every_template_line_is_a_known_key_and_output_comes_last(mode):
    lines = templates()[mode].splitlines()
    keys = [line.split("=", 1)[0] for line in lines if re.match(r"[a-z_]+=", line)]
    assert set(keys) <= KEYS and len(keys) == len(set(keys))
    assert keys[-1] == REST_KEY and lines[0] == f"notification={mode}"


# --- parsing -----------------------------------------------------------------------------------------------------

def test_problem_message_becomes_the_alert():
    event = event_from_message(expand("PROBLEM"))
    assert (event.event_type, event.host, event.ip, event.service) == (
        "service", "hw-node-01", "192.0.2.10", "PSU 1: temperature 95 °C >= 90")
    assert (event.service_status, event.notification_type) == ("CRITICAL", "PROBLEM")
    assert (event.serial, event.os, event.component_serial, event.component_name) == (
        "S-90000123", "Debian 12", "PSU-7", "PSU 1")
    assert event.output == "Temperature: 95 °C\nPSU 1 temperature: 95\nZabbix event 4711"
    assert event.duration == 3723.0
    assert event.date == time.mktime((2024, 5, 31, 13, 45, 7, 0, 0, -1))


@pytest.mark.parametrize(("number", "name", "state"), [
    ("0", "Not classified", "WARNING"), ("1", "Information", "WARNING"), ("2", "Warning", "WARNING"),
    ("3", "Average", "CRITICAL"), ("4", "High", "CRITICAL"), ("5", "Disaster", "CRITICAL"),
    ("5", "Kaputt", "CRITICAL"),  # a renamed severity: the number decides
    ("{EVENT.NSEVERITY}", "Average", "CRITICAL"), ("{EVENT.NSEVERITY}", "warning", "WARNING"),
    ("{EVENT.NSEVERITY}", "Kaputt", "UNKNOWN"), ("9", "*UNKNOWN*", "UNKNOWN"), ("²", "", "UNKNOWN"),
    ("4" * 5000, "Warning", "WARNING"),
])
def test_severity_table(number, name, state):
    event = event_from_message(expand("PROBLEM", EVENT_NSEVERITY=number, EVENT_SEVERITY=name))
    assert event.service_status == state


def test_recovery_is_ok_with_the_recovery_time():
    event = event_from_message(expand("RECOVERY"))
    assert (event.service_status, event.notification_type) == ("OK", "RECOVERY")
    assert event.service == MACROS["{EVENT.NAME}"]
    assert event.date == time.mktime((2024, 5, 31, 14, 0, 0, 0, 0, -1))


@pytest.mark.parametrize(("action", "status", "kind", "state"), [
    ("acknowledged", "PROBLEM", "ACKNOWLEDGEMENT", "CRITICAL"),
    ("acknowledged and commented", "PROBLEM", "ACKNOWLEDGEMENT", "CRITICAL"),
    ("commented", "PROBLEM", "CUSTOM", "CRITICAL"),
    ("unacknowledged", "PROBLEM", "CUSTOM", "CRITICAL"),
    ("changed severity from Warning to High", "PROBLEM", "CUSTOM", "CRITICAL"),
    ("closed", "RESOLVED", "CUSTOM", "OK"),
])
def test_updates_are_acknowledgements_or_custom_never_problems(action, status, kind, state):
    event = event_from_message(expand("UPDATE", EVENT_UPDATE_ACTION=action, EVENT_STATUS=status))
    assert (event.notification_type, event.service_status) == (kind, state)
    assert event.output.startswith(f"{action}: technician on the way")


@pytest.mark.parametrize("unresolved", ["{INVENTORY.SERIALNO.A}", "*UNKNOWN*", "", "NOT_SET", "  "])
def test_unresolved_macros_are_absent(unresolved):
    message = expand("PROBLEM", INVENTORY_SERIALNO_A=unresolved, INVENTORY_OS=unresolved, HOST_IP=unresolved,
                     EVENT_DATE=unresolved, EVENT_DURATION=unresolved)
    event = event_from_message(message)
    assert (event.serial, event.os, event.ip, event.date, event.duration) == (None, None, None, None, None)
    untagged = parse_fields("component_serial={EVENT.TAGS.component_serial}\ncomponent_name={$USER.MACRO}")
    assert untagged == {}


def test_equals_signs_and_newlines_in_values():
    message = expand("PROBLEM", EVENT_NAME="load=high (a=b)", INVENTORY_OS="Debian\nGNU/Linux 12",
                     ITEM_VALUE="line 1\nhost=evil\nserial=forged\n\nlast = line")
    event = event_from_message(message)
    assert event.service == "load=high (a=b)"
    assert event.os == "Debian\nGNU/Linux 12"
    assert (event.host, event.serial) == ("hw-node-01", "S-90000123")
    assert "host=evil\nserial=forged\n\nlast = line" in event.output


def test_format_rules_heading_unknown_keys_repeats_and_case():
    fields = parse_fields("tkalert alert\nHOST = h1\nnew_key=ignored\n  and its continuation\ntrigger=t\n"
                          "host=h2\nseverity=3")
    assert fields == {"host": "h1", "trigger": "t", "severity": "3"}


def test_notification_falls_back_to_the_event_status():
    assert event_from_message("notification=?\nstatus=RESOLVED\nhost=h\ntrigger=t").notification_type == "RECOVERY"
    assert event_from_message("status=PROBLEM\nhost=h\ntrigger=t\nseverity=3").service_status == "CRITICAL"


def test_missing_severity_and_notification_still_send_a_problem():
    event = event_from_message("host=h\ntrigger=t")
    assert (event.service_status, event.notification_type, event.output) == ("UNKNOWN", "PROBLEM", None)


@pytest.mark.parametrize("text", ["", "\n\n", "garbage", "host=h1", "trigger=t", "host={HOST.HOST}\ntrigger=t",
                                  "output=host=h\ntrigger=t", "\x00\udcff=\x00"])
def test_not_a_tkalert_message_is_one_clear_error(text):
    with pytest.raises(MessageError) as caught:
        event_from_message(text)
    assert "\n" not in str(caught.value) and "tkalert zabbix setup" in str(caught.value)
    assert caught.value.exit_code == 2


KEY_LINES = st.lists(st.tuples(st.sampled_from(sorted(KEYS | {"x", "HOST", " trigger "})), st.text()), max_size=25)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("host=trigger\nseverity=5output \r{}*UNKNOWN*dateim:.019 é\x00\udcff")))
       | st.text()
       | KEY_LINES.map(lambda pairs: "\n".join(f"{k}={v}" for k, v in [("host", "h"), *pairs, ("trigger", "t")])))
def test_any_text_is_an_alert_with_a_valid_document_or_one_message_error(text):
    try:
        event = event_from_message(text)
    except MessageError as exc:
        assert "\n" not in str(exc)
        return
    checked = event.replace(auth_key="k").checked()
    parse_valid(build_document(checked, Stamp(str(uuid.uuid4()), "system", 1, 1_700_000_000.0)))


# --- the alert script, as Zabbix runs it -------------------------------------------------------------------------

def alert_script(*args: str, timeout: float = 40) -> subprocess.CompletedProcess:
    """tkalert-zabbix in a child process with the empty environment Zabbix gives alert scripts."""
    return subprocess.run([sys.executable, "-m", "tkalert.integrations.zabbix.alert", *args], capture_output=True,
                          env={},
                          timeout=timeout, check=False, cwd="/")


def vendor_document(keys, mail):
    plaintext, signer = keys.decrypt(payload_of(mail))
    assert signer == keys.system
    return parse_valid(plaintext)


def test_alert_script_sends_problem_and_recovery_with_an_empty_environment(tmp_path, keys, smtp_sink):
    config = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, tmp_path / "state")
    for mode in ("PROBLEM", "RECOVERY"):
        done = alert_script(str(config), f"{mode}: subject", expand(mode))
        assert done.returncode == 0, done.stderr.decode()
    problem, recovery = (vendor_document(keys, mail) for mail in smtp_sink.emails())
    assert problem.findtext("host/name") == recovery.findtext("host/name") == "hw-node-01"
    assert problem.findtext("service/name") == recovery.findtext("service/name") == MACROS["{EVENT.NAME}"]
    assert (problem.findtext("service/status"), problem.findtext("notification-type")) == ("CRITICAL", "PROBLEM")
    assert (recovery.findtext("service/status"), recovery.findtext("notification-type")) == ("OK", "RECOVERY")
    assert (problem.findtext("host/server-serial"), problem.findtext("host/operating-system")) == (
        "S-90000123", "Debian 12")
    assert problem.findtext("service/component-serial") == "PSU-7"
    assert problem.findtext("date") == str(int(time.mktime((2024, 5, 31, 13, 45, 7, 0, 0, -1))))


def test_alert_script_exit_codes(tmp_path, keys, smtp_sink):
    config = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, tmp_path / "state")
    usage = alert_script(str(config), "only two")
    assert usage.returncode == 2 and usage.stderr.decode().startswith("tkalert-zabbix: usage:")
    foreign = alert_script(str(config), "s", "Problem started at 13:45 on host x")
    assert foreign.returncode == 2
    assert foreign.stderr.decode().count("\n") == 1 and "no usable host= line" in foreign.stderr.decode()
    missing = alert_script(str(tmp_path / "nope.conf"), "s", expand("PROBLEM"))
    assert missing.returncode == 78 and b"does not exist" in missing.stderr
    disabled = tmp_path / "disabled.conf"
    disabled.write_text(config.read_text().replace("[tkalert]\n", "[tkalert]\nenabled = 0\n"))
    assert alert_script(str(disabled), "s", expand("PROBLEM")).returncode == 0
    assert smtp_sink.mails == []
    assert b"Traceback" not in usage.stderr + foreign.stderr + missing.stderr


def test_spool_not_writable_is_75_so_zabbix_retries(tmp_path, keys, smtp_sink):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "spool").write_text("a file where the spool directory should be")
    config = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, tmp_path / "state")
    done = alert_script(str(config), "s", expand("PROBLEM"))
    assert done.returncode == 75, done.stderr.decode()
    assert smtp_sink.mails == []


def test_server_down_is_queued_exit_0_so_zabbix_does_not_duplicate(tmp_path, keys, refused_port):
    config = write_config(tmp_path / "tkalert.conf", keys, refused_port, tmp_path / "state")
    done = alert_script(str(config), "s", expand("PROBLEM"))
    assert done.returncode == 0, done.stderr.decode()
    assert b"queued" in done.stderr
    assert list((tmp_path / "state" / "spool").rglob("*"))


def test_sendto_word_means_the_default_config(tmp_path, keys, smtp_sink):
    from tkalert.integrations.zabbix.alert import config_path

    assert config_path("  /etc/tkalert/other.conf ") == "/etc/tkalert/other.conf"
    assert config_path("tkalert") is None and config_path("") is None


def test_hanging_zabbix_api_costs_at_most_the_timeout_and_the_alert_still_goes_out(tmp_path, keys, smtp_sink):
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        password = tmp_path / "zabbix.pw"
        password.write_text("secret\n")
        extra = f"\n[zabbix]\nurl = http://127.0.0.1:{silent.getsockname()[1]}\nuser = tkalert\n" \
                f"password_file = {password.name}\ntimeout = 2\n"
        config = write_config(tmp_path / "tkalert.conf", keys, smtp_sink.port, tmp_path / "state", extra=extra)
        started = time.monotonic()
        done = alert_script(str(config), "s", expand("PROBLEM", INVENTORY_SERIALNO_A="*UNKNOWN*"))
        elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr.decode()
    assert b"warning: no inventory lookup" in done.stderr and b"within 2s" in done.stderr
    assert elapsed < 15
    (mail,) = smtp_sink.emails()
    assert vendor_document(keys, mail).find("host/server-serial") is None


def test_zabbix_section_is_checked_strictly(tmp_path):
    (tmp_path / "token").write_text("abc\n")
    access = access_from_section({"url": "https://z/zabbix", "token_file": "token", "timeout": "99"}, tmp_path)
    assert (access.token, access.user, access.timeout) == ("abc", None, 99.0)
    assert access_from_section({}, tmp_path) is None
    from tkalert.errors import ConfigError

    for section, complaint in (({"url": "u", "pasword": "x"}, "unknown key 'pasword'"),
                               ({"url": "u", "user": "a"}, "give token"),
                               ({"url": "u", "token": "t", "timeout": "soon"}, "timeout must be"),
                               ({"url": "u", "token_file": "missing"}, "cannot read token_file")):
        with pytest.raises(ConfigError, match=complaint):
            access_from_section(section, tmp_path)
    assert {"url", "user", "password_file", "token_file", "timeout"} <= ZABBIX_KEYS


# --- tkalert zabbix setup, where no Zabbix is needed -------------------------------------------------------------

def test_setup_says_what_is_missing_in_one_line(tmp_path, keys, refused_port):
    config = write_config(tmp_path / "tkalert.conf", keys, refused_port, tmp_path / "state")
    password = tmp_path / "pw"
    password.write_text("zabbix\n")
    env = {"PATH": "/usr/bin:/bin"}
    no_api = run_tkalert("zabbix", "setup", f"--config={config}", env=env)
    assert no_api.returncode == 2 and b"no Zabbix API: give --url" in no_api.stderr
    no_user = run_tkalert("zabbix", "setup", "--url=http://127.0.0.1:1", "--action=x", f"--config={config}",
                          "--user=Admin", f"--password-file={password}", env=env)
    assert no_user.returncode == 2 and b"--action needs --user-media" in no_user.stderr
    down = run_tkalert("zabbix", "setup", f"--url=http://127.0.0.1:{refused_port}", "--user=Admin",
                       f"--password-file={password}", f"--config={config}", env=env)
    assert down.returncode == 1 and b"cannot reach the Zabbix API at http://127.0.0.1:" in down.stderr
    for done in (no_api, no_user, down):
        assert done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr
