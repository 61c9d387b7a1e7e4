"""Parsing of DICOM date and time values (VR DA, TM and DT) into :mod:`datetime` objects.

Definitions follow DICOM PS3.5 section 6.2 (value representations):

* DA ``YYYYMMDD`` (the ACR-NEMA form ``YYYY.MM.DD`` is accepted too);
* TM ``HH[MM[SS[.F{1-6}]]]`` (the ACR-NEMA form ``HH:MM:SS.frac`` is accepted too; a leap second ``60`` is
  read as ``59.999999``);
* DT ``YYYY[MM[DD[HH[MM[SS[.F{1-6}]]]]]][&ZZXX]`` where ``&ZZXX`` is an optional UTC offset ``+HHMM``/``-HHMM``.

Every parser raises :class:`ValueError` with a short message on a malformed value; callers that know the
attribute turn it into their own error naming the tag.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

__all__ = ["parse_da", "parse_tm", "parse_dt", "combine_da_tm", "format_datetime"]

_TM_RE = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?$")
_TM_COLON_RE = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")
_DT_RE = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")


def _as_text(value) -> str:
    """The value as a stripped string (pydicom gives str, bytes for private/UN elements, or DA/TM objects)."""
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("ascii", errors="replace")
    # pydicom's DA/TM/DT subclasses keep the original string in original_string.
    original = getattr(value, "original_string", None)
    if isinstance(original, str):
        value = original
    return str(value).strip().strip("\x00").strip()


def parse_da(value) -> date:
    """Parse a DICOM DA value ``YYYYMMDD`` into a :class:`datetime.date`."""
    text = _as_text(value)
    if re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", text):
        text = text.replace(".", "")
    if not re.fullmatch(r"\d{8}", text):
        raise ValueError(f"not a DICOM date (YYYYMMDD): {text!r}")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise ValueError(f"not a valid calendar date: {text!r}") from None


def _time_from_parts(hh: str, mm: str | None, ss: str | None, frac: str | None, text: str) -> time:
    hour, minute = int(hh), int(mm or 0)
    second = int(ss or 0)
    micro = int((frac or "0").ljust(6, "0")[:6])
    if second == 60:  # leap second allowed by DICOM; keep it within the same minute
        second, micro = 59, 999999
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"not a valid time of day: {text!r}")
    return time(hour, minute, second, micro)


def parse_tm(value) -> time:
    """Parse a DICOM TM value ``HHMMSS.FFFFFF`` (trailing components optional) into a :class:`datetime.time`."""
    text = _as_text(value)
    m = _TM_RE.match(text) or _TM_COLON_RE.match(text)
    if m is None:
        raise ValueError(f"not a DICOM time (HHMMSS.FFFFFF): {text!r}")
    return _time_from_parts(*m.groups(), text)


def parse_dt(value) -> datetime:
    """Parse a DICOM DT value into a :class:`datetime.datetime`.

    The result is timezone-aware when the value carries a UTC offset (``&ZZXX``) and naive otherwise.
    """
    text = _as_text(value)
    m = _DT_RE.match(text)
    if m is None:
        raise ValueError(f"not a DICOM date-time (YYYYMMDDHHMMSS.FFFFFF&ZZXX): {text!r}")
    year, month, day, hh, mm, ss, frac, offset = m.groups()
    try:
        d = date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"not a valid calendar date: {text!r}") from None
    t = _time_from_parts(hh or "00", mm, ss, frac, text)
    tz = None
    if offset:
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = int(offset[1:3]), int(offset[3:5])
        if hours > 14 or minutes > 59:
            raise ValueError(f"not a valid UTC offset in {text!r}")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return datetime.combine(d, t, tzinfo=tz)


def combine_da_tm(da_value, tm_value) -> datetime:
    """Naive date-time from a DA and a TM value."""
    return datetime.combine(parse_da(da_value), parse_tm(tm_value))


def format_datetime(value: datetime | None) -> str | None:
    """ISO 8601 text of a date-time (seconds, with microseconds only when present), or None."""
    if value is None:
        return None
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
