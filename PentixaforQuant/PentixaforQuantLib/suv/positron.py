"""Only positron emitters make SUVs from PET: a series whose radionuclide emits no positrons is refused.

A PET scanner counts annihilation photons, so a PET image of a radionuclide without positron decay (for example a
Lu-177 SPECT or therapy series stored with Modality PT) has no activity concentration to normalise, and any "SUV"
from it is meaningless. This refusal is not a plausibility limit: ``accept_implausible`` (``--accept-implausible``)
never lifts it, and no override (half-life, dose) can make such a series PET.

The radionuclide is recognised, in this order, by

1. ``RadionuclidePositronFraction`` (0018,1076) equal to zero;
2. the ``RadionuclideCodeSequence`` (0054,0300) code value: the SNOMED CT concept ids of DICOM PS3.16 CID 18
   "Isotopes in Radiopharmaceuticals" for the single-photon and therapy nuclides of :data:`NON_POSITRON_EMITTERS`
   (PET radionuclides are CID 4020; Y-90, with its tiny positron branch, is in CID 4020 and is not refused);
3. the code meaning, ``Radiopharmaceutical`` (0018,0031) or ``Radionuclide`` (0018,0030) naming one of them
   (``Lu-177``, ``177Lu-PSMA``, ``^177^Lutetium``, ``Tc-99m`` ...), unless the code value names a PET radionuclide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SUVError
from . import radionuclides
from .dicom_values import get_value, number, string, tag_label

__all__ = ["NonPositronEmitter", "NON_POSITRON_EMITTERS", "identify_non_positron_emitter",
           "refuse_non_positron_emitter"]

_POSITRON_FRACTION = "RadionuclidePositronFraction (0018,1076)"


@dataclass(frozen=True)
class NonPositronEmitter:
    """A radionuclide of nuclear-medicine imaging or therapy that does not decay by positron emission."""

    symbol: str  # "Lu-177", "Tc-99m"
    element: str  # English name as in the DICOM code meanings ("Lutetium")
    codes: tuple[str, ...] = ()  # SNOMED CT concept ids (DICOM CID 18)


#: Single-photon (SPECT, planar) and therapy radionuclides; codes from DICOM PS3.16 CID 18 where it lists them.
NON_POSITRON_EMITTERS: tuple[NonPositronEmitter, ...] = (
    NonPositronEmitter("Lu-177", "Lutetium", ("447553000",)),
    NonPositronEmitter("Tc-99m", "Technetium", ("72454006",)),
    NonPositronEmitter("In-111", "Indium", ("56609000",)),
    NonPositronEmitter("I-123", "Iodine", ("21572004",)),
    NonPositronEmitter("I-125", "Iodine", ("68630002",)),
    NonPositronEmitter("I-131", "Iodine", ("1368003",)),
    NonPositronEmitter("Tl-201", "Thallium", ("60057003",)),
    NonPositronEmitter("Ga-67", "Gallium", ("2008008",)),
    NonPositronEmitter("Sm-153", "Samarium", ("419804008",)),
    NonPositronEmitter("Ra-223", "Radium", ("24853006",)),
    NonPositronEmitter("Re-186", "Rhenium", ("395865006",)),
    NonPositronEmitter("Re-188", "Rhenium", ("423578007",)),
    NonPositronEmitter("Sr-89", "Strontium", ("7770004",)),
    NonPositronEmitter("Xe-133", "Xenon", ("80751004",)),
    NonPositronEmitter("Cr-51", "Chromium", ("52745005",)),
    NonPositronEmitter("Cu-67", "Copper", ("53700003",)),
    NonPositronEmitter("Kr-81m", "Krypton", ("61716009",)),
    NonPositronEmitter("Ho-166", "Holmium"),
    NonPositronEmitter("Tb-161", "Terbium"),
    NonPositronEmitter("Ac-225", "Actinium"),
    NonPositronEmitter("Pb-212", "Lead"),
    NonPositronEmitter("At-211", "Astatine"),
    NonPositronEmitter("Er-169", "Erbium"),
)

_BY_CODE = {code: nuc for nuc in NON_POSITRON_EMITTERS for code in nuc.codes}
_BY_KEY = {(nuc.symbol.split("-")[0].lower(), nuc.symbol.split("-")[1].lower()): nuc for nuc in NON_POSITRON_EMITTERS}
_ELEMENT_SYMBOL = {nuc.element.lower(): nuc.symbol.split("-")[0] for nuc in NON_POSITRON_EMITTERS}
_EL = "|".join(sorted({nuc.symbol.split("-")[0] for nuc in NON_POSITRON_EMITTERS}, key=len, reverse=True))
_NAME = "|".join(sorted(_ELEMENT_SYMBOL, key=len, reverse=True))
_MASS = r"(\d{1,3}m?)"
# Symbol or element name beside a mass number, either order: "Lu-177", "177Lu", "Lu177", "^177^Lutetium",
# "Lutetium-177", "Tc-99m", "99mTc". Symbols are case-sensitive so that ordinary words are not read as nuclides.
_PATTERNS = (
    re.compile(rf"(?<![A-Za-z0-9])\^?{_MASS}\^?\s*-?\s*({_EL})(?![a-z])"),
    re.compile(rf"(?<![A-Za-z])({_EL})\s*-?\s*\^?{_MASS}(?![\d])"),
    re.compile(rf"\^?{_MASS}\^?\s*-?\s*({_NAME})", re.IGNORECASE),
    re.compile(rf"({_NAME})\s*-?\s*\^?{_MASS}(?![\d])", re.IGNORECASE),
)


def _named_in(text: str) -> NonPositronEmitter | None:
    for pattern in _PATTERNS:
        for m in pattern.finditer(text or ""):
            a, b = m.groups()
            mass, element = (a, b) if a[0].isdigit() else (b, a)
            symbol = _ELEMENT_SYMBOL.get(element.lower(), element)
            found = _BY_KEY.get((symbol.lower(), mass.lower()))
            if found is not None:
                return found
    return None


def identify_non_positron_emitter(item) -> tuple[NonPositronEmitter | None, str]:
    """(the non-positron radionuclide a RadiopharmaceuticalInformationSequence item names, where it is named), or
    (None, "") when the item names none (a PET radionuclide, or nothing)."""
    if item is None:
        return None, ""
    code_value = meaning = None
    seq = get_value(item, "RadionuclideCodeSequence")
    if seq:
        code_value = (string(seq[0], "CodeValue") or "").strip()
        meaning = string(seq[0], "CodeMeaning")
    code_src = f"{tag_label('RadionuclideCodeSequence')} code {code_value!r}" + (f" ({meaning!r})" if meaning else "")
    if code_value and code_value in _BY_CODE:
        return _BY_CODE[code_value], code_src
    if code_value and radionuclides.identify_from_code_value(code_value) is not None:
        return None, ""  # the code names a PET radionuclide; a free-text name does not overrule it
    if meaning and _named_in(meaning) is not None:
        return _named_in(meaning), code_src
    for keyword in ("Radiopharmaceutical", "Radionuclide"):
        text = string(item, keyword)
        found = _named_in(text) if text else None
        if found is not None:
            return found, f"{tag_label(keyword)} {text!r}"
    return None, ""


def refuse_non_positron_emitter(ctx) -> None:
    """Raise :class:`SUVError` when the series' radionuclide emits no positrons (see the module docstring).

    ``ctx`` is the conversion's :class:`~.series_inputs.SeriesInputs`. No override lifts the refusal. A sequence of
    several radiopharmaceuticals is refused only when none of them is a positron emitter (which one the image shows
    is for the other rules to settle).
    """
    for ds in ctx.instances_for("RadiopharmaceuticalInformationSequence"):
        reasons = [_why_not_positron(item) for item in (get_value(ds, "RadiopharmaceuticalInformationSequence") or [])]
        if reasons and all(reasons):
            raise SUVError(f"{reasons[0]}, so this series is not PET (SPECT or a therapy scan stored as PET?); SUV is "
                           "not computed, and --accept-implausible does not apply to this")


def _why_not_positron(item) -> str | None:
    fraction = number(item, "RadionuclidePositronFraction")
    if fraction is not None and fraction == 0:
        return f"{_POSITRON_FRACTION} is 0: the radionuclide emits no positrons"
    nuclide, where = identify_non_positron_emitter(item)
    if nuclide is not None:
        return f"{where} names {nuclide.symbol}, which is not a positron emitter"
    return None
