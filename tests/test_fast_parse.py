"""The hook's fast argv parser agrees with the click command on every argv it accepts itself."""

from __future__ import annotations

import click
from hypothesis import given, settings
from hypothesis import strategies as st

from tkalert.cli.options import BY_NAME, OPTIONS, fast_parse
from tkalert.cli.send import click_command

NAMES = sorted(BY_NAME)
value = st.one_of(st.text(max_size=20), st.sampled_from(["", "-", "--check", "-x", "a=b", "=", "--type=host"]))
token = st.one_of(
    st.builds(lambda n, v: f"{n}={v}", st.sampled_from(NAMES), value),
    st.sampled_from(NAMES),
    value,
)


def click_parse(args: list[str]) -> dict | None:
    try:
        return click_command().main(args=args, prog_name="tkalert", standalone_mode=False)
    except (click.UsageError, click.exceptions.Exit):
        return None


@settings(max_examples=500, deadline=None)
@given(args=st.lists(token, max_size=8))
def test_fast_parser_agrees_with_click(args):
    fast = fast_parse(args)  # both read the process environment, as in real use
    if fast is None:
        return
    assert fast == click_parse(args), args


def test_everyday_lines_take_the_fast_path():
    line = ["--type=service", "--host", "web01", "--service=HTTP", "--service-status=CRITICAL", "--check",
            "--output=a=b --x", "--dump", "/tmp/x.xml"]
    parsed = fast_parse(line, env={})
    assert parsed["host"] == "web01" and parsed["output"] == "a=b --x" and parsed["dump"] == "/tmp/x.xml"
    assert parsed["check"] is True and parsed["verbose"] is False


def test_environment_fills_what_argv_left_out():
    parsed = fast_parse(["--type=heartbeat"], env={"TKALERT_AUTH_KEY": "K", "TKALERT_CONFIG": "/c"})
    assert parsed["auth_key"] == "K" and parsed["config"] == "/c"
    assert fast_parse(["--auth-key=A"], env={"TKALERT_AUTH_KEY": "K"})["auth_key"] == "A"


def test_unusual_argv_goes_to_click():
    for args in (["--help"], ["--version"], ["--check=1"], ["--bogus"], ["positional"], ["--host"], ["--host", "-x"]):
        assert fast_parse(args, env={}) is None


def test_every_option_in_the_table_is_a_click_option():
    names = {n for p in click_command().params for n in p.opts + p.secondary_opts}
    assert {n for o in OPTIONS for n in o.names} | {"--version"} == names


def test_every_event_field_is_set_by_the_option_its_errors_name():
    from tkalert.cli.options import OPTIONS
    from tkalert.document.event import Event, option_of

    names = {option.dest: option.names for option in OPTIONS}
    for field in Event.given_fields():
        assert option_of(field) in names[field], field
