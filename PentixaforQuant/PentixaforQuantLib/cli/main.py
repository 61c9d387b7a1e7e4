"""Command line: ``pentixafor-quant`` (also ``python -m PentixaforQuantLib``).

Sub-commands: ``suv`` (print the SUV audit of a DICOM series), ``convert`` (write the SUV volume), ``phantom``
(write the synthetic reference phantom), ``quantify`` (the protocol on a series and a points file), ``demo``
(phantom + quantify + picture), ``bench`` (speed against the whole-volume baseline) and ``web`` (the reading
station in a browser). Each command lives in
its own module of this package with a ``register(subparsers)`` function; a new command is one more module here
and one more entry in ``COMMANDS``.

Exit codes: 0 success; 2 the input was refused (one line on stderr says why); 3 results were written but at
least one site could not be measured (listed on stderr).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import PentixaforQuantError
from . import bench, demo, phantom, quantify, suv, web

EXIT_REFUSED = 2

#: Command modules, in the order ``--help`` lists them.
COMMANDS = (suv, phantom, quantify, demo, bench, web)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="pentixafor-quant", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PentixaforQuantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except ValueError as exc:  # invalid parameter values (e.g. a negative radius)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
