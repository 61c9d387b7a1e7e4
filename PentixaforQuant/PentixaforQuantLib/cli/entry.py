"""The console script ``pentixafor-quant`` (and ``python -m PentixaforQuantLib``).

Ctrl-C is recorded from the first moment, before the command line itself is imported, and an interrupted run
exits at once with 130 (:mod:`..interruption`). It exits without Python's finalisers: a library interrupted
half-way through its import (VTK) can crash while it is torn down, and the outputs are already settled (written
whole or left untouched). After a complete run, interrupts are ignored while Python exits (the outputs are in
place; an interrupt inside VTK's teardown could crash the process).
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
    # The run is over and its outputs are in place: an interrupt while Python tears the libraries down has nothing
    # left to stop, and raised inside VTK's teardown it can crash the process (exit -11, or -2 once Python has put
    # the default handler back). The exit code stays the run's.
    interruption.ignore()
    sys.exit(code)
