"""`tkalert test`: print the set-up test protocol (tkalert.sender.setup_check), one PASS/FAIL line per step."""

import click


@click.command(name="test")
@click.option("--config", envvar="TKALERT_CONFIG", metavar="FILE", default=None, help="Config file.")
@click.option("--gnupg-config", metavar="FILE", default=None,
              help="TKalert 1.5 gnupg.conf (its directory is the home).")
@click.option("--send", is_flag=True, help="End with a real --type test message (sent like any other message).")
@click.option("--auth-key", metavar="KEY", default=None,
              help="Use this auth key instead of the configured one (as TKmon passes it).")
def test_setup(config, gnupg_config, send, auth_key):
    """Check the whole sending side step by step; exit 1 if any step fails."""
    from tkalert.sender.setup_check import run_checklist

    steps = run_checklist(config, gnupg_config, send, auth_key)
    width = max(len(step.name) for step in steps)
    for step in steps:
        click.echo(f"{'PASS' if step.ok else 'FAIL'}  {step.name:<{width}}  {step.detail}")
        if not step.ok and step.fix:
            click.echo(f"{'':4}  {'':<{width}}  fix: {step.fix}")
    failed = sum(not step.ok for step in steps)
    click.echo(f"{len(steps) - failed} passed, {failed} failed")
    return 1 if failed else 0
