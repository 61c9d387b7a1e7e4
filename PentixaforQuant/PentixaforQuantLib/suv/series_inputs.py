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


def _seconds_apart(a, b) -> float:
    """Seconds between two times of day (datetime.time), across midnight the short way."""
    seconds = abs((a.hour - b.hour) * 3600 + (a.minute - b.minute) * 60 + (a.second - b.second)
                  + (a.microsecond - b.microsecond) / 1e6)
    return min(seconds, 86400 - seconds)


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
        """Naive local date-time: DT values with a UTC offset are moved to the series' time zone.

        Without TimezoneOffsetFromUTC the header's clock times (TM values) have no known zone, so an offset cannot
        be honoured by conversion: such a value is refused (never used with its offset dropped)."""
        if value.tzinfo is None:
            return value
        if self._local_offset is not None:
            return value.astimezone(self._local_offset).replace(tzinfo=None)
        raise SUVError(
            f"{what} {format_datetime(value)} carries a UTC offset but the header gives no "
            f"{tag_label('TimezoneOffsetFromUTC')}, so it cannot be compared with the scanner's clock times; "
            "give the time as an override in the scanner's local clock time"
        )

    def parse_dt_attr(self, ds, keyword: str, label: str | None = None, clock_keyword: str | None = None,
                      override: str = "") -> datetime | None:
        """A DT attribute in the series' local time (see :meth:`parse_dt_text`).

        ``clock_keyword`` names the TM attribute of the same data set that gives the same moment as a local clock
        time (RadiopharmaceuticalStartTime for RadiopharmaceuticalStartDateTime). Without TimezoneOffsetFromUTC,
        a UTC offset is accepted as the scanner's own zone when that clock time agrees with the DT's; otherwise
        the value is refused, naming ``override`` (the option that gives the time instead)."""
        text = string(ds, keyword)
        if not text:
            return None
        clock_text = string(ds, clock_keyword) if clock_keyword else None
        return self.dt_beside_clock(text, label or tag_label(keyword), clock_text,
                                    tag_label(clock_keyword) if clock_keyword else "", override)

    def dt_beside_clock(self, text: str, label: str, clock_text: str | None, clock_label: str,
                        override: str = "") -> datetime:
        """A DT value in the series' local time, its UTC offset honoured or refused, never dropped (see
        :meth:`parse_dt_attr`); ``clock_text`` is the TM value of the same moment, if the header has one."""
        value = self._parse_dt(text, label)
        if value.tzinfo is None or self._local_offset is not None:
            return self.local(value, label)
        clock = self.parse_tm_text(clock_text, clock_label) if clock_text else None
        offset = value.strftime("%z")
        if clock is not None and _seconds_apart(clock, value.time()) < 1.0:
            self.note(
                f"{label} {text.strip()} carries the UTC offset {offset}; without {tag_label('TimezoneOffsetFromUTC')} "
                f"it is taken as the scanner's zone because its clock time agrees with {clock_label} "
                f"{clock.isoformat()}"
            )
            return value.replace(tzinfo=None)
        why = (f"its clock time {value.time().isoformat()} disagrees with {clock_label} {clock.isoformat()}"
               if clock is not None else "no local clock time tells the scanner's zone")
        raise SUVError(
            f"{label} {text.strip()} carries the UTC offset {offset} but the header gives no "
            f"{tag_label('TimezoneOffsetFromUTC')} and {why}, so it cannot be compared with the scanner's clock "
            f"times; give the time as an override{f' ({override})' if override else ''} in the scanner's local time",
            field={"--injection-time": "injection_datetime", "--scan-time": "scan_datetime"}.get(override),
        )

    def _parse_dt(self, text: str, label: str) -> datetime:
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
        return value

    def parse_dt_text(self, text: str, label: str) -> datetime:
        """A DT value with a clock time (at least hours and minutes), in the series' local time."""
        return self.local(self._parse_dt(text, label), label)

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
