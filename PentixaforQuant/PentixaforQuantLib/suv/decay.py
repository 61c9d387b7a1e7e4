"""Decay correction of activity images: DecayCorrection START, ADMIN and NONE (QIBA, IBSI-SUV manual)."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from .audit import summary
from .dicom_time import format_datetime
from .dicom_values import fast_number, tag_label
from .half_life import half_life_s
from .injected_dose import dose_bq
from .injection_time import injection_datetime
from .limits import MAX_DECAY_HALF_LIVES
from .normalizations import Normalization
from .patient import normalising_amount
from .scan_time import acquisition_datetimes, datetime_range, scan_datetime
from .series_inputs import SeriesInputs
from ..errors import SUVError

__all__ = ["activity_factors", "decay_time_s"]


def activity_factors(ctx: SeriesInputs, bqml_per_unit: np.ndarray, spec: Normalization) -> np.ndarray:
    """Factors for images in activity concentration: A * X / D_ref with the decay-correction rules."""
    decay = ctx.series_string("DecayCorrection")
    if decay is None:
        raise SUVError(f"{tag_label('DecayCorrection')} is absent or empty; cannot tell the decay reference time")
    ctx.audit.decay_correction = decay
    ctx.record("decay_correction", decay, tag_label("DecayCorrection"))
    if decay not in ("START", "ADMIN", "NONE"):
        raise SUVError(f"{tag_label('DecayCorrection')} {decay!r} is not START, ADMIN or NONE")
    ctx.cache["decay"] = decay

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

    x, x_label = normalising_amount(ctx, spec.suv_type)
    dose = dose_bq(ctx)

    if decay == "ADMIN":
        ctx.note("DecayCorrection ADMIN: images are decay-corrected to the injection time, so the dose is not decayed")
        why = "DecayCorrection ADMIN: the scanner decay-corrected the images to the injection with its own times"
        for name in ("injection-time", "scan-time", "half-life"):
            ctx.scanner_applied[name] = why
        return bqml_per_unit * x / dose

    half_life = half_life_s(ctx)
    lam = math.log(2.0) / half_life
    if decay == "START":
        scan = scan_datetime(ctx, half_life)
        injection = injection_datetime(ctx, scan)
        ctx.audit.scan_datetime, ctx.audit.injection_datetime = scan, injection
        dt_s = decay_time_s(injection, scan, half_life)
        decayed = dose * math.exp(-lam * dt_s)
        ctx.record("decay_time_s", dt_s, "scan time - injection time")
        ctx.record("decayed_dose_bq", decayed, "dose x 2^(-decay time / half-life)")
        return bqml_per_unit * x / decayed

    # NONE: every image carries its own decay to its acquisition; bring dose and activity to the injection time.
    if ctx.ov.scan_datetime is not None:
        raise SUVError(
            "a scan-time override does not apply to DecayCorrection NONE, where each image has its own acquisition time",
            field="scan_datetime",
        )
    acq = acquisition_datetimes(ctx)
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
    injection = injection_datetime(ctx, earliest)
    ctx.audit.scan_datetime, ctx.audit.injection_datetime = earliest, injection
    factors = np.empty(len(acq))
    for n, (a, t) in enumerate(zip(acq, durations)):
        dt_s = decay_time_s(injection, a, half_life)
        frame = lam * t / -math.expm1(-lam * t)  # mean decay over the frame
        factors[n] = bqml_per_unit[n] * x / dose * frame * math.exp(lam * dt_s)
    ctx.record("acquisition_datetimes", datetime_range(acq), f"{tag_label('AcquisitionTime')} per instance")
    ctx.record("frame_durations_s", summary(durations), f"{tag_label('ActualFrameDuration')} per instance")
    ctx.note(
        "DecayCorrection NONE: each instance is corrected for decay from injection to its own acquisition start "
        "and over its frame duration: f = A X / D * (lambda T / (1 - exp(-lambda T))) * exp(lambda (t_acq - t_inj))"
    )
    return factors


def decay_time_s(injection: datetime, scan: datetime, half_life_s: float) -> float:
    dt_s = (scan - injection).total_seconds()
    if dt_s < 0:
        raise SUVError(
            f"injection time {format_datetime(injection)} is after the scan time {format_datetime(scan)} "
            f"(decay time {dt_s:g} s); check RadiopharmaceuticalStartDateTime/Time (0018,1078)/(0018,1072)",
            field="injection_datetime",
        )
    if dt_s > MAX_DECAY_HALF_LIVES * half_life_s:
        raise SUVError(
            f"decay time from injection {format_datetime(injection)} to scan {format_datetime(scan)} is "
            f"{dt_s / half_life_s:.1f} half-lives; the dates or times are implausible", field="injection_datetime",
        )
    return dt_s
