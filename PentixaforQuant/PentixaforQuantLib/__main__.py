"""``python -m PentixaforQuantLib``: the same command line as ``pentixafor-quant``."""

import sys

from .cli import main

sys.exit(main())
