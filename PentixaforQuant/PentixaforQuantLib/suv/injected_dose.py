"""The injected dose of the SUV conversion: RadionuclideTotalDose or the override, in Bq."""

from __future__ import annotations

import math

from .dicom_values import tag_label
from .limits import DOSE_MBQ_BELOW, DOSE_RANGE_BQ
from .plausibility import unit_hint
from .series_inputs import SeriesInputs
from ..errors import SUVError

__all__ = ["dose_bq"]


def _in_range(value: float) -> bool:
    lo, hi = DOSE_RANGE_BQ
    return lo <= value <= hi


def _range_text() -> str:
    lo, hi = DOSE_RANGE_BQ
    return f"{lo / 1e6:g} MBq-{hi / 1e9:g} GBq"


def dose_bq(ctx: SeriesInputs) -> float:
    """Injected activity (Bq): the override, else RadionuclideTotalDose (0018,1074) (below 1e5 read as MBq)."""
    if "dose" in ctx.cache:
        return ctx.cache["dose"]
    header = ctx.header_or_none(lambda: ctx.radiopharm_number("RadionuclideTotalDose"), ctx.ov.dose_bq)
    tag = tag_label("RadionuclideTotalDose")
    where = f"{tag} in {tag_label('RadiopharmaceuticalInformationSequence')}"
    if ctx.ov.dose_bq is not None:
        try:
            d = float(ctx.ov.dose_bq)
        except (TypeError, ValueError):
            raise SUVError(f"the dose override must be a number of Bq; got {ctx.ov.dose_bq!r}",
                           field="dose_bq") from None
        if not (math.isfinite(d) and d > 0):
            raise SUVError(f"the dose override must be a positive number of Bq; got {ctx.ov.dose_bq!r}",
                           field="dose_bq")
        if not _in_range(d):
            # The command line takes MBq; a Python caller gives Bq.
            hint = unit_hint(d, _in_range, [(37.0, "mCi given as MBq", "MBq"), (1e3, "GBq given as MBq", "MBq"),
                                            (1e6, "MBq given as Bq", "MBq"), (1e-3, "kBq given as MBq", "MBq")])
            ctx.implausible(f"the dose override {d:g} Bq ({d / 1e6:.4g} MBq) is outside {_range_text()}{hint}",
                            field="dose_bq")
        ctx.record("dose_bq", d, "user override")
        if header:
            ctx.note(f"dose {d:g} Bq from user override replaces {tag} {header:g}")
    else:
        if header is None:
            raise SUVError(f"injected dose missing: {where} is absent or empty; give the dose as an override",
                           field="dose_bq")
        if header <= 0:
            raise SUVError(f"injected dose is {header:g}: {tag} must be positive", field="dose_bq")
        d = header
        source = where
        as_mbq = header < DOSE_MBQ_BELOW
        if as_mbq:
            d = header * 1e6
            ctx.note(f"{tag} {header:g} is below {DOSE_MBQ_BELOW:g}, so it is read as MBq: {d:g} Bq")
            source += " (MBq converted to Bq)"
        if not _in_range(d):
            candidates = ([(37.0, "in mCi", "MBq"), (1e3, "in GBq", "MBq"), (0.037, "in uCi", "MBq")] if as_mbq
                          else [(1e3, "in kBq", "MBq"), (37e3, "in uCi", "MBq")])
            hint = unit_hint(d, _in_range, candidates)
            read = f"{d / 1e6:.4g} MBq (read as {'MBq' if as_mbq else 'Bq'})"
            ctx.implausible(f"{tag} {header:g} is implausible: {read} is outside {_range_text()}{hint}", field="dose_bq")
        ctx.record("dose_bq", d, source)
    ctx.cache["dose"] = d
    return d
