"""Coded concepts of an SUV image: the quantity and its UCUM units, as DICOM and Slicer's PET tools code them.

One place for these codes, so the volume node, Segment Statistics and DICOM outputs say the same thing.
Sources: DICOM PS3.16 CID 7180 (Abstract Multi-dimensional Image Model Component Semantics: DCM 126400
"Standardized Uptake Value") and CID 85 (SUV units, UCUM).

Two spellings of the SUV units exist. The project's units strings (``{SUVbw}g/ml`` ...) are those Slicer's PET DICOM
extension writes on volumes; they are kept for labels and volume nodes. They are not valid UCUM (an annotation may
not precede the unit). What the DICOM objects write is the code value of CID 85, ``g/ml{SUVbw}`` ...
(:func:`standard_suv_units_code`); both spellings are read.
"""

from __future__ import annotations

from typing import NamedTuple


class Code(NamedTuple):
    """A coded concept: (value, coding scheme designator, meaning)."""

    value: str
    scheme: str
    meaning: str


#: The quantity of every voxel of an SUV volume.
SUV_QUANTITY = Code("126400", "DCM", "Standardized Uptake Value")

#: UCUM units string of each SUV normalisation -> its code meaning.
SUV_UNITS_MEANINGS = {
    "{SUVbw}g/ml": "Standardized Uptake Value body weight",
    "{SUVlbm}g/ml": "Standardized Uptake Value lean body mass",
    "{SUVlbm(James128)}g/ml": "Standardized Uptake Value lean body mass (James)",
    "{SUVlbm(Janma)}g/ml": "Standardized Uptake Value lean body mass (Janmahasatian)",
    "{SUVbsa}cm2/ml": "Standardized Uptake Value body surface area",
    "{SUVibw}g/ml": "Standardized Uptake Value ideal body weight",
}


#: Units string (either spelling) -> the CID 85 code value and meaning, as DICOM writes them.
_STANDARD_SUV_UNITS = {
    "{SUVbw}g/ml": Code("g/ml{SUVbw}", "UCUM", "Standardized Uptake Value body weight"),
    "{SUVlbm}g/ml": Code("g/ml{SUVlbm}", "UCUM", "Standardized Uptake Value lean body mass (James)"),
    "{SUVlbm(James128)}g/ml": Code("g/ml{SUVlbm(James128)}", "UCUM",
                                   "Standardized Uptake Value lean body mass (James 128 multiplier)"),
    "{SUVlbm(Janma)}g/ml": Code("g/ml{SUVlbm(Janma)}", "UCUM", "Standardized Uptake Value lean body mass (Janma)"),
    "{SUVbsa}cm2/ml": Code("cm2/ml{SUVbsa}", "UCUM", "Standardized Uptake Value body surface area"),
    "{SUVibw}g/ml": Code("g/ml{SUVibw}", "UCUM", "Standardized Uptake Value ideal body weight"),
}
_STANDARD_SUV_UNITS.update({code.value: code for code in list(_STANDARD_SUV_UNITS.values())})


def standard_suv_units_code(units: str) -> Code:
    """The CID 85 UCUM code of SUV units given in either spelling (``{SUVbw}g/ml`` or ``g/ml{SUVbw}`` ->
    ``g/ml{SUVbw}``, "Standardized Uptake Value body weight").

    Raises
    ------
    KeyError
        For units that are not SUV units.
    """
    return _STANDARD_SUV_UNITS[str(units).strip()]


def project_suv_units(units: str | None) -> str | None:
    """The project's units string (``{SUVbw}g/ml`` ...) of SUV units given in either spelling (``g/ml{SUVbw}`` is
    what the DICOM objects and a Real World Value Map loaded in Slicer carry); None for anything else."""
    code = _STANDARD_SUV_UNITS.get(str(units).strip()) if units else None
    if code is None:
        return None
    return next(legacy for legacy, standard in _STANDARD_SUV_UNITS.items()
                if standard == code and legacy.startswith("{"))


def suv_units_code(units: str) -> Code:
    """The UCUM code of an SUV units string such as ``{SUVbw}g/ml``."""
    return Code(units, "UCUM", SUV_UNITS_MEANINGS.get(units, units))
