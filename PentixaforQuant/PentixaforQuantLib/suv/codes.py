"""Coded concepts of an SUV image: the quantity and its UCUM units, as DICOM and Slicer's PET tools code them.

One place for these codes, so the volume node, Segment Statistics and DICOM outputs say the same thing.
Sources: DICOM PS3.16 CID 7180 (Abstract Multi-dimensional Image Model Component Semantics: DCM 126400
"Standardized Uptake Value") and CID 85 (SUV units, UCUM); the UCUM strings are those Slicer's PET DICOM
extension writes.
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


def suv_units_code(units: str) -> Code:
    """The UCUM code of an SUV units string such as ``{SUVbw}g/ml``."""
    return Code(units, "UCUM", SUV_UNITS_MEANINGS.get(units, units))
