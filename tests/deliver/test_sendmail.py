"""Sendmail transport against a stand-in program that behaves like sendmail(8): reads the mail, exits sysexits."""

from __future__ import annotations

import email
import stat

import pytest

from tkalert.sender.deliver import open_transport


@pytest.fixture
def fake_sendmail(tmp_path):
    """A sendmail that saves argv and the mail, then exits with the code in ./exit-code (default 0)."""
    program = tmp_path / "sendmail"
    program.write_text(
        "#!/bin/sh\n"
        f'dir="{tmp_path}"\n'
        'n=$(ls "$dir"/mail-* 2>/dev/null | wc -l)\n'
        'printf "%s\\n" "$@" > "$dir/argv-$n"\n'
        'cat > "$dir/mail-$n"\n'
        'code=$(cat "$dir/exit-code" 2>/dev/null || echo 0)\n'
        '[ "$code" = 0 ] || echo "sendmail: simulated failure" >&2\n'
        'exit "$code"\n'
    )
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def transport(settings_with, command, **options):
    settings = settings_with(("mta", "sendmail", {"command": str(command), "mail_to": "support@vendor.example",
                                                  "mail_from": "tkalert@customer.example", **options}))
    return open_transport(settings.destinations[0], settings)


def test_each_message_is_piped_to_the_program(settings_with, sealed, fake_sendmail):
    outcomes = transport(settings_with, fake_sendmail).deliver([sealed(1), sealed(2)])
    assert [o.delivered for o in outcomes] == [True, True]
    argv = (fake_sendmail.parent / "argv-0").read_text().split()
    assert argv == ["-i", "-f", "tkalert@customer.example", "--", "support@vendor.example"]
    mail = email.message_from_bytes((fake_sendmail.parent / "mail-1").read_bytes())
    assert mail["X-Tkalert-Message-Id"] == sealed(2).message_id


@pytest.mark.parametrize("code, permanent", [(75, False), (69, False), (67, True), (78, True)])
def test_exit_status_decides_temporary_or_permanent(settings_with, sealed, fake_sendmail, code, permanent):
    (fake_sendmail.parent / "exit-code").write_text(str(code))
    [outcome] = transport(settings_with, fake_sendmail).deliver([sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, permanent)
    assert f"exited with {code}: sendmail: simulated failure" in outcome.error


def test_missing_program_is_permanent_and_probe_says_so(settings_with, sealed, tmp_path):
    missing = transport(settings_with, tmp_path / "no-such-sendmail")
    [outcome] = missing.deliver([sealed()])
    assert (outcome.delivered, outcome.permanent) == (False, True)
    [step] = missing.probe()
    assert (step.name, step.ok) == ("command", False)
    assert "install an MTA" in step.fix


def test_probe_runs_nothing(settings_with, fake_sendmail):
    [step] = transport(settings_with, fake_sendmail).probe()
    assert step.ok
    assert not list(fake_sendmail.parent.glob("mail-*"))


def test_mail_goes_to_the_program_with_local_line_ends(settings_with, sealed, fake_sendmail):
    transport(settings_with, fake_sendmail).deliver([sealed()])
    assert b"\r\n" not in (fake_sendmail.parent / "mail-0").read_bytes()
