"""How the scan (decay reference) time is chosen for DecayCorrection START, by the QIBA order (docs/suv.md §4).

1. SeriesDate/SeriesTime, unless after the earliest acquisition; 2. the GE private PET scan DateTime; 3. the
reference time back-computed from each frame (only when SeriesTime is after the acquisitions); 4. the earliest
acquisition date-time. The per-instance acquisition times (also used by DecayCorrection NONE) are read here.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from .dicom_time import format_datetime, parse_da
from .dicom_values import fast_number, fast_string, tag_label, text
from .limits import BACKCOMP_SPREAD_S
from .private_tags import private_value
from .series_inputs import SeriesInputs
from ..errors import SUVError

__all__ = ["acquisition_datetimes", "datetime_range", "scan_datetime"]


def datetime_range(values: list[datetime]) -> str:
    lo, hi = min(values), max(values)
    if lo == hi:
        return format_datetime(lo)
    return f"{len(set(values))} values from {format_datetime(lo)} to {format_datetime(hi)}"


_ACQUISITION_KEYWORDS = ("AcquisitionDateTime", "AcquisitionDate", "AcquisitionTime", "SeriesDate")


def acquisition_datetimes(ctx: SeriesInputs) -> list[datetime | None]:
    """Per-instance acquisition start: AcquisitionDateTime, else AcquisitionDate + AcquisitionTime."""
    if "acquisitions" in ctx.cache:
        return ctx.cache["acquisitions"]
    out: list[datetime | None] = []
    parsed: dict[tuple, datetime | None] = {}  # many instances share the same texts
    for ds in ctx.datasets:
        key = tuple(fast_string(ds, kw) for kw in _ACQUISITION_KEYWORDS)
        if key not in parsed:
            parsed[key] = _acquisition_datetime(ctx, *key)
        out.append(parsed[key])
    ctx.cache["acquisitions"] = out
    return out


def _acquisition_datetime(ctx: SeriesInputs, dt_text, da_text, tm_text, series_da_text) -> datetime | None:
    if dt_text:
        return ctx.dt_beside_clock(dt_text, tag_label("AcquisitionDateTime"), tm_text, tag_label("AcquisitionTime"),
                                   "--scan-time")
    if not tm_text:
        return None
    t = ctx.parse_tm_text(tm_text, tag_label("AcquisitionTime"))
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


def _series_datetime(ctx: SeriesInputs) -> datetime | None:
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


def scan_datetime(ctx: SeriesInputs, half_life_s: float) -> datetime:
    """Reference time of DecayCorrection START by the QIBA order (see docs/suv.md)."""
    scan = ctx.override_datetime("scan")
    if scan is not None:
        ctx.record("scan_datetime", scan, "user override")
        ctx.note(f"scan time = {format_datetime(scan)} from user override")
        return scan
    series = _series_datetime(ctx)
    acq = acquisition_datetimes(ctx)
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
        value, source = private_value(ds, 0x0009, 0x0D, "GEMS_PETD_01", "GE", decisions)
        for d in decisions:
            ctx.note(d)
        if value is not None and text(value):
            ge_values.append(ctx.parse_dt_text(text(value), f"{source} (GE PET scan DateTime)"))
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
            "(0008,0022)/(0008,0032) are absent", field="scan_datetime",
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


def _back_computed(ctx: SeriesInputs, acq: list[datetime | None], half_life_s: float):
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
        if ref > a + timedelta(seconds=BACKCOMP_SPREAD_S):
            return None, f"the frame of instance {n + 1} would put the reference after its own start"
        refs.append(ref)
    spread = (max(refs) - min(refs)).total_seconds()
    if spread > BACKCOMP_SPREAD_S:
        return None, f"the frames disagree on the reference time by {spread:.1f} s"
    return refs[acq.index(min(acq))], None
