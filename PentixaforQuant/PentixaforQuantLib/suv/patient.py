"""Patient inputs of the SUV conversion: weight, height and sex, and the normalising quantity of an SUV type.

The body-size formulas themselves (LBM, BSA, IBW) are in :mod:`.body_size`.
"""

from __future__ import annotations

import math

from . import body_size
from .dicom_values import tag_label
from .limits import HEIGHT_CM_ABOVE, HEIGHT_RANGE_M, WEIGHT_GRAMS_ABOVE, WEIGHT_RANGE_KG
from .plausibility import unit_hint
from .series_inputs import SeriesInputs
from ..errors import SUVError

__all__ = ["height_m", "normalising_amount", "sex", "weight_kg"]


def _in(bounds):
    lo, hi = bounds
    return lambda v: lo <= v <= hi


def _replaces_scanner_value(ctx: SeriesInputs, what: str, override, header, tag: str) -> None:
    """Refuse an override of a value the scanner already applied to stored SUV (Units GML, CM2ML, Philips SUV).

    An override standing in for a missing header value is accepted (the scanner's value is unknown).
    """
    why = ctx.scanner_applied.get(what)
    if why and header is not None and override != header:
        shown = f"{header:g}" if isinstance(header, float) else str(header)
        raise SUVError(f"the {what} override cannot apply: {why} with {tag} {shown}; remove the override")


def weight_kg(ctx: SeriesInputs) -> float:
    """Patient weight (kg): the override, else PatientWeight (0010,1030) (above 1000 read as grams)."""
    if "weight" in ctx.cache:
        return ctx.cache["weight"]
    header = ctx.header_or_none(lambda: ctx.series_number("PatientWeight"), ctx.ov.weight_kg)
    lo, hi = WEIGHT_RANGE_KG
    tag = tag_label("PatientWeight")
    if ctx.ov.weight_kg is not None:
        w = _positive_number(ctx.ov.weight_kg, "weight", "kg")
        if not lo <= w <= hi:
            hint = unit_hint(w, _in(WEIGHT_RANGE_KG), [(1e-3, "in grams", "kg")])
            ctx.implausible(f"the weight override {w:g} kg is outside {lo:g}-{hi:g} kg{hint}")
        header_kg = None if not header else (header / 1000.0 if header > WEIGHT_GRAMS_ABOVE else header)
        _replaces_scanner_value(ctx, "weight", w, header_kg, tag)
        ctx.record("weight_kg", w, "user override")
        if header:
            ctx.note(f"weight {w:g} kg from user override replaces {tag} {header:g}")
    else:
        if header is None or header == 0:
            raise SUVError(
                f"patient weight missing: {tag} is {'absent or empty' if header is None else '0'}; give the weight "
                "as an override"
            )
        if header < 0:
            raise SUVError(f"{tag} is negative ({header:g})")
        w = header
        source = tag
        if header > WEIGHT_GRAMS_ABOVE:
            w = header / 1000.0
            ctx.note(f"{tag} {header:g} is above {WEIGHT_GRAMS_ABOVE:g}, so it is read as grams: {w:g} kg")
            source += " (grams converted to kg)"
        if not lo <= w <= hi:
            unit = "kg" if w == header else "kg (read as grams)"
            ctx.implausible(f"{tag} {header:g} is implausible: {w:g} {unit} is outside {lo:g}-{hi:g} kg")
        ctx.record("weight_kg", w, source)
    ctx.cache["weight"] = w
    return w


def height_m(ctx: SeriesInputs) -> float:
    """Patient height (m): the override, else PatientSize (0010,1020) (above 3 read as centimetres)."""
    if "height" in ctx.cache:
        return ctx.cache["height"]
    header = ctx.header_or_none(lambda: ctx.series_number("PatientSize"), ctx.ov.height_m)
    lo, hi = HEIGHT_RANGE_M
    tag = tag_label("PatientSize")
    if ctx.ov.height_m is not None:
        h = _positive_number(ctx.ov.height_m, "height", "m")
        if not lo <= h <= hi:
            hint = unit_hint(h, _in(HEIGHT_RANGE_M), [(1e-2, "in centimetres", "m"), (1e-3, "in millimetres", "m")])
            ctx.implausible(f"the height override {h:g} m is outside {lo:g}-{hi:g} m{hint}")
        header_m = None if not header else (header / 100.0 if header > HEIGHT_CM_ABOVE else header)
        _replaces_scanner_value(ctx, "height", h, header_m, tag)
        ctx.record("height_m", h, "user override")
        if header:
            ctx.note(f"height {h:g} m from user override replaces {tag} {header:g}")
    else:
        if header is None or header == 0:
            raise SUVError(
                f"patient height missing: {tag} is {'absent or empty' if header is None else '0'}; give the height "
                "as an override"
            )
        if header < 0:
            raise SUVError(f"{tag} is negative ({header:g})")
        h = header
        source = tag
        if header > HEIGHT_CM_ABOVE:
            h = header / 100.0
            ctx.note(f"{tag} {header:g} is above {HEIGHT_CM_ABOVE:g}, so it is read as centimetres: {h:g} m")
            source += " (cm converted to m)"
        if not lo <= h <= hi:
            hint = unit_hint(header, _in(HEIGHT_RANGE_M), [(1e-3, "in millimetres", "m")])
            ctx.implausible(f"{tag} {header:g} is implausible as a height in m or cm{hint}")
        ctx.record("height_m", h, source)
    ctx.cache["height"] = h
    return h


def _positive_number(value, what: str, unit: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SUVError(f"the {what} override must be a number of {unit}; got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise SUVError(f"the {what} override must be a positive number of {unit}; got {value!r}")
    return number


def sex(ctx: SeriesInputs) -> str:
    if "sex" in ctx.cache:
        return ctx.cache["sex"]
    header = ctx.header_or_none(lambda: ctx.series_string("PatientSex"), ctx.ov.sex)
    if ctx.ov.sex is not None:
        s = str(ctx.ov.sex).strip().upper()
        if s not in body_size.SEXES:
            raise SUVError(f"sex override must be M, F or O; got {ctx.ov.sex!r}")
        if header in body_size.SEXES:
            _replaces_scanner_value(ctx, "sex", s, header, tag_label("PatientSex"))
        ctx.record("sex", s, "user override")
    else:
        if header not in body_size.SEXES:
            raise SUVError(
                f"{tag_label('PatientSex')} is {'absent or empty' if header is None else repr(header)}; this "
                "normalisation needs M, F or O (give the sex as an override)"
            )
        s = header
        ctx.record("sex", s, tag_label("PatientSex"))
    if s == "O":
        ctx.note("PatientSex O: the mean of the male and the female formula is used (IBSI-SUV convention)")
    ctx.cache["sex"] = s
    return s


def normalising_amount(ctx: SeriesInputs, suv_type: str) -> tuple[float, str]:
    """Normalising quantity for a DICOM SUVType term: (value in g or cm^2, description)."""
    key = f"amount:{suv_type}"
    if key in ctx.cache:
        return ctx.cache[key]
    if suv_type == "BW":
        out = (weight_kg(ctx) * 1000.0, "body weight")
    elif suv_type in ("LBMJAMES128", "LBM"):
        coef = 128.0 if suv_type == "LBMJAMES128" else 120.0
        kg = body_size.lbm_james_kg(weight_kg(ctx), height_m(ctx), sex(ctx), male_coefficient=coef)
        name = "lbm_james128_kg" if coef == 128 else "lbm_james120_kg"
        ctx.record(name, kg, f"James formula ({coef:g} for men) from weight, height and sex")
        out = (kg * 1000.0, f"lean body mass (James-{coef:g})")
    elif suv_type == "LBMJANMA":
        kg = body_size.lbm_janmahasatian_kg(weight_kg(ctx), height_m(ctx), sex(ctx))
        ctx.record("lbm_janma_kg", kg, "Janmahasatian formula from weight, height and sex")
        out = (kg * 1000.0, "lean body mass (Janmahasatian)")
    elif suv_type == "IBW":
        kg = body_size.ibw_kg(height_m(ctx), sex(ctx))
        ctx.record("ibw_kg", kg, "Devine formula from height and sex")
        out = (kg * 1000.0, "ideal body weight")
    elif suv_type == "BSA":
        m2 = body_size.bsa_dubois_m2(weight_kg(ctx), height_m(ctx))
        ctx.record("bsa_m2", m2, "Du Bois formula from weight and height")
        out = (m2 * 1e4, "body surface area")
    else:  # pragma: no cover - callers validate the term
        raise SUVError(f"{tag_label('SUVType')} {suv_type!r} is not supported")
    ctx.cache[key] = out
    return out
