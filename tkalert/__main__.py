"""`python -m tkalert`: the same as the `tkalert` command (tkalert.cli.run: main, flush, os._exit)."""

from tkalert.cli import run

run()
