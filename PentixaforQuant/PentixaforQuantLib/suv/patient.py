"""Patient inputs of the SUV conversion: weight, height and sex, and the normalising quantity of an SUV type.

The body-size formulas themselves (LBM, BSA, IBW) are in :mod:`.body_size`.
"""

from __future__ import annotations

import math

from . import body_size
from .dicom_values import tag_label
from .limits import HEIGHT_RANGE_M, WEIGHT_MAX_KG
from .series_inputs import SeriesInputs
from ..errors import SUVError

__all__ = ["height_m", "normalising_amount", "sex", "weight_kg"]


def weight_kg(ctx: SeriesInputs) -> float:
    if "weight" in ctx.cache:
        return ctx.cache["weight"]
    header = ctx.header_or_none(lambda: ctx.series_number("PatientWeight"), ctx.ov.weight_kg)
    if ctx.ov.weight_kg is not None:
        w = float(ctx.ov.weight_kg)
        if not (math.isfinite(w) and 0 < w <= WEIGHT_MAX_KG):
            raise SUVError(f"weight override must be between 0 and {WEIGHT_MAX_KG:g} kg; got {w!r}")
        ctx.record("weight_kg", w, "user override")
        if header:
            ctx.note(f"weight {w:g} kg from user override replaces {tag_label('PatientWeight')} {header:g}")
    else:
        if header is None or header == 0:
            raise SUVError(
                f"patient weight missing: {tag_label('PatientWeight')} is "
                f"{'absent or empty' if header is None else '0'}; give the weight as an override"
            )
        if header < 0:
            raise SUVError(f"{tag_label('PatientWeight')} is negative ({header:g})")
        w = header
        source = tag_label("PatientWeight")
        if header > 1000:
            w = header / 1000.0
            ctx.note(f"{tag_label('PatientWeight')} {header:g} is above 1000, so it is read as grams: {w:g} kg")
            source += " (grams converted to kg)"
        elif header > WEIGHT_MAX_KG:
            raise SUVError(
                f"{tag_label('PatientWeight')} {header:g} is implausible (above {WEIGHT_MAX_KG:g} kg, "
                "below 1000 g)"
            )
        ctx.record("weight_kg", w, source)
    ctx.cache["weight"] = w
    return w


def height_m(ctx: SeriesInputs) -> float:
    if "height" in ctx.cache:
        return ctx.cache["height"]
    header = ctx.header_or_none(lambda: ctx.series_number("PatientSize"), ctx.ov.height_m)
    lo, hi = HEIGHT_RANGE_M
    if ctx.ov.height_m is not None:
        h = float(ctx.ov.height_m)
        if not (math.isfinite(h) and lo <= h <= hi):
            raise SUVError(f"height override must be between {lo:g} and {hi:g} m; got {h!r}")
        ctx.record("height_m", h, "user override")
        if header:
            ctx.note(f"height {h:g} m from user override replaces {tag_label('PatientSize')} {header:g}")
    else:
        if header is None or header == 0:
            raise SUVError(
                f"patient height missing: {tag_label('PatientSize')} is "
                f"{'absent or empty' if header is None else '0'}; give the height as an override"
            )
        h = header
        source = tag_label("PatientSize")
        if header > 3:
            h = header / 100.0
            ctx.note(f"{tag_label('PatientSize')} {header:g} is above 3, so it is read as centimetres: {h:g} m")
            source += " (cm converted to m)"
        if not lo <= h <= hi:
            raise SUVError(f"{tag_label('PatientSize')} {header:g} is implausible as a height in m or cm")
        ctx.record("height_m", h, source)
    ctx.cache["height"] = h
    return h


def sex(ctx: SeriesInputs) -> str:
    if "sex" in ctx.cache:
        return ctx.cache["sex"]
    header = ctx.header_or_none(lambda: ctx.series_string("PatientSex"), ctx.ov.sex)
    if ctx.ov.sex is not None:
        s = str(ctx.ov.sex).strip().upper()
        if s not in body_size.SEXES:
            raise SUVError(f"sex override must be M, F or O; got {ctx.ov.sex!r}")
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
