"""SUV conversion factors from PET DICOM headers, with an audit of every input and decision.

The conversion follows the QIBA vendor-neutral order for SUVbw (QIBA "Standardized Uptake Value (SUV)" wiki page
and its vendor-neutral pseudo-code) with the extensions of the IBSI-SUV manual (Vacha M et al., *Comprehensive
Manual for SUV Computation and Digital Reference Objects for its Verification*, IBSI): Units BQML, CNTS (Philips
private scale factors), GML with SUVType, CM2ML and CPS; DecayCorrection START, ADMIN and NONE; the GE private
scan time; frame back-computation of the reference time; dose in MBq; weight in grams; half-life from the
radionuclide code. ``docs/suv.md`` states the rules for a physicist; this module implements them.

For each instance (image) the result holds one factor ``f`` such that ``SUV = (stored * RescaleSlope +
RescaleIntercept) * f``; the intercept must be 0. In general

    f = A * X / D_ref

with ``A`` the activity concentration in Bq/mL per modality unit (1 for BQML), ``X`` the normalising quantity
(body weight in g for SUVbw, lean body mass in g for SUVlbm, ideal body weight in g for SUVibw, body surface
area in cm^2 for SUVbsa) and ``D_ref`` the injected dose in Bq decayed to the time the image is decay-corrected
to. Images already normalised by the scanner (GML, CM2ML, Philips SUV scale factor) are converted between
normalisations by the ratio of the normalising quantities.

Normalisation names and unit strings (UCUM-style codes as in DICOM CID 85; the lean-body-mass formula is always
named, so a value can never be read with the wrong formula):

==================  ===========================  =================================================
``normalization``   ``units``                    definition
==================  ===========================  =================================================
``bw``              ``{SUVbw}g/ml``              body weight
``lbm``             ``{SUVlbm(Janma)}g/ml``      lean body mass, Janmahasatian 2005 (default LBM)
``lbm-james128``    ``{SUVlbm(James128)}g/ml``   lean body mass, James (128 for men)
``bsa``             ``{SUVbsa}cm2/ml``           body surface area, Du Bois
``ibw``             ``{SUVibw}g/ml``             ideal body weight, Devine
==================  ===========================  =================================================

Nothing is guessed: a missing or implausible input raises :class:`~PentixaforQuantLib.errors.SUVError` whose
one-line message names the attribute and its tag, unless :class:`SUVOverrides` supplies the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

import numpy as np

from . import body_size
from . import radionuclides
from .dicom_time import format_datetime, parse_da, parse_dt, parse_tm
from .dicom_values import fast_number, fast_string, get_value, number, string, strings, tag_label, text, uniform
from ..errors import DicomValueError, SUVError

__all__ = [
    "NORMALIZATIONS",
    "SUVOverrides",
    "SUVAudit",
    "SUVConversion",
    "compute_suv_conversion",
    "suv_conversion_for_suv_volume",
    "normalization_name",
]


@dataclass(frozen=True)
class _Norm:
    units: str
    suv_type: str  # DICOM SUVType (0054,1006) defined term of the same quantity
    label: str


#: Normalisation name -> units string, DICOM SUVType term and description.
NORMALIZATIONS: dict[str, _Norm] = {
    "bw": _Norm("{SUVbw}g/ml", "BW", "body weight"),
    "lbm": _Norm("{SUVlbm(Janma)}g/ml", "LBMJANMA", "lean body mass (Janmahasatian)"),
    "lbm-james128": _Norm("{SUVlbm(James128)}g/ml", "LBMJAMES128", "lean body mass (James-128)"),
    "bsa": _Norm("{SUVbsa}cm2/ml", "BSA", "body surface area (Du Bois)"),
    "ibw": _Norm("{SUVibw}g/ml", "IBW", "ideal body weight (Devine)"),
}

_NORM_ALIASES = {
    "suvbw": "bw", "body-weight": "bw", "bodyweight": "bw",
    "suvlbm": "lbm", "lbm-janma": "lbm", "lbm-janmahasatian": "lbm", "janma": "lbm", "lbmjanma": "lbm",
    "suvlbm-james128": "lbm-james128", "james128": "lbm-james128", "lbmjames128": "lbm-james128",
    "lbm-james": "lbm-james128", "suvbsa": "bsa", "suvibw": "ibw",
}

# Units strings of volumes already in SUV (e.g. written by Slicer's PET DICOM plugin) -> normalisation.
# "{SUVlbm}g/ml" does not say which LBM formula; it is accepted under the name "lbm-unspecified".
_SUV_LABELS = {n.units.lower(): name for name, n in NORMALIZATIONS.items()}
_SUV_LABELS["{suvlbm}g/ml"] = "lbm-unspecified"

# Plausibility limits (inputs outside them are refused, never silently corrected).
_WEIGHT_MAX_KG = 500.0
_HEIGHT_RANGE_M = (0.2, 2.8)
_DOSE_RANGE_BQ = (1e5, 1e11)  # 0.1 MBq .. 100 GBq
_MBQ_BELOW = 1e5  # a RadionuclideTotalDose below this is read as MBq
_MAX_DECAY_HALF_LIVES = 20.0  # decay over more than this (factor 1e-6) means a wrong date or time
_BACKCOMP_SPREAD_S = 1.0  # per-instance back-computed reference times must agree this well
_HALF_LIFE_TOL = radionuclides.HALF_LIFE_TOLERANCE


def normalization_name(normalization: str) -> str:
    """The canonical normalisation name (``bw``, ``lbm``, ``lbm-james128``, ``bsa``, ``ibw``) for a name or alias."""
    key = str(normalization).strip().lower().replace("_", "-")
    key = _NORM_ALIASES.get(key, key)
    if key not in NORMALIZATIONS:
        raise SUVError(f"unknown SUV normalization {normalization!r}; use one of {', '.join(NORMALIZATIONS)}")
    return key


@dataclass(frozen=True)
class SUVOverrides:
    """User-supplied values that replace (or stand in for missing) header attributes.

    Every field is optional. Units are in the names; no unit guessing is applied to overrides. An override
    is recorded in the audit as ``"user override"`` together with the header value it replaced, if any.
    """

    weight_kg: float | None = None
    height_m: float | None = None
    sex: str | None = None  # "M", "F" or "O"
    dose_bq: float | None = None
    injection_datetime: datetime | None = None
    scan_datetime: datetime | None = None
    half_life_s: float | None = None


@dataclass
class SUVAudit:
    """Where every input of an SUV conversion came from and which path the rules took.

    Attributes
    ----------
    inputs : dict
        ``name -> {"value": ..., "source": ...}``; the source names the DICOM attribute and tag, ``"user
        override"``, or the rule that derived the value.
    decisions : list of str
        Each decision in words, in the order taken.
    """

    normalization: str
    units: str
    source_units: str | None = None
    suv_type: str | None = None
    decay_correction: str | None = None
    scan_datetime: datetime | None = None
    injection_datetime: datetime | None = None
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    decisions: list[str] = field(default_factory=list)
    factor_summary: str = ""

    def to_dict(self) -> dict:
        """JSON-able form (date-times as ISO 8601 strings)."""
        return {
            "normalization": self.normalization,
            "units": self.units,
            "suv_type": self.suv_type,
            "source_units": self.source_units,
            "decay_correction": self.decay_correction,
            "scan_datetime": format_datetime(self.scan_datetime),
            "injection_datetime": format_datetime(self.injection_datetime),
            "inputs": {k: {"value": _jsonable(v["value"]), "source": v["source"]} for k, v in self.inputs.items()},
            "decisions": list(self.decisions),
            "factor_summary": self.factor_summary,
        }

    def __str__(self) -> str:
        lines = [
            f"SUV conversion to {self.units} ({_label(self.normalization)})"
            + (f" from Units {self.source_units}" if self.source_units else "")
            + (f", DecayCorrection {self.decay_correction}" if self.decay_correction else "")
        ]
        if self.inputs:
            lines.append("Inputs:")
            width = max(len(k) for k in self.inputs)
            for name, entry in self.inputs.items():
                value = entry["value"]
                text = format_datetime(value) if isinstance(value, datetime) else _short(value)
                lines.append(f"  {name:<{width}}  {text}  [{entry['source']}]")
        if self.decisions:
            lines.append("Decisions:")
            lines.extend(f"  - {d}" for d in self.decisions)
        if self.factor_summary:
            lines.append(f"Factor: {self.factor_summary}")
        return "\n".join(lines)


def _label(normalization: str) -> str:
    spec = NORMALIZATIONS.get(normalization)
    return spec.label if spec is not None else normalization


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _jsonable(value):
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class SUVConversion:
    """Per-instance factors from modality values (``stored * slope + intercept``) to SUV, with the audit.

    Attributes
    ----------
    factors : ndarray of float64
        One factor per instance, in the order of the datasets given to :func:`compute_suv_conversion`.
    normalization : str
        ``"bw"``, ``"lbm"`` (Janmahasatian), ``"lbm-james128"``, ``"bsa"`` or ``"ibw"`` (see the module docstring);
        :func:`suv_conversion_for_suv_volume` may also give ``"lbm-unspecified"``.
    units : str
        Units string of the result, e.g. ``"{SUVbw}g/ml"``.
    audit : SUVAudit
    sop_instance_uids : list of str
        SOPInstanceUID of each instance (empty for :func:`suv_conversion_for_suv_volume`).
    """

    factors: np.ndarray
    normalization: str
    units: str
    audit: SUVAudit
    sop_instance_uids: list[str] = field(default_factory=list)

    @property
    def factor(self) -> float | None:
        """The single factor when all instances agree (to 1e-12 relative), else None."""
        f = np.asarray(self.factors, float)
        if f.size == 0:
            return None
        if np.all(np.abs(f - f[0]) <= 1e-12 * abs(f[0])):
            return float(f[0])
        return None

    def to_dict(self) -> dict:
        """JSON-able record: ``factor`` (all instances agree) or ``factors`` ``{SOPInstanceUID: factor}``, the
        suv_type, units, decay_correction, scan and injection date-times (ISO strings), decisions and inputs."""
        out: dict[str, Any] = {}
        single = self.factor
        if single is not None:
            out["factor"] = single
        else:
            keys = self.sop_instance_uids if len(self.sop_instance_uids) == len(self.factors) else None
            out["factors"] = {
                (keys[n] if keys else str(n)): float(f) for n, f in enumerate(np.asarray(self.factors, float))
            }
        audit = self.audit.to_dict()
        out.update(
            normalization=self.normalization,
            suv_type=audit["suv_type"],
            units=self.units,
            source_units=audit["source_units"],
            decay_correction=audit["decay_correction"],
            scan_datetime=audit["scan_datetime"],
            injection_datetime=audit["injection_datetime"],
            decisions=audit["decisions"],
            inputs=audit["inputs"],
        )
        return out


# --------------------------------------------------------------------------------------------------------------
# Private (vendor) attributes; public elements are read with dicom_values


def _private_value(ds, group: int, element_low: int, creator: str, vendor_word: str, decisions: list[str]):
    """Value of a private element ``(group, xx<element_low>)`` in the block reserved by ``creator``.

    Returns ``(value, source)`` or ``(None, None)``. When the block's private creator element is absent (files
    stripped of it, or synthetic files) the conventional block 0x10 is accepted only if Manufacturer contains
    ``vendor_word``; the decision is recorded. A block reserved by another creator is never used.
    """
    tag_text = f"({group:04X},10{element_low:02X})"
    creators = {}
    lo, hi = (group << 16) | 0x10, (group << 16) | 0xFF
    for tag in [t for t in ds.keys() if lo <= t <= hi]:
        try:
            creators[tag & 0xFF] = text(ds[tag].value).upper()
        except Exception:  # noqa: BLE001
            creators[tag & 0xFF] = "?"
    matching = [b for b, name in creators.items() if name == creator.upper()]
    if matching:
        block = matching[0]
        tag = (group << 16) | (block << 8) | element_low
        if tag not in ds:
            return None, None
        return ds[tag].value, f"private ({group:04X},{block:02X}{element_low:02X}) of creator {creator!r}"
    tag = (group << 16) | 0x1000 | element_low
    if tag not in ds:
        return None, None
    if 0x10 in creators:
        decisions.append(
            f"{tag_text} ignored: its private block is reserved by {creators[0x10]!r}, not {creator!r}"
        )
        return None, None
    manufacturer = string(ds, "Manufacturer") or ""
    if vendor_word.upper() in manufacturer.upper():
        decisions.append(
            f"{tag_text} used although its private creator ({group:04X},0010) is absent, because Manufacturer "
            f"is {manufacturer!r}"
        )
        return ds[tag].value, f"private {tag_text} (no private creator; Manufacturer {manufacturer!r})"
    decisions.append(
        f"{tag_text} ignored: no private creator {creator!r} and Manufacturer {manufacturer!r} is not {vendor_word}"
    )
    return None, None


def _private_number(ds, group, element_low, creator, vendor_word, decisions) -> tuple[float | None, str | None]:
    value, source = _private_value(ds, group, element_low, creator, vendor_word, decisions)
    if value is None:
        return None, None
    shown = text(value if not (hasattr(value, "__len__") and not isinstance(value, (str, bytes))) else value[0])
    if not shown:
        return None, None
    try:
        result = float(shown)
    except ValueError:
        raise SUVError(f"{source} is not a number: {shown[:40]!r}") from None
    if not math.isfinite(result):
        raise SUVError(f"{source} is not a finite number: {shown[:40]!r}")
    return result, source


# --------------------------------------------------------------------------------------------------------------
# The conversion


_SERIES_KEYWORDS = (
    "Units", "DecayCorrection", "CorrectedImage", "SUVType", "PatientWeight", "PatientSize", "PatientSex",
    "RadiopharmaceuticalInformationSequence", "SeriesDate", "SeriesTime", "Manufacturer",
)


class _Context:
    """Reads series-level inputs once, checks they agree across instances and records them in the audit."""

    def __init__(self, datasets: Sequence, overrides: SUVOverrides, audit: SUVAudit):
        self.datasets = list(datasets)
        self.first = self.datasets[0]
        self.ov = overrides
        self.audit = audit
        self._cache: dict[str, Any] = {}
        # Decide bytewise agreement before any value is decoded (decoding replaces the undecoded bytes).
        for keyword in _SERIES_KEYWORDS:
            self.instances_for(keyword)
        self._local_offset = self._timezone_offset()

    # -- helpers ----------------------------------------------------------------------------------------------
    def note(self, text: str) -> None:
        if text not in self.audit.decisions:
            self.audit.decisions.append(text)

    def record(self, name: str, value, source: str) -> None:
        self.audit.inputs[name] = {"value": value, "source": source}

    def instances_for(self, keyword: str) -> list:
        """The instances whose value of ``keyword`` must be examined: the first only when all agree bytewise."""
        key = f"uniform:{keyword}"
        if key not in self._cache:
            self._cache[key] = uniform(self.datasets, keyword)
        return self.datasets[:1] if self._cache[key] else self.datasets

    def series_number(self, keyword: str) -> float | None:
        """A numeric attribute that must be the same in every instance."""
        values = [number(ds, keyword) for ds in self.instances_for(keyword)]
        return self._same(keyword, values)

    def series_string(self, keyword: str) -> str | None:
        values = [string(ds, keyword) for ds in self.instances_for(keyword)]
        value = self._same(keyword, values)
        return value.upper() if isinstance(value, str) else value

    def _same(self, what: str, values: list):
        present = {v for v in values if v is not None}
        if len(present) > 1:
            shown = ", ".join(sorted(_short(v) for v in present)[:4])
            raise SUVError(f"{tag_label(what)} differs between instances ({shown}); the series must agree")
        if present and len(present) == 1 and any(v is None for v in values):
            raise SUVError(f"{tag_label(what)} is present in some instances but missing in others")
        return present.pop() if present else None

    def radiopharm_item(self, ds):
        seq = get_value(ds, "RadiopharmaceuticalInformationSequence")
        if seq is None:
            return None
        if len(seq) > 1:
            raise SUVError(
                f"{tag_label('RadiopharmaceuticalInformationSequence')} has {len(seq)} items; cannot tell which "
                "radiopharmaceutical the image shows (give dose, injection time and half-life as overrides)"
            )
        return seq[0]

    def radiopharm_items(self) -> list:
        """The radiopharmaceutical item of each instance to examine (one when all instances agree bytewise)."""
        return [self.radiopharm_item(ds) for ds in self.instances_for("RadiopharmaceuticalInformationSequence")]

    def radiopharm_number(self, keyword: str) -> float | None:
        values = [None if item is None else number(item, keyword) for item in self.radiopharm_items()]
        return self._same(keyword, values)

    # -- time zones -------------------------------------------------------------------------------------------
    def _timezone_offset(self):
        text = string(self.first, "TimezoneOffsetFromUTC")
        if not text:
            return None
        try:
            return parse_dt("20000101" + "000000" + text.strip()).tzinfo
        except ValueError:
            raise SUVError(f"{tag_label('TimezoneOffsetFromUTC')} is not a UTC offset (+HHMM): {text!r}") from None

    def local(self, value: datetime, what: str) -> datetime:
        """Naive local date-time: DT values with a UTC offset are moved to the series' time zone."""
        if value.tzinfo is None:
            return value
        if self._local_offset is not None:
            return value.astimezone(self._local_offset).replace(tzinfo=None)
        self.note(
            f"UTC offset of {what} ignored because the header gives no {tag_label('TimezoneOffsetFromUTC')}; "
            "times are compared as local clock times"
        )
        return value.replace(tzinfo=None)

    def parse_dt_attr(self, ds, keyword: str, label: str | None = None) -> datetime | None:
        text = string(ds, keyword)
        if not text:
            return None
        try:
            return self.local(parse_dt(text), label or tag_label(keyword))
        except ValueError as exc:
            raise SUVError(f"{label or tag_label(keyword)} is not a valid date-time: {exc}") from None

    def parse_da_tm(self, ds, da_kw: str, tm_kw: str, fallback_date=None) -> datetime | None:
        tm = string(ds, tm_kw)
        if not tm:
            return None
        da = string(ds, da_kw)
        try:
            t = parse_tm(tm)
        except ValueError as exc:
            raise SUVError(f"{tag_label(tm_kw)} is not a valid time: {exc}") from None
        if not da:
            if fallback_date is None:
                return None
            return datetime.combine(fallback_date, t)
        try:
            return datetime.combine(parse_da(da), t)
        except ValueError as exc:
            raise SUVError(f"{tag_label(da_kw)} is not a valid date: {exc}") from None

    # -- inputs -----------------------------------------------------------------------------------------------
    def _header(self, read, override):
        """``read()``; when an override is given, an unusable header value is noted instead of refused."""
        if override is None:
            return read()
        try:
            return read()
        except (SUVError, DicomValueError) as exc:
            self.note(f"header value not usable ({exc}); the user override is used")
            return None

    def weight_kg(self) -> float:
        if "weight" in self._cache:
            return self._cache["weight"]
        header = self._header(lambda: self.series_number("PatientWeight"), self.ov.weight_kg)
        if self.ov.weight_kg is not None:
            w = float(self.ov.weight_kg)
            if not (math.isfinite(w) and 0 < w <= _WEIGHT_MAX_KG):
                raise SUVError(f"weight override must be between 0 and {_WEIGHT_MAX_KG:g} kg; got {w!r}")
            self.record("weight_kg", w, "user override")
            if header:
                self.note(f"weight {w:g} kg from user override replaces {tag_label('PatientWeight')} {header:g}")
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
                self.note(f"{tag_label('PatientWeight')} {header:g} is above 1000, so it is read as grams: {w:g} kg")
                source += " (grams converted to kg)"
            elif header > _WEIGHT_MAX_KG:
                raise SUVError(
                    f"{tag_label('PatientWeight')} {header:g} is implausible (above {_WEIGHT_MAX_KG:g} kg, "
                    "below 1000 g)"
                )
            self.record("weight_kg", w, source)
        self._cache["weight"] = w
        return w

    def height_m(self) -> float:
        if "height" in self._cache:
            return self._cache["height"]
        header = self._header(lambda: self.series_number("PatientSize"), self.ov.height_m)
        lo, hi = _HEIGHT_RANGE_M
        if self.ov.height_m is not None:
            h = float(self.ov.height_m)
            if not (math.isfinite(h) and lo <= h <= hi):
                raise SUVError(f"height override must be between {lo:g} and {hi:g} m; got {h!r}")
            self.record("height_m", h, "user override")
            if header:
                self.note(f"height {h:g} m from user override replaces {tag_label('PatientSize')} {header:g}")
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
                self.note(f"{tag_label('PatientSize')} {header:g} is above 3, so it is read as centimetres: {h:g} m")
                source += " (cm converted to m)"
            if not lo <= h <= hi:
                raise SUVError(f"{tag_label('PatientSize')} {header:g} is implausible as a height in m or cm")
            self.record("height_m", h, source)
        self._cache["height"] = h
        return h

    def sex(self) -> str:
        if "sex" in self._cache:
            return self._cache["sex"]
        header = self._header(lambda: self.series_string("PatientSex"), self.ov.sex)
        if self.ov.sex is not None:
            s = str(self.ov.sex).strip().upper()
            if s not in body_size.SEXES:
                raise SUVError(f"sex override must be M, F or O; got {self.ov.sex!r}")
            self.record("sex", s, "user override")
        else:
            if header not in body_size.SEXES:
                raise SUVError(
                    f"{tag_label('PatientSex')} is {'absent or empty' if header is None else repr(header)}; this "
                    "normalisation needs M, F or O (give the sex as an override)"
                )
            s = header
            self.record("sex", s, tag_label("PatientSex"))
        if s == "O":
            self.note("PatientSex O: the mean of the male and the female formula is used (IBSI-SUV convention)")
        self._cache["sex"] = s
        return s

    def amount(self, suv_type: str) -> tuple[float, str]:
        """Normalising quantity for a DICOM SUVType term: (value in g or cm^2, description)."""
        key = f"amount:{suv_type}"
        if key in self._cache:
            return self._cache[key]
        if suv_type == "BW":
            out = (self.weight_kg() * 1000.0, "body weight")
        elif suv_type in ("LBMJAMES128", "LBM"):
            coef = 128.0 if suv_type == "LBMJAMES128" else 120.0
            kg = body_size.lbm_james_kg(self.weight_kg(), self.height_m(), self.sex(), male_coefficient=coef)
            name = "lbm_james128_kg" if coef == 128 else "lbm_james120_kg"
            self.record(name, kg, f"James formula ({coef:g} for men) from weight, height and sex")
            out = (kg * 1000.0, f"lean body mass (James-{coef:g})")
        elif suv_type == "LBMJANMA":
            kg = body_size.lbm_janmahasatian_kg(self.weight_kg(), self.height_m(), self.sex())
            self.record("lbm_janma_kg", kg, "Janmahasatian formula from weight, height and sex")
            out = (kg * 1000.0, "lean body mass (Janmahasatian)")
        elif suv_type == "IBW":
            kg = body_size.ibw_kg(self.height_m(), self.sex())
            self.record("ibw_kg", kg, "Devine formula from height and sex")
            out = (kg * 1000.0, "ideal body weight")
        elif suv_type == "BSA":
            m2 = body_size.bsa_dubois_m2(self.weight_kg(), self.height_m())
            self.record("bsa_m2", m2, "Du Bois formula from weight and height")
            out = (m2 * 1e4, "body surface area")
        else:  # pragma: no cover - callers validate the term
            raise SUVError(f"{tag_label('SUVType')} {suv_type!r} is not supported")
        self._cache[key] = out
        return out

    def dose_bq(self) -> float:
        if "dose" in self._cache:
            return self._cache["dose"]
        header = self._header(lambda: self.radiopharm_number("RadionuclideTotalDose"), self.ov.dose_bq)
        where = f"{tag_label('RadionuclideTotalDose')} in {tag_label('RadiopharmaceuticalInformationSequence')}"
        if self.ov.dose_bq is not None:
            d = float(self.ov.dose_bq)
            if not (math.isfinite(d) and d > 0):
                raise SUVError(f"dose override must be a positive number of Bq; got {d!r}")
            self.record("dose_bq", d, "user override")
            if header:
                self.note(f"dose {d:g} Bq from user override replaces {tag_label('RadionuclideTotalDose')} {header:g}")
        else:
            if header is None:
                raise SUVError(f"injected dose missing: {where} is absent or empty; give the dose as an override")
            if header <= 0:
                raise SUVError(f"injected dose is {header:g}: {tag_label('RadionuclideTotalDose')} must be positive")
            d = header
            source = where
            if header < _MBQ_BELOW:
                d = header * 1e6
                self.note(
                    f"{tag_label('RadionuclideTotalDose')} {header:g} is below {_MBQ_BELOW:g}, so it is read as MBq: "
                    f"{d:g} Bq"
                )
                source += " (MBq converted to Bq)"
            lo, hi = _DOSE_RANGE_BQ
            if not lo <= d <= hi:
                raise SUVError(f"{tag_label('RadionuclideTotalDose')} {header:g} is implausible as Bq or MBq")
            self.record("dose_bq", d, source)
        self._cache["dose"] = d
        return d

    def half_life_s(self) -> float:
        if "half_life" in self._cache:
            return self._cache["half_life"]
        header = self._header(lambda: self.radiopharm_number("RadionuclideHalfLife"), self.ov.half_life_s)
        identified = self._header(self._identify_radionuclide, self.ov.half_life_s)
        nuclide, how, conflict = identified if identified is not None else (None, "", ())
        if nuclide is not None:
            self.record("radionuclide", nuclide.symbol, how)
        if self.ov.half_life_s is not None:
            t = float(self.ov.half_life_s)
            if not (math.isfinite(t) and t > 0):
                raise SUVError(f"half-life override must be a positive number of seconds; got {t!r}")
            self.record("half_life_s", t, "user override")
            if header:
                self.note(
                    f"half-life {t:g} s from user override replaces {tag_label('RadionuclideHalfLife')} {header:g}"
                )
        elif header is not None:
            if header <= 0:
                raise SUVError(f"{tag_label('RadionuclideHalfLife')} must be positive; got {header:g}")
            candidates = [nuclide] if nuclide is not None else list(conflict)
            if candidates:
                agree = [n for n in candidates if abs(header - n.half_life_s) <= _HALF_LIFE_TOL * n.half_life_s]
                if not agree:
                    names = " or ".join(f"{n.symbol} ({n.half_life_s:g} s)" for n in candidates)
                    raise SUVError(
                        f"{tag_label('RadionuclideHalfLife')} {header:g} s contradicts the radionuclide {names} "
                        f"identified from {how}"
                    )
                if nuclide is None:
                    self.note(f"the header half-life {header:g} s fits {agree[0].symbol}; {how}")
                    self.record("radionuclide", agree[0].symbol, f"{how}; chosen by the header half-life")
            else:
                self.note(f"{tag_label('RadionuclideHalfLife')} not cross-checked: {how}")
            t = header
            where = tag_label("RadiopharmaceuticalInformationSequence")
            self.record("half_life_s", t, f"{tag_label('RadionuclideHalfLife')} in {where}")
        else:
            if nuclide is None:
                raise SUVError(
                    f"half-life missing: {tag_label('RadionuclideHalfLife')} is absent and the radionuclide cannot be "
                    f"identified ({how}); give the half-life as an override"
                )
            t = nuclide.half_life_s
            self.record("half_life_s", t, f"table value for {nuclide.symbol} (NNDC), identified from {how}")
            self.note(
                f"{tag_label('RadionuclideHalfLife')} absent: half-life {t:g} s of {nuclide.symbol} from the table"
            )
        self._cache["half_life"] = t
        return t

    def _identify_radionuclide(self):
        """(nuclide or None, description, conflicting candidates) from the code sequence and the names."""
        item = self.radiopharm_item(self.first)
        code_value = meaning = None
        if item is not None:
            seq = get_value(item, "RadionuclideCodeSequence")
            if seq:
                code_value = string(seq[0], "CodeValue")
                meaning = string(seq[0], "CodeMeaning")
        names = []
        if item is not None:
            for kw in ("Radiopharmaceutical", "Radionuclide"):
                text = string(item, kw)
                if text:
                    names.append((kw, text))
        by_code = radionuclides.identify_from_code_value(code_value) if code_value else None
        by_meaning = radionuclides.identify_from_text(meaning) if meaning else None
        by_name = None
        name_src = None
        for kw, text in names:
            found = radionuclides.identify_from_text(text)
            if found is not None:
                by_name, name_src = found, f"{tag_label(kw)} {text!r}"
                break
        code_src = f"{tag_label('RadionuclideCodeSequence')} code {code_value!r}" if code_value else None
        if code_value and meaning:
            code_src += f" ({meaning!r})"
        if by_code is not None and by_meaning is not None and by_code != by_meaning:
            # The code value and its meaning disagree (e.g. C-131A1, which is ^66^Gallium, labelled ^68^Gallium).
            text = (
                f"{code_src}: the code value denotes {by_code.symbol} in DICOM CID 4020 but the meaning says "
                f"{by_meaning.symbol}"
            )
            if by_name in (by_code, by_meaning):
                self.note(f"{text}; {name_src} names {by_name.symbol}, which is used")
                return by_name, f"{code_src} and {name_src}", ()
            self.note(text)
            return None, text, (by_code, by_meaning)
        nuc = by_code or by_meaning
        if nuc is not None:
            if by_name is not None and by_name != nuc:
                self.note(f"{name_src} names {by_name.symbol} but {code_src} gives {nuc.symbol}; the code is used")
            return nuc, code_src, ()
        if by_name is not None:
            return by_name, name_src, ()
        if code_value:
            return None, f"{code_src} is not in the table of PET radionuclides", ()
        return None, "no RadionuclideCodeSequence and no radionuclide in the radiopharmaceutical name", ()


def _check_rescale(ctx: _Context) -> np.ndarray:
    slopes = np.empty(len(ctx.datasets))
    for n, ds in enumerate(ctx.datasets):
        intercept = fast_number(ds, "RescaleIntercept")
        slope = fast_number(ds, "RescaleSlope")
        if intercept is None:
            raise SUVError(f"{tag_label('RescaleIntercept')} missing in instance {n + 1}; PET requires it (and 0)")
        if intercept != 0:
            raise SUVError(f"{tag_label('RescaleIntercept')} is {intercept:g}, not 0; PET values must not be offset")
        if slope is None:
            raise SUVError(f"{tag_label('RescaleSlope')} missing in instance {n + 1}")
        if not slope > 0:
            raise SUVError(f"{tag_label('RescaleSlope')} must be positive; got {slope:g} in instance {n + 1}")
        slopes[n] = slope
    unique = np.unique(slopes)
    if unique.size == 1:
        ctx.record("rescale_slope", float(unique[0]), f"{tag_label('RescaleSlope')} (same in all instances)")
    else:
        ctx.record(
            "rescale_slope",
            f"{unique.size} values from {unique.min():g} to {unique.max():g}",
            f"{tag_label('RescaleSlope')} applied per instance",
        )
    ctx.record("rescale_intercept", 0.0, tag_label("RescaleIntercept"))
    return slopes


_REFUSED_UNITS = {
    "PROPCNTS": "proportional to counts, no defined conversion to activity",
    "PROPCPS": "proportional to counts per second (non-quantitative), no defined conversion to activity",
    "1CM": "linear attenuation coefficients (a mu-map), not activity",
    "NPREF": "no defined conversion to activity",
    "MGMINML": "a metabolic rate, not activity",
    "UMOLMINML": "a metabolic rate, not activity",
    "MLMING": "a flow, not activity",
    "MLG": "a distribution volume, not activity",
    "PCNT": "a percentage, not activity",
    "CC": "not activity",
}


def compute_suv_conversion(
    datasets: Sequence, *, normalization: str = "bw", overrides: SUVOverrides | None = None
) -> SUVConversion:
    """Per-instance factors from modality values to SUV, by the QIBA order with the IBSI-SUV extensions.

    Parameters
    ----------
    datasets : sequence of pydicom.Dataset
        The instances of one PET series (headers suffice); factors come back in the same order.
    normalization : str
        ``"bw"`` (default), ``"lbm"`` (Janmahasatian), ``"lbm-james128"``, ``"bsa"`` or ``"ibw"``.
    overrides : SUVOverrides, optional
        Values that replace header attributes; recorded as "user override".

    Returns
    -------
    SUVConversion

    Raises
    ------
    SUVError
        With one line naming the attribute and tag at fault, for any missing, contradictory, malformed or
        implausible input.
    """
    try:
        return _compute_suv_conversion(datasets, normalization, overrides)
    except DicomValueError as exc:  # a header value that cannot be read: refused as SUV input, same message
        raise SUVError(str(exc)) from None


def _compute_suv_conversion(datasets: Sequence, normalization: str, overrides: SUVOverrides | None) -> SUVConversion:
    norm = normalization_name(normalization)
    overrides = overrides or SUVOverrides()
    if not isinstance(overrides, SUVOverrides):
        raise SUVError("overrides must be an SUVOverrides instance")
    if datasets is None or len(datasets) == 0:
        raise SUVError("no PET instances given")
    spec = NORMALIZATIONS[norm]
    audit = SUVAudit(normalization=norm, units=spec.units, suv_type=spec.suv_type)
    ctx = _Context(datasets, overrides, audit)

    units = ctx.series_string("Units")
    if units is None:
        raise SUVError(f"{tag_label('Units')} is absent or empty; the meaning of the voxel values is unknown")
    audit.source_units = units
    ctx.record("units", units, tag_label("Units"))
    _check_rescale(ctx)

    if units in ("GML", "CM2ML"):
        factors = _normalised_units(ctx, units, spec)
    elif units == "CNTS":
        factors = _counts(ctx, spec)
    elif units == "BQML":
        ctx.note("Units BQML: modality values are activity concentrations in Bq/mL")
        factors = _activity(ctx, np.ones(len(ctx.datasets)), spec)
    elif units == "CPS":
        factors = _activity(ctx, _cps_scale(ctx), spec)
    elif units in _REFUSED_UNITS:
        raise SUVError(f"{tag_label('Units')} {units} cannot be converted to SUV: {_REFUSED_UNITS[units]}")
    else:
        raise SUVError(f"{tag_label('Units')} {units!r} is not a known PET unit; cannot convert to SUV")

    factors = np.asarray(factors, dtype=float)
    if factors.shape != (len(ctx.datasets),) or not np.all(np.isfinite(factors)) or not np.all(factors > 0):
        raise SUVError("the SUV factors are not finite and positive; check the header values listed in the audit")
    conversion = SUVConversion(
        factors=factors,
        normalization=norm,
        units=spec.units,
        audit=audit,
        sop_instance_uids=[fast_string(ds, "SOPInstanceUID") or "" for ds in ctx.datasets],
    )
    single = conversion.factor
    if single is not None:
        audit.factor_summary = f"{single:.6g} {spec.units} per modality unit (all {factors.size} instances)"
    else:
        audit.factor_summary = (
            f"{factors.size} per-instance factors from {factors.min():.6g} to {factors.max():.6g} (median "
            f"{np.median(factors):.6g})"
        )
    return conversion


def _ratio_to(ctx: _Context, stored_type: str, spec: _Norm) -> float:
    """Factor from SUV of ``stored_type`` to SUV of the requested normalisation: X_requested / X_stored."""
    if stored_type == spec.suv_type:
        return 1.0
    x_stored, stored_label = ctx.amount(stored_type)
    x_req, req_label = ctx.amount(spec.suv_type)
    ctx.note(f"converted from SUV by {stored_label} to SUV by {req_label}: factor {x_req:.6g} / {x_stored:.6g}")
    return x_req / x_stored


def _normalised_units(ctx: _Context, units: str, spec: _Norm) -> np.ndarray:
    suv_type = ctx.series_string("SUVType")
    allowed = ("BW", "LBM", "LBMJAMES128", "LBMJANMA", "IBW") if units == "GML" else ("BSA",)
    if suv_type is None:
        suv_type = "BW" if units == "GML" else "BSA"
        ctx.note(
            f"{tag_label('SUVType')} empty: Units {units} is read as "
            + ("SUV by body weight" if units == "GML" else "SUV by body surface area (Du Bois)")
        )
        source = f"implied by Units {units} ({tag_label('SUVType')} empty)"
    else:
        source = tag_label("SUVType")
        if suv_type not in allowed:
            raise SUVError(
                f"{tag_label('SUVType')} {suv_type!r} does not fit Units {units} (expected {'/'.join(allowed)})"
            )
    ctx.record("stored_suv_type", suv_type, source)
    if suv_type == "LBM":
        ctx.note("SUVType LBM is read with the James formula using 120 for men (IBSI-SUV manual)")
    ctx.note(f"Units {units}: values are already SUV ({suv_type}); no dose or decay input is needed")
    return np.full(len(ctx.datasets), _ratio_to(ctx, suv_type, spec))


def _counts(ctx: _Context, spec: _Norm) -> np.ndarray:
    creator, vendor = "Philips PET Private Group", "PHILIPS"
    suv_f, act_f, suv_src, act_src = [], [], None, None
    for ds in ctx.datasets:
        decisions: list[str] = []
        f, src = _private_number(ds, 0x7053, 0x00, creator, vendor, decisions)
        a, asrc = _private_number(ds, 0x7053, 0x09, creator, vendor, decisions)
        for d in decisions:
            ctx.note(d)
        suv_f.append(f if f else None)  # a factor of 0.0 means "not convertible" (Philips conformance statement)
        act_f.append(a if a else None)
        suv_src = suv_src or src
        act_src = act_src or asrc
    if all(f is not None for f in suv_f):
        if any(f < 0 for f in suv_f):
            raise SUVError(f"{suv_src} (Philips SUV Scale Factor) is negative")
        ctx.record("philips_suv_scale_factor", _summary(suv_f), f"{suv_src} (Philips SUV Scale Factor)")
        ctx.note("Units CNTS: Philips SUV Scale Factor (7053,1000) converts counts to SUV by body weight")
        ratio = _ratio_to(ctx, "BW", spec)
        return np.asarray(suv_f, float) * ratio
    if all(a is not None for a in act_f):
        if any(a < 0 for a in act_f):
            raise SUVError(f"{act_src} (Philips Activity Concentration Scale Factor) is negative")
        ctx.record(
            "philips_activity_scale_factor", _summary(act_f), f"{act_src} (Philips Activity Concentration Scale Factor)"
        )
        why = "absent" if all(f is None for f in suv_f) else "missing in some instances or 0"
        ctx.note(
            f"Units CNTS: Philips SUV Scale Factor (7053,1000) {why}; Activity Concentration Scale Factor "
            "(7053,1009) converts counts to Bq/mL, then the BQML rules apply"
        )
        return _activity(ctx, np.asarray(act_f, float), spec)
    if any(f is not None for f in suv_f) or any(a is not None for a in act_f):
        raise SUVError(
            "Units CNTS: Philips scale factors (7053,1000)/(7053,1009) are present in some instances only (or 0)"
        )
    raise SUVError(
        "Units CNTS without Philips SUV Scale Factor (7053,1000) or Activity Concentration Scale Factor "
        "(7053,1009): counts cannot be converted to SUV"
    )


def _summary(values) -> float | str:
    arr = np.asarray(values, float)
    if np.all(arr == arr[0]):
        return float(arr[0])
    return f"{arr.size} values from {arr.min():g} to {arr.max():g}"


def _cps_scale(ctx: _Context) -> np.ndarray:
    """Bq/mL per count per second, per instance (IBSI-SUV manual, Units CPS)."""
    corrected = strings(ctx.first, "CorrectedImage") or []
    scale = np.empty(len(ctx.datasets))
    factor_used = None
    for n, ds in enumerate(ctx.datasets):
        spacing = get_value(ds, "PixelSpacing")
        thickness = number(ds, "SliceThickness")
        try:
            dy, dx = (float(v) for v in spacing) if spacing is not None else (None, None)
        except (TypeError, ValueError):
            raise SUVError(f"{tag_label('PixelSpacing')} is not two numbers") from None
        if dy is None or thickness is None or not (dx > 0 and dy > 0 and thickness > 0):
            raise SUVError(
                f"Units CPS needs the voxel volume: {tag_label('PixelSpacing')} and {tag_label('SliceThickness')} "
                "must be positive"
            )
        voxel_ml = dx * dy * thickness / 1000.0
        if "DCAL" in corrected:
            scale[n] = 1.0 / voxel_ml
        else:
            f = number(ds, "DoseCalibrationFactor")
            if f is None or f <= 0:
                raise SUVError(
                    f"Units CPS without DCAL in {tag_label('CorrectedImage')} needs "
                    f"{tag_label('DoseCalibrationFactor')}; it is absent or not positive"
                )
            factor_used = f
            scale[n] = f / voxel_ml
    if "DCAL" in corrected:
        ctx.note("Units CPS with DCAL in CorrectedImage: Bq/mL = CPS / voxel volume (mL)")
    else:
        ctx.record("dose_calibration_factor", factor_used, tag_label("DoseCalibrationFactor"))
        ctx.note("Units CPS without DCAL: Bq/mL = CPS x DoseCalibrationFactor / voxel volume (mL)")
    ctx.record("cps_to_bqml", _summary(scale), "from PixelSpacing and SliceThickness (voxel volume)")
    return scale


def _activity(ctx: _Context, bqml_per_unit: np.ndarray, spec: _Norm) -> np.ndarray:
    """Factors for images in activity concentration: A * X / D_ref with the decay-correction rules."""
    decay = ctx.series_string("DecayCorrection")
    if decay is None:
        raise SUVError(f"{tag_label('DecayCorrection')} is absent or empty; cannot tell the decay reference time")
    ctx.audit.decay_correction = decay
    ctx.record("decay_correction", decay, tag_label("DecayCorrection"))
    if decay not in ("START", "ADMIN", "NONE"):
        raise SUVError(f"{tag_label('DecayCorrection')} {decay!r} is not START, ADMIN or NONE")

    corrected = ctx.series_string("CorrectedImage")
    flags = [s.strip() for s in (corrected or "").split("\\") if s.strip()]
    if not flags:
        raise SUVError(f"{tag_label('CorrectedImage')} is absent or empty; cannot confirm attenuation/decay correction")
    ctx.record("corrected_image", "\\".join(flags), tag_label("CorrectedImage"))
    if "ATTN" not in flags:
        raise SUVError(f"{tag_label('CorrectedImage')} lacks ATTN: the image is not attenuation corrected")
    has_decay = "DECY" in flags or "DECAY" in flags
    if decay in ("START", "ADMIN") and not has_decay:
        raise SUVError(
            f"{tag_label('DecayCorrection')} is {decay} but {tag_label('CorrectedImage')} lacks DECY; the headers "
            "contradict"
        )
    if decay == "NONE" and has_decay:
        raise SUVError(
            f"{tag_label('DecayCorrection')} is NONE but {tag_label('CorrectedImage')} lists DECY; the headers "
            "contradict"
        )

    x, x_label = ctx.amount(spec.suv_type)
    dose = ctx.dose_bq()

    if decay == "ADMIN":
        ctx.note("DecayCorrection ADMIN: images are decay-corrected to the injection time, so the dose is not decayed")
        return bqml_per_unit * x / dose

    half_life = ctx.half_life_s()
    lam = math.log(2.0) / half_life
    if decay == "START":
        scan = _scan_datetime(ctx, half_life)
        injection = _injection_datetime(ctx, scan)
        ctx.audit.scan_datetime, ctx.audit.injection_datetime = scan, injection
        dt_s = _decay_time_s(injection, scan, half_life)
        decayed = dose * math.exp(-lam * dt_s)
        ctx.record("decay_time_s", dt_s, "scan time - injection time")
        ctx.record("decayed_dose_bq", decayed, "dose x 2^(-decay time / half-life)")
        return bqml_per_unit * x / decayed

    # NONE: every image carries its own decay to its acquisition; bring dose and activity to the injection time.
    if ctx.ov.scan_datetime is not None:
        raise SUVError(
            "a scan-time override does not apply to DecayCorrection NONE, where each image has its own acquisition time"
        )
    acq = _acquisition_datetimes(ctx)
    if any(a is None for a in acq):
        missing = sum(a is None for a in acq)
        raise SUVError(
            f"DecayCorrection NONE needs {tag_label('AcquisitionTime')} of every instance; missing in {missing} "
            "instance(s)"
        )
    durations = []
    for n, ds in enumerate(ctx.datasets):
        ms = fast_number(ds, "ActualFrameDuration")
        if ms is None or ms <= 0:
            raise SUVError(
                f"DecayCorrection NONE needs {tag_label('ActualFrameDuration')} > 0; absent or not positive in "
                f"instance {n + 1}"
            )
        durations.append(ms / 1000.0)
    earliest = min(acq)
    injection = _injection_datetime(ctx, earliest)
    ctx.audit.scan_datetime, ctx.audit.injection_datetime = earliest, injection
    factors = np.empty(len(acq))
    for n, (a, t) in enumerate(zip(acq, durations)):
        dt_s = _decay_time_s(injection, a, half_life)
        frame = lam * t / -math.expm1(-lam * t)  # mean decay over the frame
        factors[n] = bqml_per_unit[n] * x / dose * frame * math.exp(lam * dt_s)
    ctx.record("acquisition_datetimes", _dt_range(acq), f"{tag_label('AcquisitionTime')} per instance")
    ctx.record("frame_durations_s", _summary(durations), f"{tag_label('ActualFrameDuration')} per instance")
    ctx.note(
        "DecayCorrection NONE: each instance is corrected for decay from injection to its own acquisition start "
        "and over its frame duration: f = A X / D * (lambda T / (1 - exp(-lambda T))) * exp(lambda (t_acq - t_inj))"
    )
    return factors


def _dt_range(values: list[datetime]) -> str:
    lo, hi = min(values), max(values)
    if lo == hi:
        return format_datetime(lo)
    return f"{len(set(values))} values from {format_datetime(lo)} to {format_datetime(hi)}"


def _decay_time_s(injection: datetime, scan: datetime, half_life_s: float) -> float:
    dt_s = (scan - injection).total_seconds()
    if dt_s < 0:
        raise SUVError(
            f"injection time {format_datetime(injection)} is after the scan time {format_datetime(scan)} "
            f"(decay time {dt_s:g} s); check RadiopharmaceuticalStartDateTime/Time (0018,1078)/(0018,1072)"
        )
    if dt_s > _MAX_DECAY_HALF_LIVES * half_life_s:
        raise SUVError(
            f"decay time from injection {format_datetime(injection)} to scan {format_datetime(scan)} is "
            f"{dt_s / half_life_s:.1f} half-lives; the dates or times are implausible"
        )
    return dt_s


_ACQUISITION_KEYWORDS = ("AcquisitionDateTime", "AcquisitionDate", "AcquisitionTime", "SeriesDate")


def _acquisition_datetimes(ctx: _Context) -> list[datetime | None]:
    """Per-instance acquisition start: AcquisitionDateTime, else AcquisitionDate + AcquisitionTime."""
    if "acquisitions" in ctx._cache:
        return ctx._cache["acquisitions"]
    out: list[datetime | None] = []
    parsed: dict[tuple, datetime | None] = {}  # many instances share the same texts
    for ds in ctx.datasets:
        key = tuple(fast_string(ds, kw) for kw in _ACQUISITION_KEYWORDS)
        if key not in parsed:
            parsed[key] = _acquisition_datetime(ctx, *key)
        out.append(parsed[key])
    ctx._cache["acquisitions"] = out
    return out


def _acquisition_datetime(ctx: _Context, dt_text, da_text, tm_text, series_da_text) -> datetime | None:
    if dt_text:
        try:
            return ctx.local(parse_dt(dt_text), tag_label("AcquisitionDateTime"))
        except ValueError as exc:
            raise SUVError(f"{tag_label('AcquisitionDateTime')} is not a valid date-time: {exc}") from None
    if not tm_text:
        return None
    try:
        t = parse_tm(tm_text)
    except ValueError as exc:
        raise SUVError(f"{tag_label('AcquisitionTime')} is not a valid time: {exc}") from None
    date_text, date_kw = (da_text, "AcquisitionDate") if da_text else (series_da_text, "SeriesDate")
    if not date_text:
        return None
    try:
        d = parse_da(date_text)
    except ValueError as exc:
        raise SUVError(f"{tag_label(date_kw)} is not a valid date: {exc}") from None
    if date_kw == "SeriesDate":
        ctx.note(f"{tag_label('AcquisitionDate')} absent: AcquisitionTime is taken on the SeriesDate")
    return datetime.combine(d, t)


def _series_datetime(ctx: _Context) -> datetime | None:
    pick = ctx.instances_for("SeriesDate"), ctx.instances_for("SeriesTime")
    instances = pick[0] if len(pick[0]) >= len(pick[1]) else pick[1]
    values = [ctx.parse_da_tm(ds, "SeriesDate", "SeriesTime") for ds in instances]
    present = {v for v in values if v is not None}
    if len(present) > 1:
        raise SUVError(
            f"{tag_label('SeriesDate')}/{tag_label('SeriesTime')} differ between instances "
            f"({format_datetime(min(present))} .. {format_datetime(max(present))})"
        )
    return present.pop() if present else None


def _scan_datetime(ctx: _Context, half_life_s: float) -> datetime:
    """Reference time of DecayCorrection START by the QIBA order (see docs/suv.md)."""
    if ctx.ov.scan_datetime is not None:
        scan = ctx.local(ctx.ov.scan_datetime, "the scan-time override")
        ctx.record("scan_datetime", scan, "user override")
        ctx.note(f"scan time = {format_datetime(scan)} from user override")
        return scan
    series = _series_datetime(ctx)
    acq = _acquisition_datetimes(ctx)
    known = [a for a in acq if a is not None]
    earliest = min(known) if known else None
    if series is not None:
        ctx.record("series_datetime", series, f"{tag_label('SeriesDate')} + {tag_label('SeriesTime')}")
    if earliest is not None:
        ctx.record(
            "earliest_acquisition_datetime", earliest, f"earliest {tag_label('AcquisitionDate')}/Time over instances"
        )

    if series is not None and (earliest is None or series <= earliest):
        why = (
            f"not after the earliest AcquisitionTime {format_datetime(earliest)}"
            if earliest is not None
            else "no AcquisitionTime to compare"
        )
        ctx.note(f"scan time = SeriesDate/SeriesTime {format_datetime(series)} ({why})")
        ctx.record("scan_datetime", series, f"{tag_label('SeriesDate')} + {tag_label('SeriesTime')}")
        return series

    reason = (
        f"SeriesTime {format_datetime(series)} is later than the earliest AcquisitionTime {format_datetime(earliest)}"
        if series is not None
        else "SeriesDate/SeriesTime (0008,0021)/(0008,0031) are absent"
    )
    # GE keeps the original scan start in a private attribute when the series is re-created.
    ge_values = []
    ge_source = None
    for ds in ctx.datasets:
        decisions: list[str] = []
        value, source = _private_value(ds, 0x0009, 0x0D, "GEMS_PETD_01", "GE", decisions)
        for d in decisions:
            ctx.note(d)
        if value is not None and text(value):
            try:
                ge_values.append(ctx.local(parse_dt(text(value)), source))
            except ValueError as exc:
                raise SUVError(f"{source} (GE PET scan DateTime) is not a valid date-time: {exc}") from None
            ge_source = source
    if ge_values:
        if len(set(ge_values)) > 1:
            raise SUVError(f"{ge_source} (GE PET scan DateTime) differs between instances")
        scan = ge_values[0]
        ctx.note(f"scan time = GE private PET scan DateTime {format_datetime(scan)} because {reason}")
        ctx.record("scan_datetime", scan, f"{ge_source} (GE PET scan DateTime)")
        return scan

    if earliest is None:
        raise SUVError(
            "no scan time: SeriesDate/SeriesTime (0008,0021)/(0008,0031) and AcquisitionDate/AcquisitionTime "
            "(0008,0022)/(0008,0032) are absent"
        )
    back, why_not = (None, "SeriesTime is absent") if series is None else _back_computed(ctx, acq, half_life_s)
    if back is not None:
        ctx.note(
            f"scan time = {format_datetime(back)} back-computed from AcquisitionTime, FrameReferenceTime and "
            f"ActualFrameDuration (t_acq + T_ave - FrameReferenceTime) because {reason} and no GE private scan time "
            "exists"
        )
        ctx.record(
            "scan_datetime", back,
            f"back-computed from {tag_label('AcquisitionTime')}, {tag_label('FrameReferenceTime')}, "
            f"{tag_label('ActualFrameDuration')}",
        )
        return back
    ctx.note(
        f"scan time = earliest AcquisitionTime {format_datetime(earliest)} because {reason}; "
        f"frame back-computation not used ({why_not})"
    )
    ctx.record("scan_datetime", earliest, f"earliest {tag_label('AcquisitionDate')}/Time over instances")
    return earliest


def _back_computed(ctx: _Context, acq: list[datetime | None], half_life_s: float):
    """Decay reference time from each frame: t_acq + T_ave - FrameReferenceTime (QIBA / IBSI-SUV).

    T_ave = (1/lambda) ln(lambda T / (1 - exp(-lambda T))) is the time after the frame start at which the
    activity equals its mean over the frame (duration T). Returns (datetime, None) when every instance gives
    the same time (within 1 s) no later than its own acquisition start, else (None, reason).
    """
    lam = math.log(2.0) / half_life_s
    refs = []
    for n, (ds, a) in enumerate(zip(ctx.datasets, acq)):
        frt_ms = fast_number(ds, "FrameReferenceTime")
        dur_ms = fast_number(ds, "ActualFrameDuration")
        if a is None or frt_ms is None or dur_ms is None or frt_ms <= 0 or dur_ms <= 0:
            return None, "FrameReferenceTime (0054,1300) or ActualFrameDuration (0018,1242) absent or not positive"
        t = dur_ms / 1000.0
        t_ave = math.log(lam * t / -math.expm1(-lam * t)) / lam
        ref = a + timedelta(seconds=t_ave - frt_ms / 1000.0)
        if ref > a + timedelta(seconds=_BACKCOMP_SPREAD_S):
            return None, f"the frame of instance {n + 1} would put the reference after its own start"
        refs.append(ref)
    spread = (max(refs) - min(refs)).total_seconds()
    if spread > _BACKCOMP_SPREAD_S:
        return None, f"the frames disagree on the reference time by {spread:.1f} s"
    return refs[acq.index(min(acq))], None


def _injection_datetime(ctx: _Context, reference: datetime) -> datetime:
    """Injection time: StartDateTime, else StartTime on the reference (scan) date with midnight handling."""
    if ctx.ov.injection_datetime is not None:
        inj = ctx.local(ctx.ov.injection_datetime, "the injection-time override")
        ctx.record("injection_datetime", inj, "user override")
        return inj
    where = tag_label("RadiopharmaceuticalInformationSequence")
    dt_values, tm_values = [], []
    for item in ctx.radiopharm_items():
        if item is None:
            dt_values.append(None)
            tm_values.append(None)
            continue
        dt_values.append(ctx.parse_dt_attr(item, "RadiopharmaceuticalStartDateTime"))
        text = string(item, "RadiopharmaceuticalStartTime")
        try:
            tm_values.append(parse_tm(text) if text else None)
        except ValueError as exc:
            raise SUVError(f"{tag_label('RadiopharmaceuticalStartTime')} is not a valid time: {exc}") from None
    start_dt = ctx._same("RadiopharmaceuticalStartDateTime", dt_values)
    start_tm = ctx._same("RadiopharmaceuticalStartTime", tm_values)
    if start_dt is not None:
        if start_tm is not None and start_tm != start_dt.time():
            ctx.note(
                f"RadiopharmaceuticalStartTime {start_tm.isoformat()} differs from StartDateTime "
                f"{format_datetime(start_dt)}; the StartDateTime is used"
            )
        ctx.record("injection_datetime", start_dt, f"{tag_label('RadiopharmaceuticalStartDateTime')} in {where}")
        return start_dt
    if start_tm is None:
        raise SUVError(
            f"injection time missing: {tag_label('RadiopharmaceuticalStartDateTime')} and "
            f"{tag_label('RadiopharmaceuticalStartTime')} in {where} are absent; give it as an override"
        )
    inj = datetime.combine(reference.date(), start_tm)
    source = f"{tag_label('RadiopharmaceuticalStartTime')} in {where}, on the scan date"
    if inj > reference:
        inj -= timedelta(days=1)
        ctx.note(
            f"RadiopharmaceuticalStartTime {start_tm.isoformat()} is later in the day than the scan "
            f"{format_datetime(reference)}, so the injection is taken on the previous day ({inj.date().isoformat()})"
        )
        source += " (previous day: injection before midnight)"
    else:
        ctx.note(
            f"RadiopharmaceuticalStartDateTime absent: injection taken on the scan date {reference.date().isoformat()}"
        )
    ctx.record("injection_datetime", inj, source)
    return inj


# --------------------------------------------------------------------------------------------------------------


def suv_conversion_for_suv_volume(units_label: str) -> SUVConversion:
    """Conversion for a volume whose voxels are already SUV (e.g. ``{SUVbw}g/ml`` from Slicer's PET DICOM plugin).

    The factor is 1 and the audit says that the values are used as is. ``{SUVlbm}g/ml`` (which does not say the
    lean-body-mass formula) gives normalization ``"lbm-unspecified"``.

    Raises
    ------
    SUVError
        When the label is not an SUV units string.
    """
    key = text(units_label).lower().replace(" ", "")
    norm = _SUV_LABELS.get(key)
    if norm is None:
        known = ", ".join(sorted({n.units for n in NORMALIZATIONS.values()} | {"{SUVlbm}g/ml"}))
        raise SUVError(f"volume units {units_label!r} are not SUV units ({known}); it cannot be used as SUV")
    units = NORMALIZATIONS[norm].units if norm in NORMALIZATIONS else "{SUVlbm}g/ml"
    audit = SUVAudit(
        normalization=norm,
        units=units,
        suv_type=NORMALIZATIONS[norm].suv_type if norm in NORMALIZATIONS else None,
        source_units=units,
        factor_summary="1 (values used as is)",
    )
    audit.inputs["units"] = {"value": units_label, "source": "volume units label"}
    audit.decisions.append(f"volume is already in {units}; its values are used as is (factor 1)")
    if norm == "lbm-unspecified":
        audit.decisions.append("the units label does not say which lean-body-mass formula was used")
    return SUVConversion(factors=np.ones(1), normalization=norm, units=units, audit=audit)
