"""Plausibility: values outside the limits of :mod:`.limits` are refused, or accepted with the user's stated reason.

The refusal names the value, the limit and, where one fits, the likely unit mistake ("in grams? that is 70 kg").
With ``SUVOverrides.accept_implausible`` the value is used and the audit carries a warning quoting the reason.
The SUV volume itself is checked last, against physiology: an implausible maximum, or a median SUV of the body
that no body has, is refused (or accepted with a reason), naming the inputs that set the scale and the unit
mistake that would explain it (a dose in mCi entered as MBq gives 37 times the SUV).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .audit import SUVAudit, SUVConversion
from .limits import BODY_MEDIAN_SUV_MAX, BODY_OUTLINE_FRACTION, SUV_MAX_LIMIT, SUV_MAX_LOW
from .overrides import SUVOverrides
from ..errors import SUVError

__all__ = ["body_median_suv", "check_body_median", "check_suv_maximum", "check_suv_scale", "implausible",
           "unit_hint"]


def unit_hint(value: float, in_range, candidates: Sequence[tuple[float, str, str]]) -> str:
    """``"; <label>? that would be <value x factor> <unit>"`` for the first candidate that lands in range, else ``""``.

    ``candidates`` holds ``(factor, label, unit of the shown value)``; ``in_range(v)`` says whether ``v`` is
    plausible.
    """
    for factor, label, unit in candidates:
        if in_range(value * factor):
            return f"; {label}? that would be {_shown(value * factor, unit)}"
    return ""


def _shown(value: float, unit: str) -> str:
    if unit == "MBq":
        return f"{value / 1e6:.4g} MBq"
    return f"{value:.4g} {unit}"


def implausible(message: str, audit: SUVAudit, overrides: SUVOverrides | None, *, field: str | None = None) -> None:
    """Refuse ``message`` as an :class:`SUVError` (about the input ``field``), or record it as a warning when the
    user gave a reason."""
    reason = _reason(overrides)
    if reason is None:
        raise SUVError(f"{message}; if it is right, accept it with a stated reason (--accept-implausible REASON)",
                       field=field)
    audit.warn(f"{message}; accepted as right: {reason}")


def _reason(overrides: SUVOverrides | None) -> str | None:
    raw = getattr(overrides, "accept_implausible", None) if overrides is not None else None
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        raise SUVError("accept_implausible needs a reason (why the implausible values are right); it is empty")
    return text


def check_suv_maximum(slice_maxima: np.ndarray, files: Sequence, conversion: SUVConversion,
                      overrides: SUVOverrides | None) -> None:
    """Refuse (or accept with a reason) an SUV volume whose maximum is implausible; warn about a very low one.

    Parameters
    ----------
    slice_maxima : array of float
        The SUV maximum of each slice, in slice order.
    files : sequence of Path
        The file of each slice (named in the message).
    """
    maxima = np.asarray(slice_maxima, float)
    if maxima.size == 0:
        return
    k = int(np.nanargmax(maxima)) if np.any(np.isfinite(maxima)) else 0
    top = float(maxima[k])
    name = getattr(files[k], "name", str(files[k])) if len(files) > k else f"slice {k}"
    if not np.all(np.isfinite(maxima)):
        bad = int(np.flatnonzero(~np.isfinite(maxima))[0])
        raise SUVError(f"the SUV volume has non-finite values in the slice of {getattr(files[bad], 'name', bad)}")
    audit = conversion.audit
    if top > SUV_MAX_LIMIT:
        implausible(
            f"SUV maximum {top:.4g} (slice of {name}) is above {SUV_MAX_LIMIT:g}, which no tissue reaches; "
            f"{_scale_inputs(audit)}", audit, overrides,
        )
    elif top < SUV_MAX_LOW:
        audit.warn(
            f"SUV maximum {top:.3g} is below {SUV_MAX_LOW:g} (the blood pool alone is about 1-2); "
            f"{_scale_inputs(audit, high=False)}"
        )


def check_suv_scale(suv: np.ndarray, slice_maxima: np.ndarray, files: Sequence, conversion: SUVConversion,
                    overrides: SUVOverrides | None) -> None:
    """Every check of an SUV volume against physiology: :func:`check_suv_maximum`, then :func:`check_body_median`."""
    check_suv_maximum(slice_maxima, files, conversion, overrides)
    check_body_median(suv, conversion, overrides)


#: The body median is taken on about this many voxels (larger volumes: every n-th slice, at least 20 slices),
#: so that the check costs some tens of milliseconds on any scan.
_SAMPLE_VOXELS = 2_000_000


def body_median_suv(suv: np.ndarray) -> float | None:
    """Median SUV of the body: the finite voxels above :data:`BODY_OUTLINE_FRACTION` of the volume's 99.5th
    percentile (an outline that does not depend on the scale); None for a volume without such voxels."""
    # Whole slices at a regular step (contiguous in memory, so cheap to read), at least 20 of them.
    step = max(1, min(int(np.ceil(suv.size / _SAMPLE_VOXELS)), len(suv) // 20)) if suv.ndim == 3 else 1
    sample = suv[::step] if step > 1 else suv
    values = np.asarray(sample, dtype=np.float32).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    top = float(np.percentile(values, 99.5))
    body = values[values > BODY_OUTLINE_FRACTION * top] if top > 0 else values[:0]
    return float(np.median(body)) if body.size else None


def check_body_median(suv: np.ndarray, conversion: SUVConversion, overrides: SUVOverrides | None) -> None:
    """Refuse (or accept with a reason) a volume whose body has a median SUV above :data:`BODY_MEDIAN_SUV_MAX`.

    SUVbw averaged over the whole body is the fraction of the injected activity still in it (at most about 1);
    a median far above that means the dose or the weight was read in the wrong unit, and the message names the
    unit that would bring it back into the physiological range."""
    median = body_median_suv(suv)
    if median is None or median <= BODY_MEDIAN_SUV_MAX:
        return
    audit = conversion.audit
    implausible(
        f"the body's median SUV is {median:.3g} (voxels above {BODY_OUTLINE_FRACTION:.0%} of the 99.5th "
        f"percentile), above {BODY_MEDIAN_SUV_MAX:g}, which no body reaches (SUV averaged over the whole body is "
        f"at most about 1); the SUV scale is wrong{_unit_cause(audit, median) or '; ' + _scale_inputs(audit)}",
        audit, overrides,
    )


#: (factor by which the SUV is too high, the dose mistake that gives it)
_DOSE_MISTAKES = ((1000.0, "in kBq read as Bq? that would be {} MBq"), (37.0, "in mCi entered as MBq? that would be {} MBq"),
                  (1e6, "in Bq entered as MBq? that would be {} MBq"))
#: (factor, the weight mistake that gives it)
_WEIGHT_MISTAKES = ((2.20462, "in lb entered as kg? that would be {} kg"),)


#: The median body SUV a corrected scale should give (for choosing the likely unit mistake) and the range in
#: which a correction counts as physiological.
_TYPICAL_BODY_MEDIAN = 0.7
_PHYSIOLOGICAL_BODY_MEDIAN = (0.1, 2.5)


def _unit_cause(audit: SUVAudit, median: float) -> str:
    """``": likely the injected dose 12 MBq [source], in mCi entered as MBq? that would be 444 MBq"``: the unit
    mistake whose correction brings the body median closest to a typical value within the physiological range,
    else ``""``."""
    candidates = []
    for key, mistakes, shown_value in (
        ("dose_bq", _DOSE_MISTAKES, lambda v, f: f"{v * f / 1e6:.4g}"),
        ("weight_kg", _WEIGHT_MISTAKES, lambda v, f: f"{v / f:.4g}"),
    ):
        entry = audit.inputs.get(key)
        if entry is None or not isinstance(entry["value"], (int, float)):
            continue
        for factor, text in mistakes:
            corrected = median / factor
            if _PHYSIOLOGICAL_BODY_MEDIAN[0] <= corrected <= _PHYSIOLOGICAL_BODY_MEDIAN[1]:
                value = entry["value"]
                what = (f"the injected dose {value / 1e6:.4g} MBq" if key == "dose_bq" else f"the weight {value:.4g} kg")
                candidates.append((abs(np.log(corrected / _TYPICAL_BODY_MEDIAN)),
                                   f": likely {what} [{entry['source']}], {text.format(shown_value(value, factor))}"))
    return min(candidates)[1] if candidates else ""


def _scale_inputs(audit: SUVAudit, *, high: bool = True) -> str:
    """The inputs that set the SUV scale, for the message of an implausible SUV scale."""
    parts = []
    dose = audit.inputs.get("dose_bq")
    if dose is not None and isinstance(dose["value"], (int, float)):
        parts.append(f"injected dose {dose['value'] / 1e6:.4g} MBq [{dose['source']}]")
    weight = audit.inputs.get("weight_kg")
    if weight is not None and isinstance(weight["value"], (int, float)):
        parts.append(f"weight {weight['value']:.4g} kg [{weight['source']}]")
    if audit.source_units:
        parts.append(f"Units {audit.source_units}")
    slope = audit.inputs.get("rescale_slope")
    if slope is not None and isinstance(slope["value"], (int, float)):
        parts.append(f"RescaleSlope {slope['value']:.4g}")
    shown = ", ".join(parts) if parts else "the header values in the audit"
    if high:
        return f"check {shown} (a dose in kBq read as Bq gives 1000 times the SUV, one in mCi entered as MBq 37 times)"
    return f"check {shown} (a weight in g read as kg gives 1/1000 of the SUV)"
