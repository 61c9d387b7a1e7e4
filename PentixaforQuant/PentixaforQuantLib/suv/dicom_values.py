"""Reading DICOM element values from pydicom datasets, robustly and fast.

pydicom decodes an element's value only when it is first accessed, and a malformed value (a DS that is not a
number, a damaged sequence) raises one of many exception types at that moment. The readers here turn every such
value into one :class:`~PentixaforQuantLib.errors.DicomValueError` whose one-line message names the attribute (with
its tag for the attributes that messages commonly name, see :func:`tag_label`) and shows the offending text.
Absent and empty elements read as ``None``, never as an error.

Decoding dominates the cost of reading PET headers with pydicom, so :func:`fast_number`, :func:`fast_string` and
:func:`uniform` work on the undecoded bytes (:func:`raw_bytes`) when pydicom has not decoded the element yet, and
fall back to the decoding readers (:func:`number`, :func:`string`) otherwise; both paths give the same value.

Callers that refuse inputs with their own error type (SUV rules, series reading) catch
:class:`~PentixaforQuantLib.errors.DicomValueError` and re-raise it as their own error.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Sequence
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement

from ..errors import DicomValueError

__all__ = [
    "CONVERTED",
    "fast_number",
    "quiet_pydicom",
    "fast_string",
    "get_value",
    "number",
    "raw_bytes",
    "raw_text",
    "string",
    "strings",
    "tag_label",
    "tag_of",
    "text",
    "uniform",
]

# The attributes whose tag messages show with the keyword; other keywords are shown without a tag.
_TAGGED = frozenset({
    "Units", "DecayCorrection", "CorrectedImage", "SUVType", "PatientWeight", "PatientSize", "PatientSex",
    "RescaleSlope", "RescaleIntercept", "SeriesDate", "SeriesTime", "AcquisitionDate", "AcquisitionTime",
    "AcquisitionDateTime", "FrameReferenceTime", "ActualFrameDuration", "TimezoneOffsetFromUTC",
    "RadiopharmaceuticalInformationSequence", "RadiopharmaceuticalStartDateTime", "RadiopharmaceuticalStartTime",
    "RadionuclideTotalDose", "RadionuclideHalfLife", "RadionuclideCodeSequence", "Radiopharmaceutical",
    "Radionuclide", "DoseCalibrationFactor", "PixelSpacing", "SliceThickness", "Manufacturer", "SOPInstanceUID",
})


def tag_label(keyword: str) -> str:
    """The attribute as named in messages: ``"PatientWeight (0010,1030)"``.

    Parameters
    ----------
    keyword : str
        DICOM keyword.

    Returns
    -------
    str
        The keyword followed by its tag for the attributes that messages commonly name (those of PET SUV
        computation and series geometry); any other keyword alone, unchanged.
    """
    if keyword not in _TAGGED:
        return keyword
    tag = tag_of(keyword)
    return f"{keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X})"


_TAG_OF: dict[str, int] = {}


def tag_of(keyword: str) -> int:
    """The tag of a DICOM keyword as an int (``0x00101030`` for ``"PatientWeight"``), cached.

    Raises
    ------
    KeyError
        When the keyword is not in pydicom's data dictionary (a programming error).
    """
    tag = _TAG_OF.get(keyword)
    if tag is None:
        tag = tag_for_keyword(keyword)
        if tag is None:  # pragma: no cover - programming error
            raise KeyError(keyword)
        _TAG_OF[keyword] = tag
    return tag


def text(value) -> str:
    """A value as stripped text.

    Parameters
    ----------
    value : str, bytes, pydicom value or None
        Bytes are decoded as latin-1; pydicom's DA/TM/DT/DS/IS objects give their original string.

    Returns
    -------
    str
        The text without surrounding spaces and NUL padding; ``""`` for None.
    """
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    original = getattr(value, "original_string", None)
    if isinstance(original, str):
        value = original
    return str(value).strip().strip("\x00").strip()


def raw_text(ds, keyword: str) -> str:
    """The undecoded text of an element (at most 40 characters), for messages about values that do not parse.

    Returns
    -------
    str
        ``"?"`` when even the undecoded element cannot be obtained; never raises.
    """
    try:
        raw = ds.get_item(tag_of(keyword))
        value = getattr(raw, "value", raw)
        return text(value)[:40]
    except Exception:  # noqa: BLE001 - only used to build a message
        return "?"


def get_value(ds, keyword: str) -> Any:
    """Element value, or None when absent or empty.

    Parameters
    ----------
    ds : pydicom.Dataset
        Dataset (or sequence item) to read from.
    keyword : str
        DICOM keyword of the element.

    Returns
    -------
    object or None
        pydicom's decoded value; None for an absent element, an empty or blank text, or an empty multi-value or
        sequence.

    Raises
    ------
    DicomValueError
        When pydicom cannot decode the value (``"<attribute> cannot be read: '<raw text>'"``).
    """
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - pydicom raises various types on malformed values
        raise DicomValueError(f"{tag_label(keyword)} cannot be read: {raw_text(ds, keyword)!r}") from None
    if value is None:
        return None
    if isinstance(value, (str, bytes)) and not text(value):
        return None
    try:
        if len(value) == 0 and not isinstance(value, (int, float)):  # empty multi-value / sequence
            return None
    except TypeError:
        pass
    return value


def number(ds, keyword: str) -> float | None:
    """A single finite number.

    Returns
    -------
    float or None
        None when the element is absent or empty.

    Raises
    ------
    DicomValueError
        When the value cannot be read, holds more than one value, is not a number or is not finite.
    """
    value = get_value(ds, keyword)
    if value is None:
        return None
    if not isinstance(value, (str, bytes, int, float)) and hasattr(value, "__len__"):
        raise DicomValueError(f"{tag_label(keyword)} must hold one value; got {len(value)} values")
    try:
        result = float(text(value) if isinstance(value, (str, bytes)) else value)
    except (TypeError, ValueError):
        raise DicomValueError(f"{tag_label(keyword)} is not a number: {text(value)[:40]!r}") from None
    if not math.isfinite(result):
        raise DicomValueError(f"{tag_label(keyword)} is not a finite number: {text(value)[:40]!r}")
    return result


def string(ds, keyword: str) -> str | None:
    """The value as stripped text; the values of a multi-valued element joined by ``\\``.

    Returns
    -------
    str or None
        None when the element is absent or empty.

    Raises
    ------
    DicomValueError
        When the value cannot be read.
    """
    value = get_value(ds, keyword)
    if value is None:
        return None
    if not isinstance(value, (str, bytes)) and hasattr(value, "__len__"):
        return "\\".join(text(v) for v in value) or None
    return text(value) or None


def strings(ds, keyword: str) -> list[str] | None:
    """A multi-valued CS as a list of upper-case strings, blank values dropped.

    Returns
    -------
    list of str or None
        None when the element is absent or empty.

    Raises
    ------
    DicomValueError
        When the value cannot be read.
    """
    value = get_value(ds, keyword)
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        items = text(value).split("\\")
    else:
        items = [text(v) for v in value]
    return [s.strip().upper() for s in items if s.strip()]


#: Returned by :func:`raw_bytes` when the element's undecoded bytes are no longer available.
CONVERTED = object()


def raw_bytes(ds, keyword: str):
    """Undecoded value bytes of an element.

    Comparing undecoded bytes lets a series of hundreds of instances be checked for agreement without decoding
    every value (decoding dominates the cost of reading PET headers with pydicom).

    Returns
    -------
    bytes, None or CONVERTED
        The bytes (``b""`` for an element without value); None when the element is absent; :data:`CONVERTED`
        when pydicom has decoded the element already or the element is malformed (the decoding readers then
        report it). Never raises.
    """
    try:
        elem = ds.get_item(tag_of(keyword))
    except Exception:  # noqa: BLE001 - malformed element; the slow path reports it
        return CONVERTED
    if elem is None:
        return None
    if isinstance(elem, RawDataElement):
        return elem.value if elem.value is not None else b""
    return CONVERTED


def uniform(datasets: Sequence, keyword: str) -> bool:
    """True when every dataset holds byte-identical undecoded values for the element (or none holds it).

    False whenever any dataset's element is already decoded (:data:`CONVERTED`), so a True answer is always
    safe; a False answer means only that the values must be decoded and compared. ``datasets`` must not be
    empty.
    """
    first = raw_bytes(datasets[0], keyword)
    if first is CONVERTED:
        return False
    for ds in datasets[1:]:
        value = raw_bytes(ds, keyword)
        if value is CONVERTED or value != first:
            return False
    return True


def fast_number(ds, keyword: str) -> float | None:
    """:func:`number` for DS/IS attributes, parsing the undecoded text directly when possible.

    Returns
    -------
    float or None
        The same value as :func:`number`.

    Raises
    ------
    DicomValueError
        As :func:`number` (a value the fast path cannot parse is read by :func:`number`).
    """
    raw = raw_bytes(ds, keyword)
    if isinstance(raw, bytes):
        stripped = raw.strip(b" \x00")
        if not stripped:
            return None
        if b"\\" not in stripped:
            try:
                value = float(stripped)
            except ValueError:
                value = None
            if value is not None and math.isfinite(value):
                return value
    return number(ds, keyword)


def fast_string(ds, keyword: str) -> str | None:
    """:func:`string` for ASCII attributes (UI, CS, DA, TM, DT), from the undecoded bytes when possible.

    Returns
    -------
    str or None
        The stripped text; None when the element is absent or empty.

    Raises
    ------
    DicomValueError
        As :func:`string`, when the element is already decoded and cannot be read.
    """
    raw = raw_bytes(ds, keyword)
    if isinstance(raw, bytes):
        decoded = raw.decode("latin-1").strip(" \x00")
        return decoded or None
    return string(ds, keyword)


@contextlib.contextmanager
def quiet_pydicom():
    """Silence pydicom's warnings while reading untrusted headers.

    On damaged files pydicom warns with messages that quote raw bytes; the project's own checks refuse such values
    with one line instead, so the warnings are only noise on the terminal. (Warning filters are process-wide: use
    this around reading, not around long-running work.)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
