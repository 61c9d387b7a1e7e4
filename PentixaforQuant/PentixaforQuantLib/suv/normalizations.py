"""SUV normalisations: their names, aliases, units strings and DICOM SUVType terms.

==================  ===========================  =================================================
``normalization``   ``units``                    definition
==================  ===========================  =================================================
``bw``              ``{SUVbw}g/ml``              body weight
``lbm``             ``{SUVlbm(Janma)}g/ml``      lean body mass, Janmahasatian 2005 (default LBM)
``lbm-james128``    ``{SUVlbm(James128)}g/ml``   lean body mass, James (128 for men)
``bsa``             ``{SUVbsa}cm2/ml``           body surface area, Du Bois
``ibw``             ``{SUVibw}g/ml``             ideal body weight, Devine
==================  ===========================  =================================================

The units strings are UCUM-style codes as in DICOM CID 85; the lean-body-mass formula is always named, so a value
can never be read with the wrong formula.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import SUVError

__all__ = [
    "LBM_UNSPECIFIED_UNITS", "NORMALIZATIONS", "SUV_LABELS", "Normalization", "normalization_label",
    "normalization_name",
]


@dataclass(frozen=True)
class Normalization:
    """One SUV normalisation: its units string, DICOM SUVType term and description."""

    units: str
    suv_type: str  # DICOM SUVType (0054,1006) defined term of the same quantity
    label: str


#: Normalisation name -> units string, DICOM SUVType term and description.
NORMALIZATIONS: dict[str, Normalization] = {
    "bw": Normalization("{SUVbw}g/ml", "BW", "body weight"),
    "lbm": Normalization("{SUVlbm(Janma)}g/ml", "LBMJANMA", "lean body mass (Janmahasatian)"),
    "lbm-james128": Normalization("{SUVlbm(James128)}g/ml", "LBMJAMES128", "lean body mass (James-128)"),
    "bsa": Normalization("{SUVbsa}cm2/ml", "BSA", "body surface area (Du Bois)"),
    "ibw": Normalization("{SUVibw}g/ml", "IBW", "ideal body weight (Devine)"),
}

_NORM_ALIASES = {
    "suvbw": "bw", "body-weight": "bw", "bodyweight": "bw",
    "suvlbm": "lbm", "lbm-janma": "lbm", "lbm-janmahasatian": "lbm", "janma": "lbm", "lbmjanma": "lbm",
    "suvlbm-james128": "lbm-james128", "james128": "lbm-james128", "lbmjames128": "lbm-james128",
    "lbm-james": "lbm-james128", "suvbsa": "bsa", "suvibw": "ibw",
}

#: Units string of an SUV volume that does not say which LBM formula; accepted under the name "lbm-unspecified".
LBM_UNSPECIFIED_UNITS = "{SUVlbm}g/ml"

# Units strings of volumes already in SUV (e.g. written by Slicer's PET DICOM plugin) -> normalisation.
SUV_LABELS = {n.units.lower(): name for name, n in NORMALIZATIONS.items()}
SUV_LABELS[LBM_UNSPECIFIED_UNITS.lower()] = "lbm-unspecified"


def normalization_name(normalization: str) -> str:
    """The canonical normalisation name (``bw``, ``lbm``, ``lbm-james128``, ``bsa``, ``ibw``) for a name or alias."""
    key = str(normalization).strip().lower().replace("_", "-")
    key = _NORM_ALIASES.get(key, key)
    if key not in NORMALIZATIONS:
        raise SUVError(f"unknown SUV normalization {normalization!r}; use one of {', '.join(NORMALIZATIONS)}")
    return key


def normalization_label(normalization: str) -> str:
    """Description of a normalisation (e.g. ``"body weight"``); unknown names are returned as given."""
    spec = NORMALIZATIONS.get(normalization)
    return spec.label if spec is not None else normalization
