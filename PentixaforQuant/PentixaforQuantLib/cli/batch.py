"""``batch``: every study of a manifest through ``quantify``, then the cohort table."""

from __future__ import annotations

import re
import signal
import sys
from contextlib import contextmanager

from .options import add_normalization_option, add_protocol_options, protocol_parameters

#: A Dask scheduler address: ``PROTOCOL://HOST:PORT`` (tcp, tls, ucx, ws, wss, inproc) or ``HOST:PORT``.
_SCHEDULER_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ucx|ws|wss)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$"
                                r"|^inproc://\S+$")
#: Exit status after SIGTERM (128 + the signal number, as a shell reports it).
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop as Ctrl-C does (workers stopped, finished studies kept)."""


@contextmanager
def _sigterm_stops_the_batch():
    """While the batch runs, SIGTERM (a scheduler's or an operator's ``kill``) ends it as Ctrl-C does."""

    def handler(signum, frame):
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave the signal alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_scheduler_address(address: str | None) -> None:
    from ..errors import ParameterError

    if address is None:
        return
    match = _SCHEDULER_ADDRESS.match(address.strip())
    port = address.rsplit(":", 1)[-1]
    if not match or (port.isdigit() and not 0 < int(port) < 65536):
        raise ParameterError(f"--scheduler {address!r}: not a Dask scheduler address; write it as "
                             "tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)")


def cmd_batch(args) -> int:
    from ..cohort.batch import run_batch
    from ..cohort.manifest import read_manifest

    from ..errors import ParameterError

    if args.workers < 1:
        raise ParameterError(f"--workers {args.workers}: must be at least 1")
    check_scheduler_address(args.scheduler)
    parameters = protocol_parameters(args)
    manifest = read_manifest(args.manifest, base_parameters=parameters)  # every problem before any work
    try:
        with _sigterm_stops_the_batch():
            result = run_batch(manifest, args.out, parameters=parameters, normalization=args.suv,
                               workers=args.workers, scheduler=args.scheduler, force=args.force,
                               figure=not args.no_figure, bundle=not args.no_bundle, progress=sys.stderr)
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        print(f"\n{what}: workers stopped, finished studies are kept; run the same command again to resume",
              file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else 130
    for failure in result.failures:
        print(f"failed: {failure.study_id} (manifest line {failure.line}): {failure.error}", file=sys.stderr)
    print(f"{len(result.rows)} studies: {result.measured} measured, {result.skipped} unchanged (kept), "
          f"{result.no_uptake} without uptake (left out of the lesion statistics), {result.failed} failed")
    for path in result.paths.values():
        print(f"wrote {path}")
    return result.exit_code


def register(sub) -> None:
    p = sub.add_parser("batch", help="quantify every study of a manifest CSV and write the cohort table")
    p.add_argument("manifest", help="CSV, one row per study: study_id, dicom, points, diagnosis, group, uptake, "
                                    "activity_mbq, peptide_mass_ug (+ optional SUV and protocol columns)")
    p.add_argument("--out", required=True, help="output folder (studies/, cohort.csv, failures.csv, cohort.json)")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1: in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask distributed cluster (e.g. tcp://127.0.0.1:8786); needs the 'dask' extra")
    p.add_argument("--force", action="store_true", help="recompute studies whose outputs are complete and unchanged")
    p.add_argument("--no-figure", action="store_true", help="skip each study's PNG picture")
    p.add_argument("--no-bundle", action="store_true",
                   help="skip each study's scene bundle study.mrb (a copy of the whole PET volume)")
    add_normalization_option(p, "SUV normalisation (a manifest column 'suv' overrides it per study)")
    add_protocol_options(p)
    p.set_defaults(func=cmd_batch)
