"""Command line: ``pentixafor-quant`` (also ``python -m PentixaforQuantLib``).

Sub-commands: ``suv`` (print the SUV audit of a DICOM series), ``convert`` (write the SUV volume), ``phantom``
(write the synthetic reference phantom), ``quantify`` (the protocol on a series and a points file), ``demo``
(phantom + quantify + picture) and ``bench`` (speed against the whole-volume baseline).

Exit codes: 0 success; 2 the input was refused (one line on stderr says why); 3 results were written but at
least one site could not be measured (listed on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from .errors import PentixaforQuantError

EXIT_REFUSED = 2
EXIT_PARTIAL = 3


# ------------------------------------------------------------------------------------------------- options
def _add_suv_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("SUV (values from the DICOM headers unless overridden)")
    g.add_argument("--suv", default="bw", choices=["bw", "lbm", "lbm-james128", "bsa", "ibw"],
                   help="normalisation: body weight (default), lean body mass (Janmahasatian; or James-128), "
                        "body surface area, ideal body weight")
    g.add_argument("--series-uid", help="SeriesInstanceUID to use when the folder holds several PET series")
    g.add_argument("--weight-kg", type=float, help="override PatientWeight")
    g.add_argument("--height-m", type=float, help="override PatientSize")
    g.add_argument("--sex", choices=["M", "F", "O"], help="override PatientSex")
    g.add_argument("--dose-mbq", type=float, help="override the injected activity (MBq)")
    g.add_argument("--injection-time", type=datetime.fromisoformat, metavar="ISO",
                   help="override the injection date-time, e.g. 2024-05-02T09:58:00")
    g.add_argument("--scan-time", type=datetime.fromisoformat, metavar="ISO", help="override the scan date-time")
    g.add_argument("--half-life-s", type=float, help="override the radionuclide half-life (s)")


def _overrides(args):
    from .suv import SUVOverrides

    return SUVOverrides(
        weight_kg=args.weight_kg, height_m=args.height_m, sex=args.sex,
        dose_bq=None if args.dose_mbq is None else args.dose_mbq * 1e6,
        injection_datetime=args.injection_time, scan_datetime=args.scan_time, half_life_s=args.half_life_s,
    )


def _add_protocol_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("protocol (defaults: SPEC §2-4)")
    g.add_argument("--threshold", type=float, default=40.0,
                   help="isocontour threshold in %% of SUVmax (default 40; 41, 50 ...)")
    g.add_argument("--a50", action="store_true",
                   help="background-adjusted isocontour: BG + threshold x (SUVmax - BG) (use with --threshold 50)")
    g.add_argument("--background-suv", type=float, help="background SUV for --a50 (default: measured around the VOI)")
    g.add_argument("--connectivity", type=int, default=6, choices=[6, 18, 26])
    g.add_argument("--search-radius-mm", type=float, default=10.0, help="peak search radius around the lesion point")
    g.add_argument("--max-volume-ml", type=float, default=1000.0, help="lesion VOI size limit (leak guard)")
    g.add_argument("--peak", default="global", choices=["global", "local"], help="SUVpeak centring")
    g.add_argument("--peak-radius-mm", type=float, default=6.2035, help="SUVpeak sphere radius (6.2035 = 1 mL)")
    g.add_argument("--blood-pool-diameter-mm", type=float, default=15.0)
    g.add_argument("--marrow-diameter-mm", type=float, default=15.0)
    g.add_argument("--tbr-numerator", default="suv_max", choices=["suv_max", "suv_peak", "suv_mean"])


def _parameters(args):
    from .protocol import ProtocolParameters
    from .voi import IsocontourParameters

    fraction = args.threshold / 100.0
    iso = IsocontourParameters(
        threshold_fraction=fraction, method="a50" if args.a50 else "fixed", connectivity=args.connectivity,
        search_radius_mm=args.search_radius_mm, max_volume_ml=args.max_volume_ml, background_suv=args.background_suv,
    )
    return ProtocolParameters(
        isocontour=iso, peak_variant=args.peak, peak_radius_mm=args.peak_radius_mm,
        blood_pool_diameter_mm=args.blood_pool_diameter_mm, marrow_diameter_mm=args.marrow_diameter_mm,
        tbr_numerator=args.tbr_numerator,
    )


# ------------------------------------------------------------------------------------------------ commands
def cmd_suv(args) -> int:
    from .dicom_series import read_pet_headers
    from .suv import compute_suv_conversion

    headers = read_pet_headers(args.dicom_dir, series_uid=args.series_uid)
    conversion = compute_suv_conversion(headers.datasets, normalization=args.suv, overrides=_overrides(args))
    if args.json:
        doc = conversion.to_dict()
        doc.setdefault("series_uid", headers.series_uid)
        doc.setdefault("notes", list(headers.notes))
        print(json.dumps(doc, indent=2, default=str))
    else:
        for note in headers.notes:
            print(note)
        print(conversion.audit)
    return 0


def cmd_convert(args) -> int:
    from .logic import StudyLogic
    from .mrml import save_node

    out = Path(args.out)
    if not out.name.lower().endswith((".nrrd", ".nii", ".nii.gz", ".mha")):
        raise PentixaforQuantError(f"output {out.name}: use .nrrd, .nii.gz, .nii or .mha")
    logic = StudyLogic()
    node = logic.load_dicom(args.dicom_dir, normalization=args.suv, overrides=_overrides(args),
                            series_uid=args.series_uid)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_node(node, out)
    print(f"wrote {out} ({node.GetAttribute('DICOM.MeasurementUnitsCodeValue')})")
    return 0


def cmd_phantom(args) -> int:
    from .dicom_writer import write_phantom
    from .phantom import PhantomOptions, make_phantom
    from .points import write_markups_json

    options = PhantomOptions(radionuclide=args.radionuclide, spacing_mm=tuple(args.spacing_mm), fwhm_mm=args.fwhm_mm,
                             noise=args.noise, seed=args.seed)
    phantom = make_phantom(options)
    out = write_phantom(phantom, args.out_dir)
    write_markups_json(phantom.truth.seed_points, Path(out) / "points.mrk.json")
    print(f"wrote {out}: dicom/ ({phantom.grid.shape_kji[0]} slices), truth.json, points.mrk.json")
    return 0


def quantify(dicom_dir, points_file, out_dir, parameters, *, normalization="bw", overrides=None, series_uid=None,
             figure: bool = True, scene=None):
    """Run the protocol on a DICOM series and a points file; write every output. Returns (study, doc, paths)."""
    from .figures import study_figure
    from .logic import StudyLogic
    from .mrml import AUDIT_ATTRIBUTE, save_node, save_scene_bundle, volume_array, volume_grid
    from .points import read_points
    from .results_io import study_rows, study_to_dict, write_rows_csv, write_study_json

    points = read_points(points_file)
    logic = StudyLogic(scene)
    pet = logic.load_dicom(dicom_dir, normalization=normalization, overrides=overrides, series_uid=series_uid)
    points_node = logic.new_points_node(points_ras=points)
    study = logic.measure(pet, points_node, parameters=parameters)
    nodes = logic.output_nodes(points_node)
    units = pet.GetAttribute("DICOM.MeasurementUnitsCodeValue")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = study_to_dict(study, suv_audit=json.loads(pet.GetAttribute(AUDIT_ATTRIBUTE)), units=units,
                        source={"dicom": str(dicom_dir), "points": str(points_file)})
    paths = {
        "study.json": write_study_json(doc, out / "study.json"),
        "sites.csv": write_rows_csv(study_rows(study, points), out / "sites.csv", units=units),
        "segmentation": save_node(nodes.segmentation, out / "vois.seg.nrrd"),
        "scene": save_scene_bundle(logic.scene, out / "study.mrb"),
    }
    if figure:
        paths["figure"] = study_figure(volume_array(pet), volume_grid(pet), study, out / "study.png",
                                       title=f"{pet.GetName()} - {units}")
    return study, doc, paths


def _print_study(study, units: str, file=sys.stdout) -> None:
    from .results_io import study_rows

    def f(v, fmt="{:.2f}"):
        return "" if v is None else fmt.format(v)

    print(f"{'Site':<26}{'SUVmax':>8}{'SUVmean':>9}{'SUVpeak':>9}{'Vol mL':>9}{'Value':>8}  Status", file=file)
    for row in study_rows(study):
        print(f"{row['title']:<26}{f(row['suv_max']):>8}{f(row['suv_mean']):>9}{f(row['suv_peak']):>9}"
              f"{f(row['volume_ml']):>9}{f(row['value']):>8}  {row['status']}", file=file)
    print(f"SUV units {units}; {study_rows(study)[0]['method']}", file=file)


def _report_problems(study) -> int:
    for w in study.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for site, message in study.errors.items():
        print(f"error: {site}: {message}", file=sys.stderr)
    return EXIT_PARTIAL if study.errors else 0


def cmd_quantify(args) -> int:
    study, doc, paths = quantify(args.dicom_dir, args.points, args.out, _parameters(args), normalization=args.suv,
                                 overrides=_overrides(args), series_uid=args.series_uid, figure=not args.no_figure)
    _print_study(study, doc["units"])
    for path in paths.values():
        print(f"wrote {path}")
    return _report_problems(study)


def cmd_demo(args) -> int:
    from .dicom_writer import write_phantom
    from .phantom import PhantomOptions, make_phantom
    from .points import write_markups_json

    out = Path(args.out)
    print("Building the synthetic Pentixafor reference phantom (Ga-68, 6 mm PSF, 5 % noise) ...")
    phantom = make_phantom(PhantomOptions(radionuclide="Ga-68", fwhm_mm=6.0, noise=0.05, seed=1))
    phantom_dir = write_phantom(phantom, out / "phantom")
    points_file = write_markups_json(phantom.truth.seed_points, Path(phantom_dir) / "points.mrk.json")
    print(f"  wrote {phantom_dir}/dicom ({phantom.grid.shape_kji[0]} slices) and {points_file.name}")
    print("Quantifying it from the DICOM files and the points ...")
    from .protocol import ProtocolParameters

    study, doc, paths = quantify(Path(phantom_dir) / "dicom", points_file, out / "results", ProtocolParameters())
    print()
    _print_study(study, doc["units"])
    print()
    truth = phantom.truth
    print("Design values of the phantom (before blur and noise):")
    for line in truth.summary_lines():
        print(f"  {line}")
    print()
    for path in paths.values():
        print(f"wrote {path}")
    return _report_problems(study)


def cmd_bench(args) -> int:
    from .bench import run_benchmark

    return run_benchmark(json_output=args.json, shape_kji=tuple(args.shape), repeats=args.repeats)


# --------------------------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="pentixafor-quant", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("suv", help="print the SUV audit of a PET DICOM series")
    p.add_argument("dicom_dir")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_suv_options(p)
    p.set_defaults(func=cmd_suv)

    p = sub.add_parser("convert", help="write the SUV volume of a PET DICOM series (.nrrd, .nii.gz)")
    p.add_argument("dicom_dir")
    p.add_argument("out")
    _add_suv_options(p)
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("phantom", help="write the synthetic Pentixafor reference phantom as PET DICOM")
    p.add_argument("out_dir")
    p.add_argument("--radionuclide", default="Ga-68", choices=["Ga-68", "F-18"])
    p.add_argument("--spacing-mm", type=float, nargs=3, default=[4.0, 4.0, 4.0], metavar=("I", "J", "K"))
    p.add_argument("--fwhm-mm", type=float, default=0.0, help="Gaussian PSF FWHM (0 = unblurred)")
    p.add_argument("--noise", type=float, default=0.0, help="relative SD of multiplicative noise")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_phantom)

    p = sub.add_parser("quantify", help="run the protocol on a PET series and a points file")
    p.add_argument("dicom_dir")
    p.add_argument("--points", required=True,
                   help="Slicer markups file (.mrk.json) or CSV label,r,a,s; labels: lesion, aorta, C7, T12, L5, "
                        "right_ilium, left_ilium")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-figure", action="store_true", help="skip the PNG picture")
    _add_suv_options(p)
    _add_protocol_options(p)
    p.set_defaults(func=cmd_quantify)

    p = sub.add_parser("demo", help="build the phantom, quantify it, print the table, write outputs and a picture")
    p.add_argument("--out", default="demo-output")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("bench", help="time a click and the protocol against the whole-volume baseline")
    p.add_argument("--json", action="store_true")
    p.add_argument("--shape", type=int, nargs=3, default=[600, 440, 440], metavar=("K", "J", "I"))
    p.add_argument("--repeats", type=int, default=3, help="repeats of the slow whole-volume baseline")
    p.set_defaults(func=cmd_bench)
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
