"""The console script ``pentixafor-quant`` (and ``python -m PentixaforQuantLib``).

Ctrl-C is recorded from the first moment, before the command line itself is imported, and an interrupted run
exits at once with 130 (:mod:`..interruption`). It exits without Python's finalisers: a library interrupted
half-way through its import (VTK) can crash while it is torn down, and the outputs are already settled (written
whole or left untouched).
"""

from __future__ import annotations

import os
import sys

from .. import interruption


def run() -> None:
    interruption.install()
    try:
        from .main import main

        code = main()
    except KeyboardInterrupt:  # while the command line was being imported
        print("interrupted", file=sys.stderr)
        code = interruption.exit_code()
    if interruption.interrupted():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)
