"""Redaction, rule by rule, on the lines each product really writes; the change mark; configured patterns and
the detect-secrets net; the scope's globs and size cap."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from cast.plugins import ROOT
from tkalert.config.settings import Destination, Settings
from tkalert.document.report import apply_diff, unified_diff
from tkalert.errors import ConfigError
from tkalert.sender.report.redact import Redactor, configured_patterns, known_secrets
from tkalert.sender.report.scope import Scope, load_scope, matches

KEY = b"k" * 32
TAG = re.compile(r"\[redacted: ([\w:-]+) [0-9a-f]{8}\]")


def redacted(path: str, text: str, **options) -> str:
    return Redactor(KEY, second_net=False, **options).redact(path, text).text


@pytest.mark.parametrize("path, line, rule, kept", [
    ("/etc/icinga2/conf.d/api-users.conf", '  password = "s3cret"', "icinga2-password", "  password = "),
    ("/etc/icinga2/conf.d/api-users.conf", 'object ApiUser "a" { password = "x1"; permissions = [ "*" ] }',
     "icinga2-password", "object ApiUser \"a\" { password = "),
    ("/etc/icinga2/features-available/ido-mysql.conf", '  password = "ido"', "icinga2-password", "  password = "),
    ("/etc/icinga2/constants.conf", 'const TicketSalt = "0ff1ce"', "icinga2-ticketsalt", "const TicketSalt = "),
    ("/etc/nagios4/resource.cfg", "$USER3$=dbpass", "nagios-user-macro", "$USER3$="),
    ("/etc/zabbix/zabbix_server.conf", "DBPassword=zbx", "zabbix-dbpassword", "DBPassword="),
    ("/etc/zabbix/zabbix_agentd.conf", "TLSPSKIdentity=PSK 001", "zabbix-tlspsk", "TLSPSKIdentity="),
    ("/etc/snmp/snmpd.conf", "rocommunity public default", "snmp-community", "rocommunity "),
    ("/etc/snmp/snmpd.conf", "rwcommunity6 private", "snmp-community", "rwcommunity6 "),
    ("/etc/snmp/snmpd.conf", "com2sec local localhost secret42", "snmp-com2sec", "com2sec local localhost "),
    ("/etc/snmp/snmpd.conf", "trap2sink nms.acme secret43", "snmp-trap-community", "trap2sink nms.acme "),
    ("/etc/snmp/snmpd.conf", "createUser bob SHA authpw AES privpw", "snmp-usm-passphrase", "createUser bob "),
    ("/etc/tkalert/tkalert.conf", "password = relay-pw", "secret-setting", "password = "),
    ("/etc/nagios4/conf.d/hosts.cfg", "  _TKMON_AUTHKEY  abc123", "secret-setting", "  _TKMON_AUTHKEY  "),
])
def test_each_rule_hides_the_value_and_keeps_the_setting(path, line, rule, kept):
    out = redacted(path, line + "\n")
    assert TAG.search(out).group(1) == rule
    assert out.startswith(kept) and out.endswith("\n")


def test_lines_without_secrets_stay_byte_for_byte():
    text = ('object Host "db01" {\n  address = "10.0.0.5"\n  check_command = "hostalive"\r\n}\n'
            "password_file = /etc/tkalert/relay.pw\nsysLocation rack 4\n# no password here\nlast line")
    assert redacted("/etc/icinga2/conf.d/hosts.conf", text) == text


def test_the_change_mark_tells_a_changed_value_without_showing_it():
    one = redacted("/etc/zabbix/zabbix_server.conf", "DBPassword=first\n")
    two = redacted("/etc/zabbix/zabbix_server.conf", "DBPassword=second\n")
    assert one != two and one == redacted("/etc/zabbix/zabbix_server.conf", "DBPassword=first\n")
    other_key = Redactor(b"x" * 32, second_net=False).redact("/etc/zabbix/z.conf", "DBPassword=first\n").text
    assert other_key != one  # keyed: a guess cannot be checked without this machine's key


def test_psk_files_private_keys_and_known_secrets_go_whole():
    assert TAG.fullmatch(redacted("/etc/zabbix/agent.psk", "ab" * 32 + "\n").strip()).group(1) == "zabbix-psk-file"
    assert TAG.fullmatch(redacted("/etc/x/key", "  " + "0f" * 16 + "\n").strip())
    pem = "a = 1\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\nxyz\n-----END RSA PRIVATE KEY-----\nb = 2\n"
    out = redacted("/etc/icinga2/x.conf", pem)
    assert "MIIE" not in out and out.startswith("a = 1\n[redacted: private-key ") and out.endswith("\nb = 2\n")
    settings = Settings(auth_key="AUTH-4711", destinations=(
        Destination("relay", "smtp", {"password": "relay-secret", "password_file": "/x", "host": "relay"}),))
    assert known_secrets(settings) == ("AUTH-4711", "relay-secret")
    out = redacted("/etc/icinga2/h.conf", 'vars.note = "key AUTH-4711, relay relay-secret"\n',
                   known=known_secrets(settings))
    assert "AUTH-4711" not in out and "relay-secret" not in out and out.count("tkalert-secret") == 2


def test_configured_patterns_redact_their_group_or_the_whole_match(tmp_path):
    settings = Settings(path=tmp_path / "c.conf", sections={"redact": {"pattern.ticket": r"INT-\d+",
                                                                       "pattern.pin": r"pin=(\d+)"}})
    out = redacted("/etc/nagios4/x.cfg", "notes INT-42 and pin=1234;\n", patterns=configured_patterns(settings))
    assert re.fullmatch(r"notes \[redacted: ticket \w+\] and pin=\[redacted: pin \w+\];\n", out)
    bad = Settings(path=tmp_path / "c.conf", sections={"redact": {"pattern.x": "("}})
    with pytest.raises(ConfigError, match=r"\[redact\]: pattern.x is not a regular expression"):
        configured_patterns(bad)
    with pytest.raises(ConfigError, match="unknown key 'patern.x'"):
        configured_patterns(Settings(path=tmp_path / "c.conf", sections={"redact": {"patern.x": "a"}}))


def test_detect_secrets_is_the_second_net_where_it_is_installed():
    pytest.importorskip("detect_secrets")
    token = "ghp_" + "1234567890abcdefghijklmnopqrstuvwxyzAB"
    out = Redactor(KEY).redact("/etc/icinga2/conf.d/notes.conf", f'  vars.notes = "{token}"\n').text
    assert token not in out and "[redacted: detect-secrets:" in out


def test_scope_globs_groups_excludes_and_the_size_cap(tmp_path):
    assert matches("/etc/icinga2/conf.d/a/b.conf", "/etc/icinga2/**/*.conf")
    assert matches("/etc/icinga2/b.conf", "/etc/icinga2/**/*.conf")
    assert not matches("/etc/icinga2/pki/x.key", "/etc/icinga2/**/*.conf")
    assert not matches("/etc/icinga2/a/b.conf", "/etc/icinga2/*.conf")
    settings = Settings(path=tmp_path / "c.conf", sections={"report": {
        "groups": "icinga2 mine", "files.mine": "/opt/app/*.ini", "exclude": "/etc/icinga2/conf.d/secret.conf",
        "max_file_size": "1000"}})
    scope = load_scope(settings)
    assert list(scope.groups) == ["icinga2", "mine"] and scope.max_file_size == 1000
    assert scope.group_of("/opt/app/a.ini") == "mine" and scope.group_of("/etc/icinga2/conf.d/secret.conf") is None
    assert list(load_scope(settings, switched_off=("mine",)).groups) == ["icinga2"]
    with pytest.raises(ConfigError, match="unknown file group in groups 'icinga'"):
        load_scope(Settings(path=tmp_path / "c.conf", sections={"report": {"groups": "icinga"}}))
    with pytest.raises(ConfigError, match="absolute globs"):
        load_scope(Settings(path=tmp_path / "c.conf", sections={"report": {"files.x": "relative/*.conf"}}))
    assert Scope(groups={"g": ("/a/*",)}).group_of("/b/c") is None


def test_a_file_over_the_cap_or_not_text_is_listed_never_sent(tmp_path):
    from tkalert.sender.report.manifest import observe

    (tmp_path / "big.conf").write_text("x" * 2000)
    (tmp_path / "bin.conf").write_bytes(b"\x00\x01\xff")
    scope = Scope(groups={"g": (f"{tmp_path}/*.conf",)}, max_file_size=1000)
    big = observe(str(tmp_path / "big.conf"), "g", scope, Redactor(KEY, second_net=False))
    assert (big.kind, big.text, big.sha256) == ("too-large", None, None) and "over max_file_size" in big.note
    binary = observe(str(tmp_path / "bin.conf"), "g", scope, Redactor(KEY, second_net=False))
    assert binary.kind == "binary" and binary.text is None and len(binary.sha256) == 64


@pytest.mark.parametrize("old, new", [
    ("a\nb\nc\n", "a\nB\nc\n"),
    ("a\nb\nc", "a\nb\nc\nd"),
    ("a\nb\nc\n", "a\nb\nc"),
    ("", "first\n"),
    ("only\n", ""),
    ("x\r\ny\r\n\f\n", "x\r\nY\r\n\f\n"),
    ("\n".join(str(n) for n in range(100)) + "\n", "\n".join(str(n) for n in range(100) if n % 17) + "\nend"),
])
def test_a_diff_rebuilds_the_new_text_with_our_apply_and_with_gnu_patch(tmp_path, old, new):
    diff = unified_diff(old, new, "/etc/x.conf")
    assert apply_diff(old, diff) == new
    target = tmp_path / "x.conf"
    target.write_bytes(old.encode())
    done = subprocess.run(["patch", "-s", "-p0", str(target)], input=diff.encode(), capture_output=True, check=False)
    if done.returncode == 127 or b"not found" in done.stderr:
        pytest.skip("no GNU patch")
    assert target.read_bytes() == new.encode(), done.stderr


def test_a_diff_for_another_base_is_refused():
    with pytest.raises(ValueError, match="does not apply"):
        apply_diff("a\nX\nc\n", unified_diff("a\nb\nc\n", "a\nB\nc\n", "/x"))


def test_the_heartbeat_and_alert_hook_never_import_the_report():
    code = ("import sys, tkalert.cli.send, tkalert.sender.pipeline, tkalert.cli; "
            "print(sorted(m for m in sys.modules if m.startswith(('tkalert.sender.report', 'tkalert.document.report',"
            " 'tkalert.sender.health', 'detect_secrets'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_a_line_with_a_rule_and_a_known_secret_loses_both_and_tags_are_never_rewritten():
    out = redacted("/etc/icinga2/a.conf", 'object ApiUser "x" { password = "pw" }; vars.k = "AUTH-4711"\n',
                   known=("AUTH-4711", "icinga2"), patterns={"hex": re.compile(r"[0-9a-f]{8}")})
    assert "AUTH-4711" not in out and '"pw"' not in out
    assert [m.group(1) for m in TAG.finditer(out)] == ["icinga2-password", "tkalert-secret"]
