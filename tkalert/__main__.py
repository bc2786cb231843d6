"""`python -m tkalert`: the same as the `tkalert` command."""

import sys

from tkalert.cli import main

sys.exit(main())
