"""How the injection time is chosen: RadiopharmaceuticalStartDateTime, else StartTime on the scan date."""

from __future__ import annotations

from datetime import datetime, timedelta

from .dicom_time import format_datetime
from .dicom_values import string, tag_label
from .limits import MIDNIGHT_SHIFT_MAX_S, START_TIMES_AGREE_S
from .series_inputs import SeriesInputs, _seconds_apart
from ..errors import SUVError

__all__ = ["injection_datetime"]


def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes} min" if minutes else f"{seconds:.3g} s"


def injection_datetime(ctx: SeriesInputs, reference: datetime) -> datetime:
    """Injection time: StartDateTime, else StartTime on the reference (scan) date with midnight handling."""
    inj = ctx.override_datetime("injection")
    if inj is not None:
        ctx.record("injection_datetime", inj, "user override")
        return inj
    where = tag_label("RadiopharmaceuticalInformationSequence")
    dt_values, tm_values = [], []
    for item in ctx.radiopharm_items():
        if item is None:
            dt_values.append(None)
            tm_values.append(None)
            continue
        dt_values.append(ctx.parse_dt_attr(item, "RadiopharmaceuticalStartDateTime",
                                           clock_keyword="RadiopharmaceuticalStartTime", override="--injection-time"))
        text = string(item, "RadiopharmaceuticalStartTime")
        tm_values.append(ctx.parse_tm_text(text, tag_label("RadiopharmaceuticalStartTime")) if text else None)
    instances = ctx.instances_for("RadiopharmaceuticalInformationSequence")
    start_dt = ctx.same("RadiopharmaceuticalStartDateTime", dt_values, instances)
    start_tm = ctx.same("RadiopharmaceuticalStartTime", tm_values, instances)
    if start_dt is not None:
        if start_tm is not None and _seconds_apart(start_tm, start_dt.time()) >= START_TIMES_AGREE_S:
            apart = _seconds_apart(start_tm, start_dt.time())
            ctx.implausible(
                f"{tag_label('RadiopharmaceuticalStartDateTime')} {format_datetime(start_dt)} and "
                f"{tag_label('RadiopharmaceuticalStartTime')} {start_tm.isoformat()} disagree by "
                f"{_duration(apart)}{' (a time-zone offset?)' if apart % 900 < 1 else ''}, and the decay time "
                "depends on which is right: give the injection time as an override (--injection-time); the "
                "StartDateTime is used only when accepted", field="injection_datetime",
            )
        elif start_tm is not None and start_tm != start_dt.time():
            ctx.note(
                f"RadiopharmaceuticalStartTime {start_tm.isoformat()} differs from StartDateTime "
                f"{format_datetime(start_dt)} by less than {START_TIMES_AGREE_S:g} s; the StartDateTime is used"
            )
        ctx.record("injection_datetime", start_dt, f"{tag_label('RadiopharmaceuticalStartDateTime')} in {where}")
        return start_dt
    if start_tm is None:
        raise SUVError(
            f"injection time missing: {tag_label('RadiopharmaceuticalStartDateTime')} and "
            f"{tag_label('RadiopharmaceuticalStartTime')} in {where} are absent; give it as an override",
            field="injection_datetime",
        )
    inj = datetime.combine(reference.date(), start_tm)
    source = f"{tag_label('RadiopharmaceuticalStartTime')} in {where}, on the scan date"
    if inj > reference:
        shifted = inj - timedelta(days=1)
        uptake_s = (reference - shifted).total_seconds()
        if uptake_s > MIDNIGHT_SHIFT_MAX_S:
            raise SUVError(
                f"{tag_label('RadiopharmaceuticalStartTime')} {start_tm.isoformat()} is later in the day than the "
                f"scan {format_datetime(reference)}; taking it on the previous day would mean {uptake_s / 3600:.1f} h "
                f"of uptake (more than the {MIDNIGHT_SHIFT_MAX_S / 3600:g} h of the midnight rule), so the time is "
                "wrong: give RadiopharmaceuticalStartDateTime or the injection time as an override",
                field="injection_datetime",
            )
        inj = shifted
        ctx.note(
            f"RadiopharmaceuticalStartTime {start_tm.isoformat()} is later in the day than the scan "
            f"{format_datetime(reference)}, so the injection is taken on the previous day ({inj.date().isoformat()}): "
            f"the midnight rule applies to uptake times up to {MIDNIGHT_SHIFT_MAX_S / 3600:g} h "
            f"(here {uptake_s / 3600:.2f} h)"
        )
        source += " (previous day: injection before midnight)"
    else:
        ctx.note(
            f"RadiopharmaceuticalStartDateTime absent: injection taken on the scan date {reference.date().isoformat()}"
        )
    ctx.record("injection_datetime", inj, source)
    return inj
