"""``batch``: every study of a manifest through ``quantify``, then the cohort table."""

from __future__ import annotations

import sys

from .options import add_normalization_option, add_protocol_options, protocol_parameters


def cmd_batch(args) -> int:
    from ..cohort.batch import run_batch
    from ..cohort.manifest import read_manifest

    from ..errors import ParameterError

    if args.workers < 1:
        raise ParameterError(f"--workers {args.workers}: must be at least 1")
    parameters = protocol_parameters(args)
    manifest = read_manifest(args.manifest, base_parameters=parameters)  # every problem before any work
    try:
        result = run_batch(manifest, args.out, parameters=parameters, normalization=args.suv,
                           workers=args.workers, scheduler=args.scheduler, force=args.force,
                           figure=not args.no_figure, bundle=not args.no_bundle, progress=sys.stderr)
    except KeyboardInterrupt:
        print("\ninterrupted: finished studies are kept; run the same command again to resume", file=sys.stderr)
        return 130
    for failure in result.failures:
        print(f"failed: {failure.study_id} (manifest line {failure.line}): {failure.error}", file=sys.stderr)
    print(f"{len(result.rows)} studies: {result.measured} measured, {result.skipped} unchanged (kept), "
          f"{result.no_uptake} without uptake (counted, not measured), {result.failed} failed")
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
