"""Property: whatever bytes or text reach any option, the result is a valid document or one clean usage line."""

from __future__ import annotations

import io
import os
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tkalert.document.reader import parse_valid
from tkalert.document.text import LIMITS, TRUNCATION_MARKER
from tkalert.cli import main

OPTIONS = [
    "--type", "--auth-key", "--contact-person", "--contact-mail", "--date", "--host", "--ip", "--host-status",
    "--os", "--serial", "--service", "--service-status", "--output", "--perf", "--duration", "--component-serial",
    "--component-name", "--notification-type", "--enabled",
]
BASE = ["--type=service", "--auth-key=k", "--host=h", "--service=s", "--service-status=CRITICAL"]


@pytest.fixture(scope="module", autouse=True)
def offline_config(tmp_path_factory):
    base = tmp_path_factory.mktemp("any")
    path = base / "tkalert.conf"
    # every directory inside the test's own: a test never touches the machine's /var/spool/tkalert
    path.write_text(f"[tkalert]\nstate_dir = {base / 'state'}\nspool_dir = {base / 'spool'}\n")
    old = os.environ.get("TKALERT_CONFIG")
    os.environ["TKALERT_CONFIG"] = str(path)
    yield
    if old is None:
        del os.environ["TKALERT_CONFIG"]
    else:
        os.environ["TKALERT_CONFIG"] = old


def run_in_process(args: list[str]) -> tuple[int, bytes, str]:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="surrogateescape")
    err = io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
        sys.stdout.flush()
    return code, out.buffer.getvalue(), err.getvalue()


# argv as the kernel hands it over: any bytes but NUL, decoded the way Python decodes argv
argv_text = st.one_of(
    st.text(),
    st.binary().map(lambda b: os.fsdecode(b.replace(b"\0", b""))),
    st.sampled_from(["]]>", "<&>\"'", "\x00\x01\x1b[31m", "NOT_SET", "", "nan", "-1", "1e400", "3600.5"]),
)


def assert_valid_or_usage(code: int, out: bytes, err: str, check: bool) -> None:
    assert "Traceback" not in err
    if check:
        if code == 0 and out.startswith(b"<?xml"):  # --dump-xml=-: the document is the answer
            parse_valid(out)
            return
        assert_plugin_line(code, out)
        assert code != 2, (out, err)  # nothing here can be CRITICAL: nothing is sealed or spooled
        return
    if code == 0:
        if out == b"tkalert not enabled, exit.\n" or (out == b"" and err.startswith("tkalert: skipped: ")):
            return
        parse_valid(out)
    else:
        assert code == 2, (code, err)
        assert err.count("\n") == 1 and err.startswith("tkalert: "), err


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(option=st.sampled_from(OPTIONS), value=argv_text)
def test_any_value_of_any_option(option, value):
    code, out, err = run_in_process([*BASE, f"{option}={value}", "--dump-xml=-"])
    assert_valid_or_usage(code, out, err, check=False)


def assert_plugin_line(code: int, out: bytes) -> None:
    """TKalert 1.5's `tkalert/<version> <summary> - <STATE>|runtime=<s>s`, one line, the state's exit code."""
    states = {0: b"OK", 1: b"WARNING", 2: b"CRITICAL", 3: b"UNKNOWN"}
    assert code in states, (code, out)
    assert out.count(b"\n") == 1 and out.startswith(b"tkalert/"), out
    assert b" - " + states[code] + b"|runtime=" in out, out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(option=st.sampled_from(OPTIONS), value=argv_text)
def test_any_value_in_check_mode_is_a_plugin_line(option, value):
    code, out, err = run_in_process([*BASE, f"{option}={value}", "--dump-xml=-", "--check"])
    assert_valid_or_usage(code, out, err, check=True)


@settings(max_examples=100, deadline=None)
@given(args=st.lists(argv_text, max_size=6))
def test_arbitrary_argv_never_tracebacks(args):
    code, out, err = run_in_process([*args, "--dump-xml=-"])
    assert "Traceback" not in err
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.count("\n") == 1


def test_one_mebibyte_of_output_is_cut_with_a_marker():
    output = "x" * (1 << 20)
    code, out, _ = run_in_process([*BASE, f"--output={output}", "--dump-xml=-"])
    assert code == 0
    text = parse_valid(out).findtext("service/plugin-output")
    limit = LIMITS["plugin-output"]
    assert text == "x" * limit + TRUNCATION_MARKER.format((1 << 20) - limit)


def test_control_characters_and_cdata_end_survive():
    code, out, _ = run_in_process([*BASE, "--output=a]]>b<&>\x01\x1bc\r\nd", "--dump-xml=-"])
    assert code == 0
    assert parse_valid(out).findtext("service/plugin-output") == "a]]>b<&>\ufffd\ufffdc\r\nd"
