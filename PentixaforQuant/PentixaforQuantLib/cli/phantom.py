"""``phantom``: write the synthetic Pentixafor reference phantom as a PET DICOM series."""

from __future__ import annotations

from pathlib import Path

from ..measure.parameter_ranges import ValueRange
from .options import annotate_ranges, check_ranges

#: Option ranges: spacing below 1 mm would need several GB; a PSF or noise beyond these is no PET scanner.
PHANTOM_RANGES = {
    "spacing_mm": ValueRange(1.0, 10.0, "mm", "voxel spacing"),
    "fwhm_mm": ValueRange(0.0, 20.0, "mm", "PSF FWHM, 0 = unblurred"),
    "noise": ValueRange(0.0, 1.0, "", "relative SD of the noise"),
    "seed": ValueRange(0, 2**32 - 1, "", "noise seed"),
}


def cmd_phantom(args) -> int:
    from ..outputs.points import write_markups_json
    from ..phantom import PhantomOptions, make_phantom, write_phantom

    check_ranges(args, PHANTOM_RANGES)
    options = PhantomOptions(radionuclide=args.radionuclide, spacing_mm=tuple(args.spacing_mm), fwhm_mm=args.fwhm_mm,
                             noise=args.noise, seed=args.seed)
    phantom = make_phantom(options)
    out = write_phantom(phantom, args.out_dir)
    write_markups_json(phantom.truth.seed_points, Path(out) / "points.mrk.json")
    print(f"wrote {out}: dicom/ ({phantom.grid.shape_kji[0]} slices), truth.json, points.mrk.json")
    return 0


def register(sub) -> None:
    p = sub.add_parser("phantom", help="write the synthetic Pentixafor reference phantom as PET DICOM")
    p.add_argument("out_dir")
    p.add_argument("--radionuclide", default="Ga-68", choices=["Ga-68", "F-18"])
    p.add_argument("--spacing-mm", type=float, nargs=3, default=[4.0, 4.0, 4.0], metavar=("I", "J", "K"))
    p.add_argument("--fwhm-mm", type=float, default=0.0, help="Gaussian PSF FWHM (0 = unblurred)")
    p.add_argument("--noise", type=float, default=0.0, help="relative SD of multiplicative noise")
    p.add_argument("--seed", type=int, default=0)
    annotate_ranges(p, PHANTOM_RANGES)
    p.set_defaults(func=cmd_phantom)
