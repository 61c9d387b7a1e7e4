"""The design of the Pentixafor reference phantom: what is where, and with which SUV.

A whole-trunk SUV phantom with known answers, analytic in continuous RAS millimetres (RAS: +R = patient right,
+A = anterior, +S = superior): a body (trunk and neck), lungs, liver, aortic arch with ascending and descending
aorta (blood pool), spleen, kidneys, urinary bladder, the vertebral bodies C7 to L5, both ilia, and six
spherical lesions; ``docs/phantom.md`` has the anatomy table. This module holds the radionuclides, the design
SUVs, the positions and sizes, the structure list in painting order and the protocol seed points; the shapes
are in :mod:`.shapes`, how to sample it in :mod:`.options` and :mod:`.render`.

* **Priority.** Structures are painted in :data:`PAINT_ORDER` (later wins): body, lungs, liver, aorta, spleen,
  kidneys, bladder, other vertebrae, the five marrow sites, the built-in lesions, extra lesions.
* **On-grid design.** Every lesion centre and every protocol seed point lies on a multiple of 4 mm in R, A and S,
  so on the default grids (a voxel centre at RAS (0, 0, 0), isotropic 1, 2 or 4 mm) every seed and lesion centre
  is a voxel centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..measure.sites import ALL_SITES, AORTA, LESION, MARROW_SITES
from .shapes import Cylinder, Ellipsoid, arch_and_tubes, ilium_axes, sphere, vertebral_bodies_between

__all__ = [
    "RadionuclideInfo",
    "PHANTOM_RADIONUCLIDES",
    "radionuclide_info",
    "SphereLesion",
    "Structure",
    "LESIONS",
    "TARGET_LESION",
    "PAINT_ORDER",
    "SEED_SITES",
    "design_structures",
    "seed_points",
    "body_bbox",
    "bladder_adjacent_lesion",
]

#: Protocol seed points recorded in the truth, in protocol order: the protocol's sites.
SEED_SITES = ALL_SITES


# --------------------------------------------------------------------------------------------------------------
# Radionuclides
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RadionuclideInfo:
    """What the phantom writes into the DICOM header for one radionuclide.

    Attributes
    ----------
    name : str
        ``"Ga-68"`` or ``"F-18"``.
    half_life_s : float
        RadionuclideHalfLife in seconds.
    code_value, code_meaning : str
        RadionuclideCodeSequence item (SRT scheme, DICOM CID 4020).
    radiopharmaceutical : str
        Radiopharmaceutical (0018,0031).
    default_dose_bq : float
        RadionuclideTotalDose used when none is given, in Bq.
    """

    name: str
    half_life_s: float
    code_value: str
    code_meaning: str
    radiopharmaceutical: str
    default_dose_bq: float


#: Ga-68: T1/2 4057.7 s as in the IBSI-SUV reference objects and most scanner headers (NNDC: 67.71 min =
#: 4062.6 s); code C-131A3 is ^68^Gallium in CID 4020 (C-131A1 is ^66^Gallium). 150 MBq is a typical Pentixafor
#: activity. F-18: IBSI-SUV baseline (6586.2 s, 368.08 MBq).
PHANTOM_RADIONUCLIDES: dict[str, RadionuclideInfo] = {
    "Ga-68": RadionuclideInfo("Ga-68", 4057.7, "C-131A3", "^68^Gallium", "Ga68-Pentixafor", 150.0e6),
    "F-18": RadionuclideInfo("F-18", 6586.2, "C-111A1", "^18^Fluorine", "F18-synthetic-tracer", 368.08e6),
}


def radionuclide_info(name: str) -> RadionuclideInfo:
    """The :class:`RadionuclideInfo` called ``name``; ValueError naming the known ones otherwise."""
    try:
        return PHANTOM_RADIONUCLIDES[name]
    except KeyError:
        raise ValueError(f"radionuclide {name!r} is not one of {', '.join(PHANTOM_RADIONUCLIDES)}") from None


# --------------------------------------------------------------------------------------------------------------
# Structures, SUVs and positions
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SphereLesion:
    """A spherical lesion of uniform SUV.

    Attributes
    ----------
    name : str
        Unique structure name (also the label name).
    center_ras : tuple of float
        Centre in RAS mm.
    diameter_mm : float
        Sphere diameter in mm.
    suv : float
        Design SUV (g/mL).
    target : bool
        Make this the target lesion of the truth (seed ``lesion``) instead of the built-in one.
    """

    name: str
    center_ras: tuple[float, float, float]
    diameter_mm: float
    suv: float
    target: bool = False

    @property
    def radius_mm(self) -> float:
        return self.diameter_mm / 2.0


@dataclass(frozen=True)
class Structure:
    """One structure of the design: its shapes (``parts``, painted together), SUV, centre and size in mm."""

    name: str
    kind: str
    suv: float
    parts: tuple
    center_ras: tuple[float, float, float]
    size: dict
    group: str  # "body", "organ", "blood", "marrow", "lesion"


# Design values (SUVbw, g/mL) at ~60 min p.i., inside the Pentixafor ranges of reference §5.
SUV_SOFT_TISSUE = 0.7
SUV_LUNG = 0.4
SUV_LIVER = 2.0
SUV_BLOOD = 2.0
SUV_SPLEEN = 5.5
SUV_KIDNEY = 4.5
SUV_BLADDER = 40.0
SUV_OTHER_VERTEBRAE = 2.2
#: Marrow SUV per protocol site: all different, so a site mix-up changes a number.
SUV_MARROW = {"C7": 2.6, "T12": 2.9, "L5": 3.3, "right_ilium": 3.1, "left_ilium": 2.7}
#: Built-in lesions: name -> (centre RAS mm, diameter mm, SUV). The 22 mm one is the target lesion: it has the
#: highest SUV of all non-physiological structures, blurred or not.
LESIONS: dict[str, tuple[tuple[float, float, float], float, float]] = {
    "lesion_10mm": ((-44.0, 4.0, 212.0), 10.0, 8.0),  # left supraclavicular
    "lesion_13mm": ((152.0, 16.0, 160.0), 13.0, 6.0),  # right axilla
    "lesion_17mm": ((0.0, 64.0, 100.0), 17.0, 10.0),  # anterior mediastinum
    "lesion_22mm": ((40.0, 40.0, -120.0), 22.0, 12.0),  # right lower abdomen (mesenteric): TARGET
    "lesion_28mm": ((-64.0, 48.0, -140.0), 28.0, 7.0),  # left lower abdomen
    "lesion_37mm": ((64.0, 64.0, -200.0), 37.0, 9.0),  # right iliac fossa
}
TARGET_LESION = "lesion_22mm"

# Vertebral bodies: elliptic cylinders along S. Protocol sites (centre RAS, semi-axes R/A, height); the other
# vertebrae fill the gaps with 5 mm (thoracic) / 8 mm (lumbar) discs.
_C7 = ((0.0, -24.0, 248.0), (17.0, 14.0), 24.0)
_T12 = ((0.0, -48.0, -28.0), (22.0, 18.0), 28.0)
_L5 = ((0.0, -40.0, -196.0), (26.0, 20.0), 30.0)
# Aortic arch: half torus in the plane spanned by u (descending -> ascending, pointing right-anterior) and S.
_ARCH_CENTER = (-8.0, 4.0, 148.0)
_ARCH_U = (0.8, 0.6, 0.0)
_ARCH_MAJOR_MM = 40.0
_AORTA_RADIUS_MM = 13.0
_ASCENDING_BOTTOM_S = 100.0
_DESCENDING_BOTTOM_S = -152.0
# Ilia: slabs (ellipsoids) whose wide axis points anterior-lateral at 30 deg from the A axis.
_ILIUM_CENTER_ABS = (96.0, -40.0, -212.0)
_ILIUM_SEMI = (18.0, 48.0, 56.0)  # thickness, width, height
_ILIUM_ANGLE_DEG = 30.0
_BLADDER = ((0.0, 44.0, -292.0), (48.0, 36.0, 32.0))
#: Ellipsoidal organs: name -> (centre RAS mm, semi-axes R/A/S mm, SUV).
_ORGANS = {
    "lung_right": ((84.0, 0.0, 124.0), (56.0, 72.0, 100.0), SUV_LUNG),
    "lung_left": ((-84.0, 0.0, 124.0), (56.0, 72.0, 100.0), SUV_LUNG),
    "liver": ((76.0, 8.0, 16.0), (68.0, 72.0, 60.0), SUV_LIVER),
    "spleen": ((-96.0, -36.0, 40.0), (28.0, 44.0, 48.0), SUV_SPLEEN),
    "kidney_right": ((76.0, -52.0, -84.0), (26.0, 20.0, 54.0), SUV_KIDNEY),
    "kidney_left": ((-76.0, -52.0, -72.0), (26.0, 20.0, 54.0), SUV_KIDNEY),
    "bladder": (*_BLADDER, SUV_BLADDER),
}
_TORSO = ((0.0, 0.0, -56.0), (170.0, 110.0), 568.0)  # S -340 .. 228
_NECK = ((0.0, -16.0, 264.0), (60.0, 56.0), 72.0)  # S 228 .. 300


def _vertebra_column() -> list[tuple[str, tuple, tuple, float]]:
    """Other vertebral bodies T1-T11 and L1-L4 between the protocol sites: (name, centre, semi-axes, height)."""
    return vertebral_bodies_between(_C7, _T12, [f"T{n}" for n in range(1, 12)], 5.0) + vertebral_bodies_between(
        _T12, _L5, [f"L{n}" for n in range(1, 5)], 8.0
    )


def design_structures(extra_lesions: Sequence[SphereLesion] = ()) -> list[Structure]:
    """All structures in painting order (later wins), the built-in lesions followed by ``extra_lesions``."""
    s: list[Structure] = []

    def cyl(c, semi, h, rot=None):
        return Cylinder(tuple(c), tuple(semi), float(h), rot)

    def organ(name, c, semi, suv):
        s.append(Structure(name, "ellipsoid", suv, (Ellipsoid(c, semi),), c, {"semi_axes_mm": semi}, "organ"))

    body_size = {
        "torso": {"center_ras": _TORSO[0], "semi_axes_ra_mm": _TORSO[1], "height_mm": _TORSO[2]},
        "neck": {"center_ras": _NECK[0], "semi_axes_ra_mm": _NECK[1], "height_mm": _NECK[2]},
    }
    s.append(Structure("body", "trunk_and_neck", SUV_SOFT_TISSUE, (cyl(*_TORSO), cyl(*_NECK)), (0.0, 0.0, -20.0),
                       body_size, "body"))
    for name in ("lung_right", "lung_left", "liver"):
        organ(name, *_ORGANS[name])

    # Aorta: arch (half torus) continued by the ascending and descending aorta (vertical tubes).
    aorta_parts, apex, asc, desc = arch_and_tubes(_ARCH_CENTER, _ARCH_U, _ARCH_MAJOR_MM, _AORTA_RADIUS_MM,
                                                  _ASCENDING_BOTTOM_S, _DESCENDING_BOTTOM_S)
    aorta_size = {
        "arch_center_ras": _ARCH_CENTER, "arch_plane_u": _ARCH_U, "arch_major_radius_mm": _ARCH_MAJOR_MM,
        "lumen_radius_mm": _AORTA_RADIUS_MM, "ascending_axis_ra": tuple(asc[:2]),
        "ascending_bottom_s_mm": _ASCENDING_BOTTOM_S, "descending_axis_ra": tuple(desc[:2]),
        "descending_bottom_s_mm": _DESCENDING_BOTTOM_S,
    }
    s.append(Structure("aorta", "arch_half_torus_and_tubes", SUV_BLOOD, aorta_parts, apex, aorta_size, "blood"))

    for name in ("spleen", "kidney_right", "kidney_left", "bladder"):
        organ(name, *_ORGANS[name])

    column = _vertebra_column()
    bodies = [{"name": n, "center_ras": c, "semi_axes_ra_mm": semi, "height_mm": h} for n, c, semi, h in column]
    s.append(Structure("vertebrae_other", "elliptic_cylinders", SUV_OTHER_VERTEBRAE,
                       tuple(cyl(c, semi, h) for _, c, semi, h in column), (0.0, -40.0, 110.0),
                       {"bodies": bodies}, "marrow"))
    for name, (c, semi, h) in (("C7", _C7), ("T12", _T12), ("L5", _L5)):
        s.append(Structure(name, "elliptic_cylinder", SUV_MARROW[name], (cyl(c, semi, h),), c,
                           {"semi_axes_ra_mm": semi, "height_mm": h}, "marrow"))
    for name, side in (("right_ilium", 1), ("left_ilium", -1)):
        c = (side * _ILIUM_CENTER_ABS[0], _ILIUM_CENTER_ABS[1], _ILIUM_CENTER_ABS[2])
        rot = ilium_axes(_ILIUM_ANGLE_DEG, side)
        size = {"semi_axes_mm": _ILIUM_SEMI, "axes_ras": rot.T.tolist(),
                "note": "semi-axes along (thickness, width, height) = rows of axes_ras"}
        s.append(Structure(name, "rotated_ellipsoid", SUV_MARROW[name], (Ellipsoid(c, _ILIUM_SEMI, rot),), c,
                           size, "marrow"))

    lesions = [SphereLesion(n, c, d, v) for n, (c, d, v) in LESIONS.items()] + list(extra_lesions)
    for les in lesions:
        if les.name in {x.name for x in s}:
            raise ValueError(f"lesion name {les.name!r} is used twice")
        if not (les.diameter_mm > 0 and np.isfinite(les.suv)):
            raise ValueError(f"lesion {les.name!r}: diameter must be > 0 and SUV finite")
        c = tuple(float(v) for v in les.center_ras)
        s.append(Structure(les.name, "sphere", float(les.suv), (sphere(c, les.radius_mm),), c,
                           {"diameter_mm": float(les.diameter_mm), "radius_mm": les.radius_mm}, "lesion"))
    if len(s) > 255:
        raise ValueError("too many structures for a uint8 label map")
    return s


#: Structure names of the built-in design in painting order (extra lesions come last).
PAINT_ORDER: tuple[str, ...] = tuple(st.name for st in design_structures())


def seed_points(structures: Sequence[Structure], target: str) -> dict[str, tuple[float, float, float]]:
    """The protocol points (:data:`SEED_SITES`, RAS mm): target lesion centre, arch apex, marrow centres."""
    by = {st.name: st for st in structures}
    seeds = {LESION: by[target].center_ras, AORTA: by["aorta"].center_ras}
    for site in MARROW_SITES:  # the marrow structures are named after their sites
        seeds[site] = by[site].center_ras
    return {k: tuple(float(x) for x in v) for k, v in seeds.items()}


def body_bbox() -> tuple[np.ndarray, np.ndarray]:
    """Low and high RAS corners (mm) of the body (trunk and neck), which holds every other structure."""
    los, his = zip(*(p.bbox_ras() for p in design_structures()[0].parts))
    return np.min(los, axis=0), np.max(his, axis=0)


def bladder_adjacent_lesion(diameter_mm: float = 20.0, suv: float = 10.0, overlap_mm: float = 2.0) -> SphereLesion:
    """A lesion sitting on the bladder dome: its voxels touch bladder voxels (6-connected) on every grid.

    The centre lies on the bladder's vertical axis, ``overlap_mm`` closer than tangency, so the column of voxels
    through both centres is bladder-then-lesion without a gap; lesions are painted over the bladder, so the
    lesion stays a whole sphere. With the defaults the centre is (0, 44, -252) RAS, a multiple of 4 mm.
    """
    (cr, ca, cs), (_, _, semi_s) = _BLADDER
    s = cs + semi_s + diameter_mm / 2.0 - overlap_mm
    return SphereLesion("lesion_bladder_adjacent", (cr, ca, s), float(diameter_mm), float(suv))
