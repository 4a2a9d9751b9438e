"""``python -m polyregion.bench [--only NAME ...] [--no-scipy] [--json PATH]``: the quick
suite (see :mod:`polyregion.bench.quick`)."""

import sys

from .quick import main

if __name__ == "__main__":
    sys.exit(main())
