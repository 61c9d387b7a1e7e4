"""``python -m PentixaforQuantLib``: the same command line as ``pentixafor-quant``."""

import sys

from .cli.main import main

sys.exit(main())
