"""``python -m conslaw_flint.apps``: the command line."""

import sys

from .cli import main

sys.exit(main())
