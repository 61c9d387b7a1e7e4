"""JSON text that every reader accepts: no ``NaN`` or ``Infinity`` (Python's ``json`` writes them by default, and
they are not JSON; RFC 8259 §6)."""

from __future__ import annotations

import json
import math

__all__ = ["NOT_FINITE", "json_text", "finite_only"]

#: What a non-finite number becomes (a reader sees why the number is absent).
NOT_FINITE = "not a finite number"


def finite_only(value):
    """``value`` with every non-finite float (in dicts, lists and tuples, at any depth) as :data:`NOT_FINITE`."""
    if isinstance(value, float) and not math.isfinite(value):
        return NOT_FINITE
    if isinstance(value, dict):
        return {k: finite_only(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_only(v) for v in value]
    return value


def json_text(doc, *, indent: int | None = 2, **kwargs) -> str:
    """``json.dumps`` of ``doc`` with non-finite numbers as text, refused (ValueError) if one slips through; ends
    with a newline."""
    return json.dumps(finite_only(doc), indent=indent, allow_nan=False, **kwargs) + "\n"
