"""Series-level inputs of the SUV conversion: read once, checked to agree across instances, recorded in the audit.

:class:`SeriesInputs` is what the rule modules (patient, injected dose, half-life, units, decay, scan and
injection time) are given: the datasets, the overrides, the audit being written, and readers that refuse an
attribute that differs between instances.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from .audit import SUVAudit, short_text
from .dicom_time import format_datetime, parse_da, parse_dt, parse_tm
from .dicom_values import get_value, number, string, tag_label, uniform
from .overrides import SUVOverrides, parse_override_datetime
from .plausibility import implausible
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
        #: Inputs the scanner already applied to the stored values (override name -> why), e.g. the weight of
        #: Units GML SUVbw: an override of them cannot apply and is refused.
        self.scanner_applied: dict[str, str] = {}
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
        instances = self.instances_for(keyword)
        return self.same(keyword, [number(ds, keyword) for ds in instances], instances)

    def series_string(self, keyword: str) -> str | None:
        instances = self.instances_for(keyword)
        value = self.same(keyword, [string(ds, keyword) for ds in instances], instances)
        return value.upper() if isinstance(value, str) else value

    def same(self, what: str, values: list, instances: list | None = None):
        """The one value of ``what`` over ``values``; refused when they differ or are missing in some.

        ``instances`` (the datasets the values come from) lets the message name the files that disagree.
        """
        present = {v for v in values if v is not None}
        if len(present) > 1:
            shown = ", ".join(sorted(short_text(v) for v in present)[:4])
            raise SUVError(
                f"{tag_label(what)} differs between instances ({shown}){self._where_differs(values, instances)}; "
                "the series must agree"
            )
        if present and len(present) == 1 and any(v is None for v in values):
            missing = next(n for n, v in enumerate(values) if v is None)
            raise SUVError(
                f"{tag_label(what)} is present in some instances but missing in others"
                f"{self._file_of(instances, missing, ' (e.g. missing in {})')}"
            )
        return present.pop() if present else None

    @staticmethod
    def _file_of(instances, n: int, template: str) -> str:
        name = getattr(instances[n], "filename", None) if instances is not None and n < len(instances) else None
        return template.format(Path(str(name)).name) if name else ""

    def _where_differs(self, values: list, instances) -> str:
        known = [n for n, v in enumerate(values) if v is not None]
        first = known[0]
        other = next(n for n in known if values[n] != values[first])
        a = self._file_of(instances, first, "{}")
        b = self._file_of(instances, other, "{}")
        if not (a and b):
            return ""
        return f": {short_text(values[first])} in {a}, {short_text(values[other])} in {b}"

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
        return self.same(keyword, values, self.instances_for("RadiopharmaceuticalInformationSequence"))

    def implausible(self, message: str, *, field: str | None = None) -> None:
        """Refuse a value outside a plausibility limit, or record it as a warning when the user gave a reason;
        ``field``: the input (``SUVOverrides`` field) the refusal concerns."""
        implausible(message, self.audit, self.ov, field=field)

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
        return self.parse_dt_text(text, label or tag_label(keyword))

    def parse_dt_text(self, text: str, label: str) -> datetime:
        """A DT value with a clock time (at least hours and minutes), in the series' local time."""
        try:
            value = parse_dt(text)
        except ValueError as exc:
            raise SUVError(f"{label} is not a valid date-time: {exc}") from None
        digits = re.match(r"\d*", text.strip()).group()
        if len(digits) < 12:
            raise SUVError(
                f"{label} {text.strip()!r} has no time of day (hours and minutes); it would be read as "
                f"{'midnight' if len(digits) <= 8 else 'a whole hour'}"
            )
        return self.local(value, label)

    def parse_tm_text(self, text: str, label: str):
        """A TM value with at least hours and minutes."""
        try:
            value = parse_tm(text)
        except ValueError as exc:
            raise SUVError(f"{label} is not a valid time: {exc}") from None
        stripped = text.strip()
        if ":" not in stripped and len(re.match(r"\d*", stripped).group()) < 4:
            raise SUVError(f"{label} {stripped!r} gives the hour only; minutes are needed")
        return value

    def parse_da_tm(self, ds, da_kw: str, tm_kw: str, fallback_date=None) -> datetime | None:
        tm = string(ds, tm_kw)
        if not tm:
            return None
        da = string(ds, da_kw)
        t = self.parse_tm_text(tm, tag_label(tm_kw))
        if not da:
            if fallback_date is None:
                return None
            return datetime.combine(fallback_date, t)
        try:
            return datetime.combine(parse_da(da), t)
        except ValueError as exc:
            raise SUVError(f"{tag_label(da_kw)} is not a valid date: {exc}") from None

    def override_datetime(self, which: str) -> datetime | None:
        """The ``injection`` or ``scan`` date-time override as a naive local time, or None.

        A UTC offset is honoured: converted to the series' TimezoneOffsetFromUTC; when the header gives none, both
        time overrides with offsets are compared in UTC, and an offset that would have to be compared with header
        clock times of unknown zone is refused (never dropped).
        """
        value = getattr(self.ov, f"{which}_datetime")
        if value is None:
            return None
        what = f"{which}-time"
        dt = parse_override_datetime(value, what, field=f"{which}_datetime")
        if dt.tzinfo is None:
            return dt
        if self._local_offset is not None:
            local = dt.astimezone(self._local_offset).replace(tzinfo=None)
            self.note(
                f"the {what} override {dt.isoformat()} is converted to the series' time zone "
                f"({tag_label('TimezoneOffsetFromUTC')}): {format_datetime(local)}"
            )
            return local
        other_name = "scan" if which == "injection" else "injection"
        other = getattr(self.ov, f"{other_name}_datetime")
        other_dt = (parse_override_datetime(other, f"{other_name}-time", field=f"{other_name}_datetime")
                    if other is not None else None)
        if other_dt is not None and other_dt.tzinfo is not None and self.cache.get("decay") == "START":
            utc = dt.astimezone(timezone.utc).replace(tzinfo=None)
            self.note("the injection- and scan-time overrides both carry UTC offsets; they are compared in UTC")
            return utc
        raise SUVError(
            f"the {what} override {dt.isoformat()} has a UTC offset but the header gives no "
            f"{tag_label('TimezoneOffsetFromUTC')}, so the header's clock times cannot be compared with it; give "
            "the override as the scanner's local clock time, without an offset",
            field=f"{which}_datetime",
        )

    def header_or_none(self, read, override):
        """``read()``; when an override is given, an unusable header value is noted instead of refused."""
        if override is None:
            return read()
        try:
            return read()
        except (SUVError, DicomValueError) as exc:
            self.note(f"header value not usable ({exc}); the user override is used")
            return None
