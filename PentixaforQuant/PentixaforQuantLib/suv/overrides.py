"""User-supplied values that replace or stand in for header attributes of the SUV conversion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["SUVOverrides"]


@dataclass(frozen=True)
class SUVOverrides:
    """User-supplied values that replace (or stand in for missing) header attributes.

    Every field is optional. Units are in the names; no unit guessing is applied to overrides. An override
    is recorded in the audit as ``"user override"`` together with the header value it replaced, if any.
    """

    weight_kg: float | None = None
    height_m: float | None = None
    sex: str | None = None  # "M", "F" or "O"
    dose_bq: float | None = None
    injection_datetime: datetime | None = None
    scan_datetime: datetime | None = None
    half_life_s: float | None = None
