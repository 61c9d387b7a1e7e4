"""The measurement sites of the Pentixafor protocol, declared once (:data:`SITES`: key, title, kind, sphere or
isocontour, DICOM codes, display colour), and the labels users give them.

Sites (docs/measurements.md): the target lesion, the aortic arch (blood pool) and five bone-marrow sites with active
haematopoiesis (Herhaus et al., Haematologica 2016): C7, T12, L5, right and left os ilium.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import PointsError

__all__ = [
    "LESION",
    "AORTA",
    "MARROW_SITES",
    "MARROW_SITES_PAPER_ORDER",
    "ALL_SITES",
    "SITE_TITLES",
    "Site",
    "SITES",
    "LESION_KIND",
    "BLOOD_POOL_KIND",
    "MARROW_KIND",
    "ISOCONTOUR",
    "SPHERE",
    "canonical_site",
]

LESION = "lesion"
AORTA = "aorta"

#: Kinds of site: what is measured there and how (docs/measurements.md).
LESION_KIND, BLOOD_POOL_KIND, MARROW_KIND = "lesion", "blood_pool", "marrow"
#: VOI shapes.
ISOCONTOUR, SPHERE = "isocontour", "sphere"

# SNOMED CT (and one NCIt) codes (DICOM PS3.16: CID 7150 categories, CID 7151 types, CID 4 regions, CID 244
# laterality) as (code value, scheme, meaning); ``outputs/dicom_codes.py`` makes its coded concepts from them.
_MORPHOLOGICALLY_ABNORMAL = ("49755003", "SCT", "Morphologically Abnormal Structure")
_LESION = ("52988006", "SCT", "Lesion")
_TISSUE = ("85756007", "SCT", "Tissue")
# The blood pool is the PET reference region (the TBR's background): QIICR's convention for PET reference regions
# (PETLiverUptakeMeasurement; CID 7150 category, CID 7165 type), with the aortic arch as its anatomic region.
_SPATIAL_AND_RELATIONAL = ("309825002", "SCT", "Spatial and Relational Concept")
_REFERENCE_REGION = ("C94970", "NCIt", "Reference Region")
_BONE_MARROW = ("14016003", "SCT", "Bone Marrow")
_AORTIC_ARCH = ("57034009", "SCT", "Aortic arch")
_C7 = ("87391001", "SCT", "C7 vertebra")
_T12 = ("23215003", "SCT", "T12 vertebra")
_L5 = ("49668003", "SCT", "L5 vertebra")
_ILIUM = ("22356005", "SCT", "Ilium")
_RIGHT = ("24028007", "SCT", "Right")
_LEFT = ("7771000", "SCT", "Left")


@dataclass(frozen=True)
class Site:
    """One measurement site, declared once for the measurement, the outputs, the panel and the web page.

    Attributes
    ----------
    key : str
        The site's name in points files, results and code (``"right_ilium"``).
    title : str
        How people see it named: tables, segments, the panel's row, the figure, the DICOM segment label.
    kind : {"lesion", "blood_pool", "marrow"}
    voi : {"isocontour", "sphere"}
        The target lesion's isocontour; a sphere for the blood pool and the marrow sites.
    diameter_parameter : str or None
        The ``ProtocolParameters`` attribute giving a sphere's diameter.
    main_value : str
        The value its panel row shows: ``suv_max``, or ``suv_mean`` for the blood pool.
    category, property_type, anatomic_region, laterality : tuple
        DICOM codes (value, scheme, meaning): segmented property category and type, anatomic region (None for the
        target lesion, whose location the protocol does not record) and laterality (the ilia).
    colour : (r, g, b)
        Display colour of its VOI (0-1), in the scene, the figure and the web page.
    widget_name : str
        The name part of its row's widgets in the Slicer panel (``place<Name>Button``).
    """

    key: str
    title: str
    kind: str
    voi: str
    diameter_parameter: str | None
    main_value: str
    category: tuple
    property_type: tuple
    anatomic_region: tuple | None
    laterality: tuple | None
    colour: tuple[float, float, float]
    widget_name: str

    def diameter_mm(self, parameters) -> float:
        """The sphere diameter of this site under ``parameters`` (``ProtocolParameters``)."""
        return float(getattr(parameters, self.diameter_parameter))


def _marrow(key, title, region, colour, widget_name, laterality=None) -> Site:
    return Site(key, title, MARROW_KIND, SPHERE, "marrow_diameter_mm", "suv_max", _TISSUE, _BONE_MARROW, region,
                laterality, colour, widget_name)


#: Every site in protocol (input) order.
SITES: dict[str, Site] = {s.key: s for s in (
    Site(LESION, "Target lesion", LESION_KIND, ISOCONTOUR, None, "suv_max", _MORPHOLOGICALLY_ABNORMAL, _LESION,
         None, None, (0.95, 0.15, 0.10), "Lesion"),
    Site(AORTA, "Blood pool (aortic arch)", BLOOD_POOL_KIND, SPHERE, "blood_pool_diameter_mm", "suv_mean",
         _SPATIAL_AND_RELATIONAL, _REFERENCE_REGION, _AORTIC_ARCH, None, (0.20, 0.45, 0.95), "Aorta"),
    _marrow("C7", "Marrow C7", _C7, (0.95, 0.75, 0.10), "C7"),
    _marrow("T12", "Marrow T12", _T12, (0.55, 0.85, 0.20), "T12"),
    _marrow("L5", "Marrow L5", _L5, (0.10, 0.75, 0.65), "L5"),
    _marrow("right_ilium", "Marrow right ilium", _ILIUM, (0.70, 0.35, 0.85), "RightIlium", _RIGHT),
    _marrow("left_ilium", "Marrow left ilium", _ILIUM, (0.95, 0.45, 0.70), "LeftIlium", _LEFT),
)}

SITE_TITLES = {key: site.title for key, site in SITES.items()}
ALL_SITES = tuple(SITES)
#: Marrow sites in protocol (input) order.
MARROW_SITES = tuple(key for key, site in SITES.items() if site.kind == MARROW_KIND)
#: The order of Herhaus et al. 2016 (site numbers 1-5), used for heat maps.
MARROW_SITES_PAPER_ORDER = ("C7", "T12", "right_ilium", "L5", "left_ilium")

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
