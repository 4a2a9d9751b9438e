"""``python -m polyregion``: the same as the ``polyregion`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
