"""SUV conversion factors from PET DICOM headers, with an audit of every input and decision.

The conversion follows the QIBA vendor-neutral order for SUVbw (QIBA "Standardized Uptake Value (SUV)" wiki page
and its vendor-neutral pseudo-code) with the extensions of the IBSI-SUV manual (Vacha M et al., *Comprehensive
Manual for SUV Computation and Digital Reference Objects for its Verification*, IBSI): Units BQML, CNTS (Philips
private scale factors), GML with SUVType, CM2ML and CPS; DecayCorrection START, ADMIN and NONE; the GE private
scan time; frame back-computation of the reference time; dose in MBq; weight in grams; half-life from the
radionuclide code. ``docs/suv.md`` states the rules for a physicist; this module is the entry point.

For each instance (image) the result holds one factor ``f`` such that ``SUV = (stored * RescaleSlope +
RescaleIntercept) * f``; the intercept must be 0. In general

    f = A * X / D_ref

with ``A`` the activity concentration in Bq/mL per modality unit (1 for BQML), ``X`` the normalising quantity
(body weight in g for SUVbw, lean body mass in g for SUVlbm, ideal body weight in g for SUVibw, body surface
area in cm^2 for SUVbsa) and ``D_ref`` the injected dose in Bq decayed to the time the image is decay-corrected
to. Images already normalised by the scanner (GML, CM2ML, Philips SUV scale factor) are converted between
normalisations by the ratio of the normalising quantities.

The normalisation names and units strings are in :mod:`.normalizations`. The rules live in one module each:
:mod:`.patient` (weight, height, sex), :mod:`.injected_dose`, :mod:`.half_life`, :mod:`.units` (the Units path),
:mod:`.decay` (DecayCorrection), :mod:`.scan_time` and :mod:`.injection_time`; :mod:`.series_inputs` reads the
series-level values they share, and :mod:`.audit` holds the result types.

Nothing is guessed: a missing or implausible input raises :class:`~PentixaforQuantLib.errors.SUVError` whose
one-line message names the attribute and its tag, unless :class:`SUVOverrides` supplies the value.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .audit import SUVAudit, SUVConversion
from .dicom_values import fast_string, quiet_pydicom, text
from .normalizations import LBM_UNSPECIFIED_UNITS, NORMALIZATIONS, SUV_LABELS, normalization_name
from .overrides import SUVOverrides
from .series_inputs import SeriesInputs
from .units import factors_from_units
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
        with quiet_pydicom():  # pydicom's warnings on malformed values quote raw bytes; the rules refuse them
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
    ctx = SeriesInputs(datasets, overrides, audit)
    audit.series_uid = fast_string(ctx.first, "SeriesInstanceUID")
    audit.instances = len(ctx.datasets)
    if overrides.accept_implausible is not None:
        reason = str(overrides.accept_implausible).strip()
        if not reason:
            raise SUVError("accept_implausible needs a reason (why the implausible values are right); it is empty")
        ctx.record("accept_implausible", reason, "user override")

    factors = factors_from_units(ctx, spec)
    _check_unused_overrides(ctx, spec)

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


#: Override field -> (audit input it is recorded under, name used in messages).
_OVERRIDE_INPUTS = (
    ("weight_kg", "weight_kg", "weight"),
    ("height_m", "height_m", "height"),
    ("sex", "sex", "sex"),
    ("dose_bq", "dose_bq", "dose"),
    ("half_life_s", "half_life_s", "half-life"),
    ("injection_datetime", "injection_datetime", "injection-time"),
    ("scan_datetime", "scan_datetime", "scan-time"),
)


def _check_unused_overrides(ctx: SeriesInputs, spec) -> None:
    """An override the conversion did not use is refused when the scanner already applied its own value (it
    cannot correct it), and recorded as unused (a warning) when the chosen normalisation does not need it."""
    for field, input_name, label in _OVERRIDE_INPUTS:
        if getattr(ctx.ov, field) is None:
            continue
        entry = ctx.audit.inputs.get(input_name)
        if entry is not None and entry["source"] == "user override":
            continue
        why = ctx.scanner_applied.get(label)
        if why:
            raise SUVError(f"the {label} override cannot apply: {why}; remove the override", field=field)
        ctx.audit.warn(f"the {label} override was not used: SUV by {spec.label} does not need it")
        ctx.note(f"the {label} override was not used (not needed for SUV by {spec.label})")


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
    norm = SUV_LABELS.get(key)
    if norm is None:
        known = ", ".join(sorted({n.units for n in NORMALIZATIONS.values()} | {LBM_UNSPECIFIED_UNITS}))
        raise SUVError(f"volume units {units_label!r} are not SUV units ({known}); it cannot be used as SUV")
    units = NORMALIZATIONS[norm].units if norm in NORMALIZATIONS else LBM_UNSPECIFIED_UNITS
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
