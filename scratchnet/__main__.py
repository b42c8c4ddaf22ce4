"""``python -m scratchnet ...``: the same command line as the ``scratchnet`` console script."""
import sys

from .cli import main

sys.exit(main())
