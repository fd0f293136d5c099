"""``python -m regionpaint``: the command line (what the ``regionpaint`` console script runs)."""

import sys

from regionpaint.app.cli import main

sys.exit(main())
