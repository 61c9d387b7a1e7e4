"""Plausibility: values outside the limits of :mod:`.limits` are refused, or accepted with the user's stated reason.

The refusal names the value, the limit and, where one fits, the likely unit mistake ("in grams? that is 70 kg").
With ``SUVOverrides.accept_implausible`` the value is used and the audit carries a warning quoting the reason.
The SUV volume itself is checked last: an implausible maximum is refused (or accepted with a reason) naming the
file of its slice and the inputs that set the scale.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .audit import SUVAudit, SUVConversion
from .limits import SUV_MAX_LIMIT, SUV_MAX_LOW
from .overrides import SUVOverrides
from ..errors import SUVError

__all__ = ["check_suv_maximum", "implausible", "unit_hint"]


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
            f"{_scale_inputs(audit)}"
        )


def _scale_inputs(audit: SUVAudit) -> str:
    """The inputs that set the SUV scale, for the message of an implausible maximum."""
    parts = []
    dose = audit.inputs.get("dose_bq")
    if dose is not None and isinstance(dose["value"], (int, float)):
        parts.append(f"injected dose {dose['value'] / 1e6:.4g} MBq [{dose['source']}]")
    weight = audit.inputs.get("weight_kg")
    if weight is not None and isinstance(weight["value"], (int, float)):
        parts.append(f"weight {weight['value']:.4g} kg [{weight['source']}]")
    if audit.source_units:
        parts.append(f"Units {audit.source_units}")
    shown = ", ".join(parts) if parts else "the header values in the audit"
    return f"check {shown} (a dose in kBq read as Bq gives 1000 times the SUV)"
