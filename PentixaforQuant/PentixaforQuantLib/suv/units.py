"""The units path of the SUV conversion: from modality values (Units BQML, CNTS, GML, CM2ML, CPS) to SUV.

Activity images (BQML, CPS, CNTS with the Philips activity scale factor) continue to the decay-correction rules
in :mod:`.decay`; images already in SUV (GML, CM2ML, CNTS with the Philips SUV scale factor) are converted between
SUV types by the ratio of the normalising quantities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .audit import summary
from .decay import activity_factors
from .dicom_values import fast_number, get_value, number, strings, tag_label
from .limits import RESCALE_SLOPE_RANGE
from .normalizations import Normalization
from .patient import normalising_amount
from .private_tags import private_number
from .series_inputs import SeriesInputs
from ..errors import SUVError

__all__ = ["check_rescale", "factors_from_units"]


def factors_from_units(ctx: SeriesInputs, spec: Normalization) -> np.ndarray:
    """Per-instance factors from modality values to SUV of ``spec``, by the series' Units (0054,1001)."""
    units = ctx.series_string("Units")
    if units is None:
        raise SUVError(f"{tag_label('Units')} is absent or empty; the meaning of the voxel values is unknown")
    ctx.audit.source_units = units
    ctx.record("units", units, tag_label("Units"))
    check_rescale(ctx)
    if units in ("GML", "CM2ML"):
        factors = _normalised_units(ctx, units, spec)
    elif units == "CNTS":
        factors = _counts(ctx, spec)
    elif units == "BQML":
        ctx.note("Units BQML: modality values are activity concentrations in Bq/mL")
        factors = activity_factors(ctx, np.ones(len(ctx.datasets)), spec)
    elif units == "CPS":
        factors = activity_factors(ctx, _cps_scale(ctx), spec)
    elif units in _REFUSED_UNITS:
        raise SUVError(f"{tag_label('Units')} {units} cannot be converted to SUV: {_REFUSED_UNITS[units]}")
    else:
        raise SUVError(f"{tag_label('Units')} {units!r} is not a known PET unit; cannot convert to SUV")
    return factors


def check_rescale(ctx: SeriesInputs) -> np.ndarray:
    slopes = np.empty(len(ctx.datasets))
    implausible_slopes: list[int] = []
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
        if not RESCALE_SLOPE_RANGE[0] <= slope <= RESCALE_SLOPE_RANGE[1] and not implausible_slopes:
            implausible_slopes.append(n)
            name = Path(str(getattr(ds, "filename", "") or f"instance {n + 1}")).name
            ctx.implausible(
                f"{tag_label('RescaleSlope')} is {slope:g} in {name}, outside {RESCALE_SLOPE_RANGE[0]:g} to "
                f"{RESCALE_SLOPE_RANGE[1]:g} (no PET scale is that small or large: a damaged header, not the dose, "
                "weight or Units)"
            )
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


#: The patient inputs of each SUV type's normalising quantity.
_PATIENT_INPUTS = {
    "BW": ("weight",), "LBM": ("weight", "height", "sex"), "LBMJAMES128": ("weight", "height", "sex"),
    "LBMJANMA": ("weight", "height", "sex"), "IBW": ("height", "sex"), "BSA": ("weight", "height"),
}


def _stored_by_scanner(ctx: SeriesInputs, stored_type: str, what: str) -> None:
    """Record that the scanner applied dose, times, half-life and the stored type's patient inputs itself."""
    why = f"{what}: the voxels are SUV ({stored_type}) computed by the scanner"
    for name in ("dose", "half-life", "injection-time", "scan-time", *_PATIENT_INPUTS.get(stored_type, ())):
        ctx.scanner_applied[name] = why


def _ratio_to(ctx: SeriesInputs, stored_type: str, spec: Normalization) -> float:
    """Factor from SUV of ``stored_type`` to SUV of the requested normalisation: X_requested / X_stored."""
    if stored_type == spec.suv_type:
        return 1.0
    x_stored, stored_label = normalising_amount(ctx, stored_type)
    x_req, req_label = normalising_amount(ctx, spec.suv_type)
    ctx.note(f"converted from SUV by {stored_label} to SUV by {req_label}: factor {x_req:.6g} / {x_stored:.6g}")
    return x_req / x_stored


def _normalised_units(ctx: SeriesInputs, units: str, spec: Normalization) -> np.ndarray:
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
    _stored_by_scanner(ctx, suv_type, f"Units {units}")
    return np.full(len(ctx.datasets), _ratio_to(ctx, suv_type, spec))


def _counts(ctx: SeriesInputs, spec: Normalization) -> np.ndarray:
    creator, vendor = "Philips PET Private Group", "PHILIPS"
    suv_f, act_f, suv_src, act_src = [], [], None, None
    for ds in ctx.datasets:
        decisions: list[str] = []
        f, src = private_number(ds, 0x7053, 0x00, creator, vendor, decisions)
        a, asrc = private_number(ds, 0x7053, 0x09, creator, vendor, decisions)
        for d in decisions:
            ctx.note(d)
        suv_f.append(f if f else None)  # a factor of 0.0 means "not convertible" (Philips conformance statement)
        act_f.append(a if a else None)
        suv_src = suv_src or src
        act_src = act_src or asrc
    if all(f is not None for f in suv_f):
        if any(f < 0 for f in suv_f):
            raise SUVError(f"{suv_src} (Philips SUV Scale Factor) is negative")
        ctx.record("philips_suv_scale_factor", summary(suv_f), f"{suv_src} (Philips SUV Scale Factor)")
        ctx.note("Units CNTS: Philips SUV Scale Factor (7053,1000) converts counts to SUV by body weight")
        _stored_by_scanner(ctx, "BW", "Units CNTS with the Philips SUV Scale Factor")
        ratio = _ratio_to(ctx, "BW", spec)
        return np.asarray(suv_f, float) * ratio
    if all(a is not None for a in act_f):
        if any(a < 0 for a in act_f):
            raise SUVError(f"{act_src} (Philips Activity Concentration Scale Factor) is negative")
        ctx.record(
            "philips_activity_scale_factor", summary(act_f), f"{act_src} (Philips Activity Concentration Scale Factor)"
        )
        why = "absent" if all(f is None for f in suv_f) else "missing in some instances or 0"
        ctx.note(
            f"Units CNTS: Philips SUV Scale Factor (7053,1000) {why}; Activity Concentration Scale Factor "
            "(7053,1009) converts counts to Bq/mL, then the BQML rules apply"
        )
        return activity_factors(ctx, np.asarray(act_f, float), spec)
    if any(f is not None for f in suv_f) or any(a is not None for a in act_f):
        raise SUVError(
            "Units CNTS: Philips scale factors (7053,1000)/(7053,1009) are present in some instances only (or 0)"
        )
    raise SUVError(
        "Units CNTS without Philips SUV Scale Factor (7053,1000) or Activity Concentration Scale Factor "
        "(7053,1009): counts cannot be converted to SUV"
    )


def _cps_scale(ctx: SeriesInputs) -> np.ndarray:
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
    ctx.record("cps_to_bqml", summary(scale), "from PixelSpacing and SliceThickness (voxel volume)")
    return scale
