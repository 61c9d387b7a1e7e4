"""Patient inputs of the SUV conversion: weight, height and sex, and the normalising quantity of an SUV type.

The body-size formulas themselves (LBM, BSA, IBW) are in :mod:`.body_size`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


def _replaces_scanner_value(ctx: SeriesInputs, what: str, override, header, tag: str, field: str) -> None:
    """Refuse an override of a value the scanner already applied to stored SUV (Units GML, CM2ML, Philips SUV).

    An override standing in for a missing header value is accepted (the scanner's value is unknown).
    """
    why = ctx.scanner_applied.get(what)
    if why and header is not None and override != header:
        shown = f"{header:g}" if isinstance(header, float) else str(header)
        raise SUVError(f"the {what} override cannot apply: {why} with {tag} {shown}; remove the override",
                       field=field)


@dataclass(frozen=True)
class _BodyMeasure:
    """How one body measure is read: its header attribute, unit, plausible range and the other unit it is
    sometimes written in (read as that unit above ``alt_above``)."""

    name: str  # "weight" / "height"
    keyword: str
    unit: str
    bounds: tuple[float, float]
    alt_above: float
    alt_divisor: float
    alt_name: str
    override_hints: tuple[tuple[float, str, str], ...]
    header_hints: tuple[tuple[float, str, str], ...]


_WEIGHT = _BodyMeasure("weight", "PatientWeight", "kg", WEIGHT_RANGE_KG, WEIGHT_GRAMS_ABOVE, 1000.0, "grams",
                       override_hints=((1e-3, "in grams", "kg"),), header_hints=())
_HEIGHT = _BodyMeasure("height", "PatientSize", "m", HEIGHT_RANGE_M, HEIGHT_CM_ABOVE, 100.0, "centimetres",
                       override_hints=((1e-2, "in centimetres", "m"), (1e-3, "in millimetres", "m")),
                       header_hints=((1e-3, "in millimetres", "m"),))


def _body_measure(ctx: SeriesInputs, spec: _BodyMeasure, override) -> float:
    """The override, else the header value (converted from ``spec.alt_name`` above ``spec.alt_above``), checked
    against the plausible range and recorded with its source."""
    if spec.name in ctx.cache:
        return ctx.cache[spec.name]
    header = ctx.header_or_none(lambda: ctx.series_number(spec.keyword), override)
    lo, hi = spec.bounds
    unit, tag = spec.unit, tag_label(spec.keyword)
    field = f"{spec.name}_{unit}"  # the SUVOverrides field: weight_kg, height_m
    if override is not None:
        value = _positive_number(override, spec.name, unit, field)
        if not lo <= value <= hi:
            hint = unit_hint(value, _in(spec.bounds), spec.override_hints)
            ctx.implausible(f"the {spec.name} override {value:g} {unit} is outside {lo:g}-{hi:g} {unit}{hint}",
                            field=field)
        header_value = None if not header else (header / spec.alt_divisor if header > spec.alt_above else header)
        _replaces_scanner_value(ctx, spec.name, value, header_value, tag, field)
        ctx.record(f"{spec.name}_{unit}", value, "user override")
        if header:
            ctx.note(f"{spec.name} {value:g} {unit} from user override replaces {tag} {header:g}")
    else:
        if header is None or header == 0:
            raise SUVError(
                f"patient {spec.name} missing: {tag} is {'absent or empty' if header is None else '0'}; give the "
                f"{spec.name} as an override", field=field,
            )
        if header < 0:
            raise SUVError(f"{tag} is negative ({header:g})", field=field)
        value, source, converted = header, tag, header > spec.alt_above
        if converted:
            value = header / spec.alt_divisor
            ctx.note(f"{tag} {header:g} is above {spec.alt_above:g}, so it is read as {spec.alt_name}: "
                     f"{value:g} {unit}")
            source += f" ({spec.alt_name} converted to {unit})"
        if not lo <= value <= hi:
            hint = unit_hint(header, _in(spec.bounds), spec.header_hints)
            read_as = f" (read as {spec.alt_name})" if converted else ""
            ctx.implausible(f"{tag} {header:g} is implausible: {value:g} {unit}{read_as} is outside "
                            f"{lo:g}-{hi:g} {unit}{hint}", field=field)
        ctx.record(f"{spec.name}_{unit}", value, source)
    ctx.cache[spec.name] = value
    return value


def weight_kg(ctx: SeriesInputs) -> float:
    """Patient weight (kg): the override, else PatientWeight (0010,1030) (above 1000 read as grams)."""
    return _body_measure(ctx, _WEIGHT, ctx.ov.weight_kg)


def height_m(ctx: SeriesInputs) -> float:
    """Patient height (m): the override, else PatientSize (0010,1020) (above 3 read as centimetres)."""
    return _body_measure(ctx, _HEIGHT, ctx.ov.height_m)


def _positive_number(value, what: str, unit: str, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SUVError(f"the {what} override must be a number of {unit}; got {value!r}", field=field) from None
    if not (math.isfinite(number) and number > 0):
        raise SUVError(f"the {what} override must be a positive number of {unit}; got {value!r}", field=field)
    return number


def sex(ctx: SeriesInputs) -> str:
    if "sex" in ctx.cache:
        return ctx.cache["sex"]
    header = ctx.header_or_none(lambda: ctx.series_string("PatientSex"), ctx.ov.sex)
    if ctx.ov.sex is not None:
        s = str(ctx.ov.sex).strip().upper()
        if s not in body_size.SEXES:
            raise SUVError(f"sex override must be M, F or O; got {ctx.ov.sex!r}", field="sex")
        if header in body_size.SEXES:
            _replaces_scanner_value(ctx, "sex", s, header, tag_label("PatientSex"), "sex")
        ctx.record("sex", s, "user override")
    else:
        if header not in body_size.SEXES:
            raise SUVError(
                f"{tag_label('PatientSex')} is {'absent or empty' if header is None else repr(header)}; this "
                "normalisation needs M, F or O (give the sex as an override)", field="sex",
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
