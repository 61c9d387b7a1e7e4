"""``quantify``: the protocol on a PET DICOM series and a points file, with every output written."""

from __future__ import annotations

import sys

from .options import add_protocol_options, add_suv_options, protocol_parameters, suv_overrides

EXIT_PARTIAL = 3


def print_study(study, units: str, file=sys.stdout) -> None:
    """The results table as the terminal shows it."""
    from ..outputs.results import study_rows

    def f(v, fmt="{:.2f}"):
        return "" if v is None else fmt.format(v)

    print(f"{'Site':<26}{'SUVmax':>8}{'SUVmean':>9}{'SUVpeak':>9}{'Vol mL':>9}{'Value':>8}  Status", file=file)
    for row in study_rows(study):
        print(f"{row['title']:<26}{f(row['suv_max']):>8}{f(row['suv_mean']):>9}{f(row['suv_peak']):>9}"
              f"{f(row['volume_ml']):>9}{f(row['value']):>8}  {row['status']}", file=file)
    print(f"SUV units {units}; {study_rows(study)[0]['method']}", file=file)


def report_problems(study) -> int:
    """Warnings and per-site errors on stderr; the exit code (3 when a site could not be measured)."""
    for w in study.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for site, message in study.errors.items():
        print(f"error: {site}: {message}", file=sys.stderr)
    return EXIT_PARTIAL if study.errors else 0


def cmd_quantify(args) -> int:
    from ..scene.quantify import quantify

    study, doc, paths = quantify(args.dicom_dir, args.points, args.out, protocol_parameters(args),
                                 normalization=args.suv, overrides=suv_overrides(args), series_uid=args.series_uid,
                                 figure=not args.no_figure)
    print_study(study, doc["units"])
    for path in paths.values():
        print(f"wrote {path}")
    for w in (doc.get("suv") or {}).get("warnings", []):  # SUV warnings (e.g. values accepted with a reason)
        print(f"warning: SUV: {w}", file=sys.stderr)
    return report_problems(study)


def register(sub) -> None:
    p = sub.add_parser("quantify", help="run the protocol on a PET series and a points file")
    p.add_argument("dicom_dir")
    p.add_argument("--points", required=True,
                   help="Slicer markups file (.mrk.json) or CSV label,r,a,s; labels: lesion, aorta, C7, T12, L5, "
                        "right_ilium, left_ilium")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-figure", action="store_true", help="skip the PNG picture")
    add_suv_options(p)
    add_protocol_options(p)
    p.set_defaults(func=cmd_quantify)
