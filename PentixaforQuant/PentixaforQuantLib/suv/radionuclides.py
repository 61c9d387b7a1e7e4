"""Half-lives of PET radionuclides, looked up by DICOM code or by name.

Codes are those of DICOM PS3.16 CID 4020 "PET Radionuclide": the SNOMED CT concept id (scheme ``SCT``) and the
legacy SNOMED-RT id (scheme ``SRT``) that older headers carry, e.g. ``C-111A1`` / ``77004003`` for ^18^Fluorine.
Half-lives are the evaluated values of the NNDC NuDat / ENSDF tables, rounded to at most five significant
figures; vendors and the IBSI-SUV reference objects use values that differ from these by well under 1 %
(e.g. Ga-68 4057.7 s versus 4062.6 s here), which is why :data:`HALF_LIFE_TOLERANCE` allows a few percent.

Note on gallium: in CID 4020, SRT ``C-131A1`` is ^66^Gallium and ``C-131A3`` is ^68^Gallium. Some headers
(the IBSI-SUV DRO_5_0 among them) carry ``C-131A1`` with the meaning "^68^Gallium", so callers should identify
the nuclide from the code value (:func:`identify_from_code_value`) and from the meaning (:func:`identify_from_text`)
separately and treat a disagreement as a conflict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Radionuclide",
    "RADIONUCLIDES",
    "HALF_LIFE_TOLERANCE",
    "by_symbol",
    "identify_from_code_value",
    "identify_from_text",
]

#: Largest relative difference between a header half-life and the table value that still counts as agreement.
HALF_LIFE_TOLERANCE = 0.03


@dataclass(frozen=True)
class Radionuclide:
    """A radionuclide with its half-life in seconds and its DICOM CID 4020 codes."""

    symbol: str  # canonical "F-18"
    element: str  # English element name, as in the code meanings ("Fluorine")
    mass_number: int
    half_life_s: float
    codes: tuple[str, ...]  # code values (SRT and SCT) that denote this nuclide

    @property
    def code_meaning(self) -> str:
        """The CID 4020 code meaning, e.g. ``^18^Fluorine``."""
        return f"^{self.mass_number}^{self.element}"


# Half-lives in seconds (NNDC NuDat): C-11 20.364 min, N-13 9.965 min, O-15 122.24 s, F-18 109.77 min,
# Cu-62 9.673 min, Cu-64 12.701 h, Ga-66 9.49 h, Ga-68 67.71 min, Ge-68 270.95 d, Br-76 16.2 h, Rb-82 1.2575 min,
# Y-86 14.74 h, Zr-89 78.41 h, I-124 4.1760 d.
RADIONUCLIDES: tuple[Radionuclide, ...] = (
    Radionuclide("C-11", "Carbon", 11, 1221.84, ("C-105A1", "40565003")),
    Radionuclide("N-13", "Nitrogen", 13, 597.9, ("C-107A1", "21576001")),
    Radionuclide("O-15", "Oxygen", 15, 122.24, ("C-B1038", "129504001")),
    Radionuclide("F-18", "Fluorine", 18, 6586.2, ("C-111A1", "77004003")),
    Radionuclide("Cu-62", "Copper", 62, 580.38, ("C-127A5", "422934004")),
    Radionuclide("Cu-64", "Copper", 64, 45723.6, ("C-127A2", "3932008")),
    Radionuclide("Ga-66", "Gallium", 66, 34164.0, ("C-131A1", "79477007")),
    Radionuclide("Ga-68", "Gallium", 68, 4062.6, ("C-131A3", "35337001")),
    Radionuclide("Ge-68", "Germanium", 68, 23410080.0, ("C-128A2", "53315004")),
    Radionuclide("Br-76", "Bromine", 76, 58320.0, ("C-113A2", "79523006")),
    Radionuclide("Rb-82", "Rubidium", 82, 75.45, ("C-159A2", "79197006")),
    Radionuclide("Y-86", "Yttrium", 86, 53064.0, ("C-162A3", "10738001")),
    Radionuclide("Zr-89", "Zirconium", 89, 282276.0, ("C-168A4", "63360001")),
    Radionuclide("I-124", "Iodine", 124, 360806.4, ("C-114A5", "40937006")),
)

_BY_CODE = {code.upper(): nuc for nuc in RADIONUCLIDES for code in nuc.codes}
_BY_KEY = {(nuc.symbol.split("-")[0].lower(), nuc.mass_number): nuc for nuc in RADIONUCLIDES}
_ELEMENT_TO_SYMBOL = {nuc.element.lower(): nuc.symbol.split("-")[0] for nuc in RADIONUCLIDES}

# Element symbol or name next to a mass number, in either order: "F-18", "18F", "Ga68", "^68^Gallium",
# "Gallium-68", "68 Ga". Symbols are matched case-sensitively (first letter upper) to avoid reading words.
_SYMBOLS = sorted({nuc.symbol.split("-")[0] for nuc in RADIONUCLIDES}, key=len, reverse=True)
_NAMES = sorted(_ELEMENT_TO_SYMBOL, key=len, reverse=True)
_EL = "|".join(_SYMBOLS)
_NAME = "|".join(_NAMES)
_PATTERNS = (
    re.compile(rf"(?<![A-Za-z0-9])\^?(\d{{1,3}})\^?\s*-?\s*({_EL})(?![a-z])"),
    re.compile(rf"(?<![A-Za-z])({_EL})\s*-?\s*\^?(\d{{1,3}})(?!\d)"),
    re.compile(rf"\^?(\d{{1,3}})\^?\s*-?\s*({_NAME})", re.IGNORECASE),
    re.compile(rf"({_NAME})\s*-?\s*(\d{{1,3}})(?!\d)", re.IGNORECASE),
)


def by_symbol(symbol: str, mass_number: int) -> Radionuclide | None:
    """The table entry for an element symbol (``"Ga"``) and mass number, or None."""
    return _BY_KEY.get((symbol.lower(), int(mass_number)))


def identify_from_code_value(code_value: str) -> Radionuclide | None:
    """The radionuclide denoted by a CID 4020 code value (SRT or SCT), or None when unknown."""
    return _BY_CODE.get(str(code_value).strip().upper())


def identify_from_text(text: str) -> Radionuclide | None:
    """The radionuclide named in free text (a code meaning or a radiopharmaceutical name), or None.

    Recognises forms such as ``^68^Gallium``, ``Ga-68``, ``68Ga``, ``Ga68-PSMA``, ``18F-FDG``, ``Fluorine-18``.
    Returns None when no nuclide of the table is named or when the text names two different ones.
    """
    if not text:
        return None
    found: set[Radionuclide] = set()
    for pattern in _PATTERNS:
        for m in pattern.finditer(str(text)):
            a, b = m.groups()
            number, element = (a, b) if a.isdigit() else (b, a)
            symbol = _ELEMENT_TO_SYMBOL.get(element.lower(), element)
            nuc = by_symbol(symbol, int(number))
            if nuc is not None:
                found.add(nuc)
    return found.pop() if len(found) == 1 else None
