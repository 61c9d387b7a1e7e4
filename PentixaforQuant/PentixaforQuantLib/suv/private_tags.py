"""Private (vendor) attributes, looked up in the block reserved by their private creator.

Public elements are read with :mod:`.dicom_values`.
"""

from __future__ import annotations

import math

from .dicom_values import string, text
from ..errors import SUVError

__all__ = ["private_number", "private_value"]


def private_value(ds, group: int, element_low: int, creator: str, vendor_word: str, decisions: list[str]):
    """Value of a private element ``(group, xx<element_low>)`` in the block reserved by ``creator``.

    Returns ``(value, source)`` or ``(None, None)``. When the block's private creator element is absent (files
    stripped of it, or synthetic files) the conventional block 0x10 is accepted only if Manufacturer contains
    ``vendor_word``; the decision is recorded. A block reserved by another creator is never used.
    """
    tag_text = f"({group:04X},10{element_low:02X})"
    creators = {}
    lo, hi = (group << 16) | 0x10, (group << 16) | 0xFF
    for tag in [t for t in ds.keys() if lo <= t <= hi]:
        try:
            creators[tag & 0xFF] = text(ds[tag].value).upper()
        except Exception:  # noqa: BLE001
            creators[tag & 0xFF] = "?"
    matching = [b for b, name in creators.items() if name == creator.upper()]
    if matching:
        block = matching[0]
        tag = (group << 16) | (block << 8) | element_low
        if tag not in ds:
            return None, None
        return ds[tag].value, f"private ({group:04X},{block:02X}{element_low:02X}) of creator {creator!r}"
    tag = (group << 16) | 0x1000 | element_low
    if tag not in ds:
        return None, None
    if 0x10 in creators:
        decisions.append(
            f"{tag_text} ignored: its private block is reserved by {creators[0x10]!r}, not {creator!r}"
        )
        return None, None
    manufacturer = string(ds, "Manufacturer") or ""
    if vendor_word.upper() in manufacturer.upper():
        decisions.append(
            f"{tag_text} used although its private creator ({group:04X},0010) is absent, because Manufacturer "
            f"is {manufacturer!r}"
        )
        return ds[tag].value, f"private {tag_text} (no private creator; Manufacturer {manufacturer!r})"
    decisions.append(
        f"{tag_text} ignored: no private creator {creator!r} and Manufacturer {manufacturer!r} is not {vendor_word}"
    )
    return None, None


def private_number(ds, group, element_low, creator, vendor_word, decisions) -> tuple[float | None, str | None]:
    value, source = private_value(ds, group, element_low, creator, vendor_word, decisions)
    if value is None:
        return None, None
    shown = text(value if not (hasattr(value, "__len__") and not isinstance(value, (str, bytes))) else value[0])
    if not shown:
        return None, None
    try:
        result = float(shown)
    except ValueError:
        raise SUVError(f"{source} is not a number: {shown[:40]!r}") from None
    if not math.isfinite(result):
        raise SUVError(f"{source} is not a finite number: {shown[:40]!r}")
    return result, source
