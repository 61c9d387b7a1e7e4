"""User-supplied values that replace or stand in for header attributes of the SUV conversion."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..errors import SUVError

__all__ = ["SUVOverrides", "parse_override_datetime"]


@dataclass(frozen=True)
class SUVOverrides:
    """User-supplied values that replace (or stand in for missing) header attributes.

    Every field is optional. Units are in the names; overrides are never re-interpreted (no grams or MBq
    guessing), but they are checked against the same plausibility limits as the header values, and a value
    outside them is refused naming the likely unit mistake. An override is recorded in the audit as
    ``"user override"`` together with the header value it replaced, if any. An override that cannot apply to
    the series (e.g. an injection time when the images are decay-corrected to the injection by the scanner) is
    refused; one the chosen normalisation does not need (a height for SUVbw) is recorded as unused.

    Attributes
    ----------
    injection_datetime, scan_datetime : datetime or str
        A ``datetime`` or an ISO 8601 text with a clock time (``2024-05-02T09:58``, optionally with a UTC offset
        ``+02:00``); a date without a time is refused. A UTC offset is honoured: the time is converted to the
        series' TimezoneOffsetFromUTC (0008,0201), and refused when the header gives no time zone to compare with.
    accept_implausible : str, optional
        The reason why values outside the plausibility limits (``suv/limits.py``) are right, e.g. ``"preclinical
        study: 5 MBq in a 25 g mouse"``. With it, such values are accepted and a warning quoting the reason is
        recorded; missing, malformed or contradictory values are still refused.
    """

    weight_kg: float | None = None
    height_m: float | None = None
    sex: str | None = None  # "M", "F" or "O"
    dose_bq: float | None = None
    injection_datetime: datetime | str | None = None
    scan_datetime: datetime | str | None = None
    half_life_s: float | None = None
    accept_implausible: str | None = None


_ISO_DATE_ONLY = re.compile(r"^\s*\d{4}-?\d{2}-?\d{2}\s*$")


def parse_override_datetime(value, what: str, *, field: str | None = None) -> datetime:
    """A date-time override from a ``datetime`` or an ISO 8601 text with a clock time; ``field`` (the
    ``SUVOverrides`` field, e.g. ``"injection_datetime"``) is carried by the refusal.

    Raises
    ------
    SUVError
        A date without a time (it would be read as midnight), or text that is not an ISO 8601 date-time.
    """
    if isinstance(value, datetime):
        return value
    text = str(value).strip()
    if _ISO_DATE_ONLY.match(text):
        raise SUVError(
            f"the {what} override {text!r} has a date but no time of day; give the clock time, e.g. {text}T09:58",
            field=field,
        )
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise SUVError(
            f"the {what} override {text!r} is not an ISO 8601 date-time (e.g. 2024-05-02T09:58 or "
            "2024-05-02T09:58+02:00)", field=field,
        ) from None
