"""Options shared by several commands: the SUV inputs and the protocol parameters, and their up-front checks.

Every numeric option is checked before any file is read: NaN, infinity and values outside the stated range are
refused with one line naming the option, the value and the range. The protocol ranges are those of
``measure/parameter_ranges.py`` (the same table the Python API checks); the SUV overrides must be finite and
positive here, and their plausibility is checked by the SUV conversion.
"""

from __future__ import annotations

import argparse


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
    g.add_argument("--injection-time", metavar="ISO",
                   help="override the injection date-time, e.g. 2024-05-02T09:58 (a UTC offset +02:00 is honoured)")
    g.add_argument("--scan-time", metavar="ISO", help="override the scan date-time (as --injection-time)")
    g.add_argument("--half-life-s", type=float, help="override the radionuclide half-life (s)")
    g.add_argument("--accept-implausible", metavar="REASON",
                   help="accept values outside the plausibility limits (docs/suv.md), stating why they are right; "
                        "recorded as a warning in the audit")


def suv_overrides(args):
    from ..suv import SUVOverrides

    return SUVOverrides(
        weight_kg=args.weight_kg, height_m=args.height_m, sex=args.sex,
        dose_bq=None if args.dose_mbq is None else args.dose_mbq * 1e6,
        injection_datetime=args.injection_time, scan_datetime=args.scan_time, half_life_s=args.half_life_s,
        accept_implausible=args.accept_implausible,
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
    g.add_argument("--split-at-saddle", action=argparse.BooleanOptionalAction, default=False,
                   help="not the published method: keep only the clicked structure's part of the isocontour, split "
                        "from the rest at saddles (flagged); default off")
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
        split_at_saddle=args.split_at_saddle,
    )
    return ProtocolParameters(
        isocontour=iso, peak_variant=args.peak, peak_radius_mm=args.peak_radius_mm,
        blood_pool_diameter_mm=args.blood_pool_diameter_mm, marrow_diameter_mm=args.marrow_diameter_mm,
        tbr_numerator=args.tbr_numerator,
    )


# ------------------------------------------------------------------- the checks of the options, before any file is read
#: SUV override options that must be finite and positive (their plausibility is the SUV conversion's check).
_POSITIVE_SUV_OVERRIDES = ("weight_kg", "height_m", "dose_mbq", "half_life_s")


def check_positive_options(args, names) -> None:
    """Refuse an option of ``names`` (argparse ``dest``) that is given and not a finite positive number."""
    import math

    from ..errors import ParameterError

    for dest in names:
        value = getattr(args, dest, None)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ParameterError(f"--{dest.replace('_', '-')} {value:g}: must be a finite number above 0")


#: Protocol option (argparse ``dest``) -> (parameter in ``parameter_ranges.PROTOCOL_RANGES``, option units per
#: parameter unit, the option's unit).
PROTOCOL_OPTIONS = {
    "threshold": ("isocontour.threshold_fraction", 100.0, "% of SUVmax"),
    "search_radius_mm": ("isocontour.search_radius_mm", 1.0, None),
    "max_volume_ml": ("isocontour.max_volume_ml", 1.0, None),
    "background_suv": ("isocontour.background_suv", 1.0, None),
    "peak_radius_mm": ("peak_radius_mm", 1.0, None),
    "blood_pool_diameter_mm": ("blood_pool_diameter_mm", 1.0, None),
    "marrow_diameter_mm": ("marrow_diameter_mm", 1.0, None),
}


def check_protocol_options(args) -> None:
    """Refuse, naming the option and its range, a protocol option outside ``PROTOCOL_RANGES`` (NaN, inf too),
    and ``--background-suv`` without ``--a50`` (the fixed threshold has no background term)."""
    from ..errors import ParameterError
    from ..measure.parameter_ranges import check_value

    for dest, (parameter, scale, unit) in PROTOCOL_OPTIONS.items():
        value = getattr(args, dest)
        if value is not None:
            check_value(parameter, value / scale, label=f"--{dest.replace('_', '-')}", scale=scale, unit=unit)
    if args.background_suv is not None and not args.a50:
        raise ParameterError("--background-suv applies only with --a50 (the fixed threshold has no background term)")


def check_options(args) -> None:
    """Every check that applies to the parsed options of a command (``main`` calls it before the command runs)."""
    check_positive_options(args, [dest for dest in _POSITIVE_SUV_OVERRIDES if hasattr(args, dest)])
    if hasattr(args, "threshold"):
        check_protocol_options(args)


def check_ranges(args, ranges) -> None:
    """Refuse an option (argparse ``dest`` -> ``ValueRange``) that is given and outside its range; for an option
    with several values (``nargs``) each value is checked."""
    from ..errors import ParameterError

    for dest, rng in ranges.items():
        value = getattr(args, dest, None)
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v is not None and not rng.contains(v):
                raise ParameterError(f"--{dest.replace('_', '-')} {v:g}: must be {rng.describe()} ({rng.what})")


def annotate_ranges(parser: argparse.ArgumentParser, ranges=None) -> None:
    """Append each checked option's range to its ``--help`` text.

    ``ranges``: argparse ``dest`` -> ``ValueRange`` (in the option's own unit); without it the protocol options
    (:data:`PROTOCOL_OPTIONS`, shown in their own unit) are annotated.
    """
    from ..measure.parameter_ranges import PROTOCOL_RANGES

    for action in parser._actions:
        if ranges is not None and action.dest in ranges:
            text = ranges[action.dest].describe()
        elif ranges is None and action.dest in PROTOCOL_OPTIONS:
            parameter, scale, unit = PROTOCOL_OPTIONS[action.dest]
            text = PROTOCOL_RANGES[parameter].describe(scale, unit)
        else:
            continue
        text = text.replace("%", "%%")  # argparse formats help texts with %
        action.help = f"{action.help}; range: {text}" if action.help else f"range: {text}"
