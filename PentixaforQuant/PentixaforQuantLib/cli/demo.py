"""``demo``: build the phantom, quantify it from its DICOM files, print the table next to the design values."""

from __future__ import annotations

from pathlib import Path

from .quantify import print_study, report_problems


def cmd_demo(args) -> int:
    from ..measure.protocol import ProtocolParameters
    from ..outputs.points import write_markups_json
    from ..phantom import PhantomOptions, make_phantom, write_phantom
    from ..scene.quantify import quantify

    out = Path(args.out)
    print("Building the synthetic Pentixafor reference phantom (Ga-68, 6 mm PSF, 5 % noise) ...")
    phantom = make_phantom(PhantomOptions(radionuclide="Ga-68", fwhm_mm=6.0, noise=0.05, seed=1))
    phantom_dir = write_phantom(phantom, out / "phantom")
    points_file = write_markups_json(phantom.truth.seed_points, Path(phantom_dir) / "points.mrk.json")
    print(f"  wrote {phantom_dir}/dicom ({phantom.grid.shape_kji[0]} slices) and {points_file.name}")
    print("Quantifying it from the DICOM files and the points ...")
    study, doc, paths = quantify(Path(phantom_dir) / "dicom", points_file, out / "results", ProtocolParameters())
    print()
    print_study(study, doc["units"])
    print()
    print("Design values of the phantom (before blur and noise):")
    for line in phantom.truth.summary_lines():
        print(f"  {line}")
    print()
    for path in paths.values():
        print(f"wrote {path}")
    return report_problems(study, doc)


def register(sub) -> None:
    p = sub.add_parser("demo", help="build the phantom, quantify it, print the table, write outputs and a picture")
    p.add_argument("--out", default="demo-output")
    p.set_defaults(func=cmd_demo)
