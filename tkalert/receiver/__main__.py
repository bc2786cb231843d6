"""`python -m tkalert.receiver`: the same as the `tkalert-receiver` command."""

import sys

from tkalert.receiver.cli import main

sys.exit(main())
