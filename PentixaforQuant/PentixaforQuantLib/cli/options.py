"""Options shared by several commands: the SUV inputs and the protocol parameters."""

from __future__ import annotations

import argparse
from datetime import datetime


def add_suv_options(p: argparse.ArgumentParser) -> None:
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


def suv_overrides(args):
    from ..suv.conversion import SUVOverrides

    return SUVOverrides(
        weight_kg=args.weight_kg, height_m=args.height_m, sex=args.sex,
        dose_bq=None if args.dose_mbq is None else args.dose_mbq * 1e6,
        injection_datetime=args.injection_time, scan_datetime=args.scan_time, half_life_s=args.half_life_s,
    )


def add_protocol_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("protocol (defaults: SPEC §2-4)")
    g.add_argument("--threshold", type=float, default=40.0,
                   help="isocontour threshold in %% of SUVmax (default 40; 41, 50 ...)")
    g.add_argument("--a50", action="store_true",
                   help="background-adjusted isocontour: BG + threshold x (SUVmax - BG) (use with --threshold 50)")
    g.add_argument("--background-suv", type=float, help="background SUV for --a50 (default: measured around the VOI)")
    g.add_argument("--connectivity", type=int, default=6, choices=[6, 18, 26])
    g.add_argument("--search-radius-mm", type=float, default=10.0, help="peak search radius around the lesion point")
    g.add_argument("--max-volume-ml", type=float, default=1000.0, help="lesion VOI size limit (leak guard)")
    g.add_argument("--no-split-at-saddle", action="store_true",
                   help="keep structures the isocontour joins to the lesion in its VOI (flagged) instead of splitting "
                        "them off at the saddle")
    g.add_argument("--peak", default="global", choices=["global", "local"], help="SUVpeak centring")
    g.add_argument("--peak-radius-mm", type=float, default=6.2035, help="SUVpeak sphere radius (6.2035 = 1 mL)")
    g.add_argument("--blood-pool-diameter-mm", type=float, default=15.0)
    g.add_argument("--marrow-diameter-mm", type=float, default=15.0)
    g.add_argument("--tbr-numerator", default="suv_max", choices=["suv_max", "suv_peak", "suv_mean"])


def protocol_parameters(args):
    from ..measure.protocol import ProtocolParameters
    from ..measure.isocontour import IsocontourParameters

    fraction = args.threshold / 100.0
    iso = IsocontourParameters(
        threshold_fraction=fraction, method="a50" if args.a50 else "fixed", connectivity=args.connectivity,
        search_radius_mm=args.search_radius_mm, max_volume_ml=args.max_volume_ml, background_suv=args.background_suv,
        split_at_saddle=not args.no_split_at_saddle,
    )
    return ProtocolParameters(
        isocontour=iso, peak_variant=args.peak, peak_radius_mm=args.peak_radius_mm,
        blood_pool_diameter_mm=args.blood_pool_diameter_mm, marrow_diameter_mm=args.marrow_diameter_mm,
        tbr_numerator=args.tbr_numerator,
    )
