"""``quantify``: the protocol on a PET DICOM series and a points file, with every output written."""

from __future__ import annotations

import sys

from .options import add_protocol_options, add_suv_options, protocol_parameters, suv_overrides
from .quiet import terminal_line

EXIT_PARTIAL = 3


def print_study(study, units: str, file=sys.stdout) -> None:
    """The results table as the terminal shows it."""
    from ..outputs.results import study_rows

    def f(v, fmt="{:.2f}"):
        return "" if v is None else fmt.format(v)

    rows = study_rows(study)
    print(f"{'Site':<26}{'SUVmax':>8}{'SUVmean':>9}{'SUVpeak':>9}{'Vol mL':>9}{'Value':>8}  Status", file=file)
    for row in rows:
        print(f"{row['title']:<26}{f(row['suv_max']):>8}{f(row['suv_mean']):>9}{f(row['suv_peak']):>9}"
              f"{f(row['volume_ml']):>9}{f(row['value']):>8}  {row['status']}", file=file)
    print(f"SUV units {units}; {rows[0]['method']}", file=file)


def report_problems(study, doc: dict | None = None) -> int:
    """Warnings and per-site errors on stderr; the exit code (3 when a site could not be measured).

    With ``doc`` (the ``study.json`` content) its warnings are printed (they include skipped points). When no site
    at all could be measured, one line says so with the likely common causes (the SUV scale, the points'
    coordinates) instead of one consequence per site.
    """
    for w in (doc["warnings"] if doc is not None else study.warnings):
        print(f"warning: {terminal_line(w)}", file=sys.stderr)
    if not study.errors:
        return 0
    measured = study.lesion is not None or study.blood_pool is not None or study.marrow
    if measured or len(study.errors) < 2:
        for site, message in study.errors.items():
            print(f"error: {site}: {terminal_line(message)}", file=sys.stderr)
        return EXIT_PARTIAL
    site, message = next(iter(study.errors.items()))
    scale = terminal_line(_scale_inputs(doc))
    print(f"error: none of the {len(study.errors)} sites could be measured (first, {site}: {terminal_line(message)}); "
          f"if the points lie in the body, check {scale} and the points' coordinate system; every site's reason is "
          "in study.json", file=sys.stderr)
    return EXIT_PARTIAL


def _scale_inputs(doc: dict | None) -> str:
    """``"the SUV scale (factor 1.2e-08 from weight_kg 0.001, dose_bq 1.5e+08)"`` from the audit in ``doc``."""
    audit = (doc or {}).get("suv") or {}
    inputs = audit.get("inputs") or {}
    used = []
    for key in ("weight_kg", "height_m", "dose_bq", "units"):
        entry = inputs.get(key)
        value = entry.get("value") if isinstance(entry, dict) else entry
        if value is not None:
            used.append(f"{key} {value:g}" if isinstance(value, (int, float)) else f"{key} {value}")
    factor = audit.get("factor")
    scale = f"factor {factor:.3g}" if isinstance(factor, (int, float)) else "factors"
    return f"the SUV scale ({scale} from {', '.join(used)})" if used else "the SUV scale"


def cmd_quantify(args) -> int:
    from ..scene.quantify import quantify

    study, doc, paths = quantify(args.dicom_dir, args.points, args.out, protocol_parameters(args),
                                 normalization=args.suv, overrides=suv_overrides(args), series_uid=args.series_uid,
                                 figure=not args.no_figure, dicom_out=args.dicom_out, reader_name=args.reader_name)
    print_study(study, doc["units"])
    for path in paths.values():
        print(f"wrote {path}")
    for w in (doc.get("suv") or {}).get("warnings", []):  # SUV warnings (e.g. values accepted with a reason)
        print(f"warning: SUV: {w}", file=sys.stderr)
    return report_problems(study, doc)


def register(sub) -> None:
    p = sub.add_parser("quantify", help="run the protocol on a PET series and a points file")
    p.add_argument("dicom_dir")
    p.add_argument("--points", required=True,
                   help="Slicer markups file (.mrk.json) or CSV label,r,a,s; labels: lesion, aorta, C7, T12, L5, "
                        "right_ilium, left_ilium")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-figure", action="store_true", help="skip the PNG picture")
    p.add_argument("--dicom-out", metavar="DIR",
                   help="also write the VOIs as DICOM SEG and the numbers as DICOM SR TID 1500 into DIR (seg.dcm, "
                        "sr.dcm, and rwvm.dcm, the SUV mapping; needs the 'dicom' extra: highdicom)")
    p.add_argument("--reader-name", metavar="NAME",
                   help="the reader who placed the points, as a DICOM person name (Family^Given): the SR's person "
                        "observer and the SEG's content creator")
    add_suv_options(p)
    add_protocol_options(p)
    p.set_defaults(func=cmd_quantify)
