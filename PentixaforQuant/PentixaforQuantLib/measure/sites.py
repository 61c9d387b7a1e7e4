"""The measurement sites of the Pentixafor protocol and the labels users give them.

Sites (docs/measurements.md): the target lesion, the aortic arch (blood pool) and five bone-marrow sites with active
haematopoiesis (Herhaus et al., Haematologica 2016): C7, T12, L5, right and left os ilium.
"""

from __future__ import annotations

import re

from ..errors import PointsError

__all__ = [
    "LESION",
    "AORTA",
    "MARROW_SITES",
    "MARROW_SITES_PAPER_ORDER",
    "ALL_SITES",
    "SITE_TITLES",
    "canonical_site",
]

LESION = "lesion"
AORTA = "aorta"
#: Marrow sites in protocol (input) order.
MARROW_SITES = ("C7", "T12", "L5", "right_ilium", "left_ilium")
#: The order of Herhaus et al. 2016 (site numbers 1-5), used for heat maps.
MARROW_SITES_PAPER_ORDER = ("C7", "T12", "right_ilium", "L5", "left_ilium")
ALL_SITES = (LESION, AORTA, *MARROW_SITES)

SITE_TITLES = {
    LESION: "Target lesion",
    AORTA: "Blood pool (aortic arch)",
    "C7": "Marrow C7",
    "T12": "Marrow T12",
    "L5": "Marrow L5",
    "right_ilium": "Marrow right ilium",
    "left_ilium": "Marrow left ilium",
}

# Normalised label (lower case, words joined by "_") -> site. Accepts the names users type in Slicer.
_ALIASES = {
    "lesion": LESION,
    "tl": LESION,
    "target": LESION,
    "target_lesion": LESION,
    "aorta": AORTA,
    "aortic_arch": AORTA,
    "arch": AORTA,
    "blood_pool": AORTA,
    "bloodpool": AORTA,
    "bp": AORTA,
    "c7": "C7",
    "t12": "T12",
    "l5": "L5",
    "right_ilium": "right_ilium",
    "ilium_right": "right_ilium",
    "right_os_ilium": "right_ilium",
    "r_ilium": "right_ilium",
    "ilium_r": "right_ilium",
    "left_ilium": "left_ilium",
    "ilium_left": "left_ilium",
    "left_os_ilium": "left_ilium",
    "l_ilium": "left_ilium",
    "ilium_l": "left_ilium",
}


def canonical_site(label: str) -> str:
    """The site a point label names, case-insensitively (``"Right ilium"`` -> ``"right_ilium"``).

    Raises
    ------
    PointsError
        If the label names no known site.
    """
    key = re.sub(r"[\s\-]+", "_", str(label).strip().lower())
    try:
        return _ALIASES[key]
    except KeyError:
        raise PointsError(
            f"point label {label!r} names no site; use one of: {', '.join(ALL_SITES)} (case-insensitive)"
        ) from None
