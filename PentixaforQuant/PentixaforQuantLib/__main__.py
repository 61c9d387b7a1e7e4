"""``python -m PentixaforQuantLib``: the same command line as ``pentixafor-quant``."""

from .cli.entry import run

run()
