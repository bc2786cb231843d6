"""man/tkalert-receiver.8 stays in step with the command line and receiver.conf's keys."""

from __future__ import annotations

import re
from pathlib import Path

from tkalert.receiver.config import KNOWN

MAN = Path(__file__).resolve().parents[2] / "man" / "tkalert-receiver.8"


def section(name: str) -> str:
    return MAN.read_text(encoding="utf-8").replace("\\-", "-").split(f".SH {name}", 1)[1].split(".SH ", 1)[0]


def test_every_command_and_subcommand_is_documented():
    import click

    from tkalert.receiver.cli.group import COMMANDS, LazyGroup

    text = section("COMMANDS")
    assert set(re.findall(r"^\.B (\w+)", text, re.M)) == set(COMMANDS)
    group = LazyGroup()
    for name in COMMANDS:
        command = group.get_command(None, name)
        if isinstance(command, click.Group):
            for sub in command.commands:
                assert re.search(rf"\\fB{sub}\\fR", text), f"{name} {sub}"
        for param in command.params:
            for option in param.opts:
                if option.startswith("--"):
                    assert option in text, f"{name} {option}"


def test_every_config_key_is_documented():
    text = section("CONFIGURATION")
    documented = set(re.findall(r"^\.BR? (\w+)", text, re.M)) | set(re.findall(r'^\.BR \w+ ", " (\w+)', text, re.M))
    assert documented == set(KNOWN)


def test_every_global_option_is_documented():
    from tkalert.receiver.cli.group import receiver

    text = section("OPTIONS")
    for param in receiver.params:
        for option in param.opts:
            assert option in text, option
