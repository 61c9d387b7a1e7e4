"""Series-level inputs of the SUV conversion: read once, checked to agree across instances, recorded in the audit.

:class:`SeriesInputs` is what the rule modules (patient, injected dose, half-life, units, decay, scan and
injection time) are given: the datasets, the overrides, the audit being written, and readers that refuse an
attribute that differs between instances.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from .audit import SUVAudit, short_text
from .dicom_time import parse_da, parse_dt, parse_tm
from .dicom_values import get_value, number, string, tag_label, uniform
from .overrides import SUVOverrides
from ..errors import DicomValueError, SUVError

__all__ = ["SeriesInputs"]


_SERIES_KEYWORDS = (
    "Units", "DecayCorrection", "CorrectedImage", "SUVType", "PatientWeight", "PatientSize", "PatientSex",
    "RadiopharmaceuticalInformationSequence", "SeriesDate", "SeriesTime", "Manufacturer",
)


class SeriesInputs:
    """Reads series-level inputs once, checks they agree across instances and records them in the audit."""

    def __init__(self, datasets: Sequence, overrides: SUVOverrides, audit: SUVAudit):
        self.datasets = list(datasets)
        self.first = self.datasets[0]
        self.ov = overrides
        self.audit = audit
        self.cache: dict[str, Any] = {}
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
        if key not in self.cache:
            self.cache[key] = uniform(self.datasets, keyword)
        return self.datasets[:1] if self.cache[key] else self.datasets

    def series_number(self, keyword: str) -> float | None:
        """A numeric attribute that must be the same in every instance."""
        values = [number(ds, keyword) for ds in self.instances_for(keyword)]
        return self.same(keyword, values)

    def series_string(self, keyword: str) -> str | None:
        values = [string(ds, keyword) for ds in self.instances_for(keyword)]
        value = self.same(keyword, values)
        return value.upper() if isinstance(value, str) else value

    def same(self, what: str, values: list):
        """The one value of ``what`` over ``values``; refused when they differ or are missing in some."""
        present = {v for v in values if v is not None}
        if len(present) > 1:
            shown = ", ".join(sorted(short_text(v) for v in present)[:4])
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
        return self.same(keyword, values)

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

    def header_or_none(self, read, override):
        """``read()``; when an override is given, an unusable header value is noted instead of refused."""
        if override is None:
            return read()
        try:
            return read()
        except (SUVError, DicomValueError) as exc:
            self.note(f"header value not usable ({exc}); the user override is used")
            return None
