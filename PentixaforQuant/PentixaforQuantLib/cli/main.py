"""Command line: ``pentixafor-quant`` (also ``python -m PentixaforQuantLib``).

Sub-commands: ``suv`` (print the SUV audit of a DICOM series), ``convert`` (write the SUV volume), ``phantom``
(write the synthetic reference phantom), ``quantify`` (the protocol on a series and a points file), ``demo``
(phantom + quantify + picture), ``batch`` (every study of a cohort manifest), ``stats`` (the cohort statistics and
figures), ``bench`` (speed against the whole-volume baseline) and ``web`` (the reading station in a browser). Each
command lives in
its own module of this package with a ``register(subparsers)`` function; a new command is one more module here
and one more entry in ``COMMANDS``.

Exit codes: 0 success; 1 an internal error (one line naming it; ``--verbose`` shows the traceback); 2 the input
or an option was refused (one line on stderr says why); 3 results were written but at least one site could not
be measured (listed on stderr); 130 interrupted (Ctrl-C), with no output left half-written.

Library noise (pydicom warnings, VTK/ITK logs) is kept off the terminal unless ``--verbose`` is given.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from .. import interruption
from ..errors import PentixaforQuantError
from . import batch, bench, demo, phantom, quantify, stats, suv, web
from .options import annotate_ranges, check_options
from .quiet import library_output, terminal_line

EXIT_INTERNAL = 1
EXIT_REFUSED = 2

#: Command modules, in the order ``--help`` lists them.
COMMANDS = (suv, phantom, quantify, batch, stats, demo, bench, web)


class _Parser(argparse.ArgumentParser):
    """A usage error is one line (``error: ...`` and where to find the usage), not the whole usage text."""

    def error(self, message):
        self.exit(EXIT_REFUSED, f"error: {terminal_line(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="pentixafor-quant", description="CXCR4 PET (68Ga-Pentixafor) quantification from PET "
                     "DICOM: the SUV audit, the target-lesion VOI, blood pool and TBR, the bone-marrow template.",
                     epilog="Exit codes: 0 done; 1 internal error; 2 input or option refused (one line says why); "
                            "3 results written but a site could not be measured; 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbose_help = "let library messages (pydicom, VTK, ITK) through and show tracebacks of internal errors"
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    parser.commands = sub.choices
    for subparser in sub.choices.values():  # also accepted after the command; SUPPRESS keeps the global value
        subparser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help)
        annotate_ranges(subparser)
    return parser


def main(argv=None) -> int:
    """Run one command; every outcome is an exit code and, on failure, one line on stderr.

    Ctrl-C (and SIGTERM) are recorded for the whole run (:mod:`..interruption`): an interrupt ends the run with
    130 (143 for SIGTERM) and one line, also when a library swallowed it or turned it into another error (an
    interrupted import of VTK raises ImportError), and no output is put in place after it."""
    previous = interruption.install()
    try:
        code = _main(argv)
    finally:
        interruption.restore(previous)
    return code


def _interrupted() -> int:
    print("interrupted", file=sys.stderr)
    return interruption.exit_code()


def _main(argv) -> int:
    verbose = False
    try:
        interruption.check()  # Ctrl-C while the command line itself was loading
        parser = build_parser()
        try:
            args, extra = parser.parse_known_args(argv)
            if extra:  # named by the command's own parser, so the hint points at that command's --help
                parser.commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
        except SystemExit as exc:  # --help, --version, or a usage error (already printed as one line)
            return exc.code if isinstance(exc.code, int) else EXIT_REFUSED
        verbose = args.verbose
        check_options(args)  # every numeric option against its range, before any file is read
        with library_output(quiet=not verbose):
            code = args.func(args)
        interruption.check()  # an interrupt a library swallowed: the run did not finish as asked
        return code
    except BaseException as exc:  # noqa: BLE001 - every outcome is one line and an exit code
        if isinstance(exc, KeyboardInterrupt) or interruption.interrupted():
            return _interrupted()  # any error after an interrupt is the interrupt's doing
        if isinstance(exc, SystemExit):
            raise
        return _failure(exc, verbose)


def _failure(exc: BaseException, verbose: bool) -> int:
    """One line on stderr for a refusal or an internal error; the exit code."""
    if isinstance(exc, PentixaforQuantError):
        print(f"error: {terminal_line(exc)}", file=sys.stderr)
        return EXIT_REFUSED
    if isinstance(exc, OSError):  # a file that cannot be read or written: the user can act on it
        where = getattr(exc, "filename", None)
        print(f"error: {terminal_line(exc.strerror or exc)}{f': {terminal_line(where)}' if where else ''}",
              file=sys.stderr)
        return EXIT_REFUSED
    if verbose:
        traceback.print_exc()
    if isinstance(exc, MemoryError):
        print("error: out of memory (MemoryError); run with --verbose for the traceback", file=sys.stderr)
        return EXIT_INTERNAL
    print(f"error: internal error {type(exc).__name__}: {terminal_line(exc)[:300]} "
          "(run with --verbose for the traceback)", file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":
    from .entry import run

    run()
