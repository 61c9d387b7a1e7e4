"""The injected dose of the SUV conversion: RadionuclideTotalDose or the override, in Bq."""

from __future__ import annotations

import math

from .dicom_values import tag_label
from .limits import DOSE_RANGE_BQ, MBQ_BELOW
from .series_inputs import SeriesInputs
from ..errors import SUVError

__all__ = ["dose_bq"]


def dose_bq(ctx: SeriesInputs) -> float:
    if "dose" in ctx.cache:
        return ctx.cache["dose"]
    header = ctx.header_or_none(lambda: ctx.radiopharm_number("RadionuclideTotalDose"), ctx.ov.dose_bq)
    where = f"{tag_label('RadionuclideTotalDose')} in {tag_label('RadiopharmaceuticalInformationSequence')}"
    if ctx.ov.dose_bq is not None:
        d = float(ctx.ov.dose_bq)
        if not (math.isfinite(d) and d > 0):
            raise SUVError(f"dose override must be a positive number of Bq; got {d!r}")
        ctx.record("dose_bq", d, "user override")
        if header:
            ctx.note(f"dose {d:g} Bq from user override replaces {tag_label('RadionuclideTotalDose')} {header:g}")
    else:
        if header is None:
            raise SUVError(f"injected dose missing: {where} is absent or empty; give the dose as an override")
        if header <= 0:
            raise SUVError(f"injected dose is {header:g}: {tag_label('RadionuclideTotalDose')} must be positive")
        d = header
        source = where
        if header < MBQ_BELOW:
            d = header * 1e6
            ctx.note(
                f"{tag_label('RadionuclideTotalDose')} {header:g} is below {MBQ_BELOW:g}, so it is read as MBq: "
                f"{d:g} Bq"
            )
            source += " (MBq converted to Bq)"
        lo, hi = DOSE_RANGE_BQ
        if not lo <= d <= hi:
            raise SUVError(f"{tag_label('RadionuclideTotalDose')} {header:g} is implausible as Bq or MBq")
        ctx.record("dose_bq", d, source)
    ctx.cache["dose"] = d
    return d
