"""`tkalert demo`: run the sender pipeline end to end on an embedded default (see tkalert.demo)."""

import click


@click.command()
def demo():
    """Send a heartbeat and an alert to an embedded SMTP server and decrypt them as the vendor would."""
    from tkalert.demo import run_demo

    return run_demo(click.echo)
