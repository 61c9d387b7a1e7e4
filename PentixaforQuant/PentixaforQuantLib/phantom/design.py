"""The synthetic "Pentixafor digital reference object": a whole-trunk SUV phantom with known answers.

The design is analytic, in continuous RAS millimetres (RAS: +R = patient right, +A = anterior, +S = superior), so it
can be sampled on any grid: isotropic, anisotropic or oblique. It holds a body (trunk and neck), lungs, liver,
aortic arch with ascending and descending aorta (blood pool), spleen, kidneys, urinary bladder, the vertebral
bodies C7 to L5, both ilia, and six spherical lesions; ``docs/phantom.md`` has the anatomy table.

Sampling rules
--------------
* **Point sampling.** A voxel takes the design value at its centre, so a sphere VOI is exactly "the voxels whose
  centres lie within the radius" and the label map is the voxelised design.
* **Priority.** Structures are painted in :data:`PAINT_ORDER` (later wins): body, lungs, liver, aorta, spleen,
  kidneys, bladder, other vertebrae, the five marrow sites, the built-in lesions, extra lesions.
* **On-grid design.** Every lesion centre and every protocol seed point lies on a multiple of 4 mm in R, A and S,
  and the default grids place a voxel centre at RAS (0, 0, 0); so on isotropic 1, 2 and 4 mm grids every seed and
  lesion centre is a voxel centre. ``offgrid=True`` shifts the grid by a fraction of a voxel to break this.
* **Blur, then noise.** An optional Gaussian PSF (``fwhm_mm``) is applied to the point-sampled map; multiplicative
  Gaussian noise (``noise`` = relative SD, fixed ``seed``) comes after the blur. The truth and the label map
  always describe the noise-free, unblurred design.

Every structure is evaluated only inside its bounding box, and on axis-aligned grids the coordinate arrays stay
one-dimensional (numpy broadcasting), so a 440 x 440 x 600 grid builds in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import ndimage

from ..geometry import VoxelGrid

__all__ = [
    "RadionuclideInfo",
    "PHANTOM_RADIONUCLIDES",
    "SphereLesion",
    "PhantomOptions",
    "StructureTruth",
    "PhantomTruth",
    "Phantom",
    "PAINT_ORDER",
    "SEED_SITES",
    "OFFGRID_FRACTION",
    "FWHM_TO_SIGMA",
    "design_grid",
    "make_phantom",
    "add_sphere_lesion",
    "bladder_adjacent_lesion",
    "border_lesion_options",
    "make_whole_body_grid_phantom",
    "count_voxels_in_sphere",
]

#: sigma = FWHM / (2 sqrt(2 ln 2)).
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
#: Grid shift, as a fraction of a voxel along i, j, k, used by ``offgrid=True`` (irrational-looking on purpose).
OFFGRID_FRACTION = (0.37, 0.29, 0.41)
#: Protocol seed points recorded in the truth, in protocol order.
SEED_SITES = ("lesion", "aorta", "C7", "T12", "L5", "right_ilium", "left_ilium")
#: Diameter of the blood-pool and marrow spheres of the protocol (SPEC §3-4), used for the expected values.
PROTOCOL_SPHERE_DIAMETER_MM = 15.0
# Inclusion tolerance of the shape tests (relative), the same as VoxelGrid.ball_offsets_kji uses, so that voxel
# centres lying exactly on a sphere surface are inside in both places.
_EPS = 1e-9
# Voxels per chunk when evaluating a structure on an oblique grid (coordinates are then full 3-D arrays).
_CHUNK_VOXELS = 1 << 22


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


def _radionuclide(name: str) -> RadionuclideInfo:
    try:
        return PHANTOM_RADIONUCLIDES[name]
    except KeyError:
        raise ValueError(f"radionuclide {name!r} is not one of {', '.join(PHANTOM_RADIONUCLIDES)}") from None


# --------------------------------------------------------------------------------------------------------------
# Analytic shapes (continuous RAS mm). contains() takes broadcastable coordinate arrays x, y, z.
# --------------------------------------------------------------------------------------------------------------
def _project(coords, origin, axis) -> np.ndarray:
    """sum_w axis[w] * (coords[w] - origin[w]), skipping zero terms so axis-aligned inputs stay 1-D."""
    out = None
    for w in range(3):
        a = float(axis[w])
        if abs(a) < 1e-12:
            continue
        term = (coords[w] - origin[w]) * a if a != 1.0 else coords[w] - origin[w]
        out = term if out is None else out + term
    return np.zeros((1, 1, 1)) if out is None else out


def _rotation(rotation) -> np.ndarray:
    r = np.eye(3) if rotation is None else np.asarray(rotation, float)
    if r.shape != (3, 3) or not np.allclose(r.T @ r, np.eye(3), atol=1e-9):
        raise ValueError("rotation must be an orthonormal 3x3 matrix (columns = local axes in RAS)")
    return r


@dataclass(frozen=True)
class _Ellipsoid:
    """Ellipsoid with semi-axes along the columns of ``rotation`` (local axes in RAS)."""

    center_ras: tuple[float, float, float]
    semi_axes_mm: tuple[float, float, float]
    rotation: Any = None

    def bbox_ras(self):
        r = _rotation(self.rotation)
        half = np.sqrt(((r * np.asarray(self.semi_axes_mm, float)) ** 2).sum(axis=1))
        c = np.asarray(self.center_ras, float)
        return c - half, c + half

    def contains(self, x, y, z):
        r = _rotation(self.rotation)
        q = 0.0
        for a in range(3):
            q = q + (_project((x, y, z), self.center_ras, r[:, a]) / self.semi_axes_mm[a]) ** 2
        return q <= 1.0 + _EPS


@dataclass(frozen=True)
class _Cylinder:
    """Elliptic cylinder: cross-section semi-axes along local axes 0, 1; ``height_mm`` along local axis 2."""

    center_ras: tuple[float, float, float]
    semi_axes_mm: tuple[float, float]
    height_mm: float
    rotation: Any = None

    def bbox_ras(self):
        r = _rotation(self.rotation)
        a, b = self.semi_axes_mm
        half = np.sqrt((r[:, 0] * a) ** 2 + (r[:, 1] * b) ** 2) + np.abs(r[:, 2]) * self.height_mm / 2.0
        c = np.asarray(self.center_ras, float)
        return c - half, c + half

    def contains(self, x, y, z):
        r = _rotation(self.rotation)
        p = (x, y, z)
        q = (_project(p, self.center_ras, r[:, 0]) / self.semi_axes_mm[0]) ** 2 + (
            _project(p, self.center_ras, r[:, 1]) / self.semi_axes_mm[1]
        ) ** 2
        h = np.abs(_project(p, self.center_ras, r[:, 2]))
        return (q <= 1.0 + _EPS) & (h <= self.height_mm / 2.0 * (1.0 + _EPS))


@dataclass(frozen=True)
class _HalfTorus:
    """Tube of radius ``tube_radius_mm`` around the half circle ``center + R (cos t u + sin t v)``, t in [0, pi]."""

    center_ras: tuple[float, float, float]
    u: tuple[float, float, float]
    v: tuple[float, float, float]
    major_radius_mm: float
    tube_radius_mm: float

    def bbox_ras(self):
        t = np.linspace(0.0, np.pi, 361)
        c = np.asarray(self.center_ras, float)
        arc = np.cos(t)[:, None] * np.asarray(self.u) + np.sin(t)[:, None] * np.asarray(self.v)
        pts = c + self.major_radius_mm * arc
        pad = self.tube_radius_mm + 1.0  # the sampled arc can miss the true extreme by < 0.01 mm
        return pts.min(axis=0) - pad, pts.max(axis=0) + pad

    def contains(self, x, y, z):
        p = (x, y, z)
        w = np.cross(self.u, self.v)
        a = _project(p, self.center_ras, self.u)
        b = _project(p, self.center_ras, self.v)
        n = _project(p, self.center_ras, w)
        rho = np.sqrt(a * a + b * b)
        return ((rho - self.major_radius_mm) ** 2 + n * n <= self.tube_radius_mm**2 * (1.0 + _EPS)) & (b >= 0.0)


# --------------------------------------------------------------------------------------------------------------
# Design
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
class _Structure:
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
    out = []

    def fill(upper, lower, names, disc_mm):
        top = upper[0][2] - upper[2] / 2.0  # bottom face of the upper site vertebra
        bottom = lower[0][2] + lower[2] / 2.0  # top face of the lower one
        n = len(names)
        height = (top - bottom - (n + 1) * disc_mm) / n
        for m, name in enumerate(names):
            s = top - disc_mm - height / 2.0 - m * (height + disc_mm)
            f = (upper[0][2] - s) / (upper[0][2] - lower[0][2])
            a = upper[0][1] + f * (lower[0][1] - upper[0][1])
            semi = tuple(upper[1][q] + f * (lower[1][q] - upper[1][q]) for q in range(2))
            out.append((name, (0.0, a, s), semi, height))

    fill(_C7, _T12, [f"T{n}" for n in range(1, 12)], 5.0)
    fill(_T12, _L5, [f"L{n}" for n in range(1, 5)], 8.0)
    return out


def _ilium_rotation(side: int) -> np.ndarray:
    """Local axes (thickness, width, height) of the ilium; side = +1 right (R > 0), -1 left."""
    t = math.radians(_ILIUM_ANGLE_DEG)
    width = np.array([side * math.sin(t), math.cos(t), 0.0])
    thick = np.array([side * math.cos(t), -math.sin(t), 0.0])
    return np.column_stack([thick, width, [0.0, 0.0, 1.0]])


def _design(extra_lesions: Sequence[SphereLesion] = ()) -> list[_Structure]:
    """All structures in painting order (later wins)."""
    s: list[_Structure] = []

    def cyl(c, semi, h, rot=None):
        return _Cylinder(tuple(c), tuple(semi), float(h), rot)

    def organ(name, c, semi, suv):
        s.append(_Structure(name, "ellipsoid", suv, (_Ellipsoid(c, semi),), c, {"semi_axes_mm": semi}, "organ"))

    body_size = {
        "torso": {"center_ras": _TORSO[0], "semi_axes_ra_mm": _TORSO[1], "height_mm": _TORSO[2]},
        "neck": {"center_ras": _NECK[0], "semi_axes_ra_mm": _NECK[1], "height_mm": _NECK[2]},
    }
    s.append(_Structure("body", "trunk_and_neck", SUV_SOFT_TISSUE, (cyl(*_TORSO), cyl(*_NECK)), (0.0, 0.0, -20.0),
                        body_size, "body"))
    for name in ("lung_right", "lung_left", "liver"):
        organ(name, *_ORGANS[name])

    # Aorta: arch (half torus) continued by the ascending and descending aorta (vertical tubes).
    u = np.asarray(_ARCH_U)
    arch_c = np.asarray(_ARCH_CENTER)
    asc = arch_c + _ARCH_MAJOR_MM * u
    desc = arch_c - _ARCH_MAJOR_MM * u
    h_asc = arch_c[2] - _ASCENDING_BOTTOM_S
    h_desc = arch_c[2] - _DESCENDING_BOTTOM_S
    r = _AORTA_RADIUS_MM
    aorta_parts = (
        _HalfTorus(_ARCH_CENTER, _ARCH_U, (0.0, 0.0, 1.0), _ARCH_MAJOR_MM, r),
        cyl((asc[0], asc[1], arch_c[2] - h_asc / 2), (r, r), h_asc),
        cyl((desc[0], desc[1], arch_c[2] - h_desc / 2), (r, r), h_desc),
    )
    apex = tuple(float(v) for v in arch_c + np.array([0.0, 0.0, _ARCH_MAJOR_MM]))
    aorta_size = {
        "arch_center_ras": _ARCH_CENTER, "arch_plane_u": _ARCH_U, "arch_major_radius_mm": _ARCH_MAJOR_MM,
        "lumen_radius_mm": r, "ascending_axis_ra": tuple(asc[:2]), "ascending_bottom_s_mm": _ASCENDING_BOTTOM_S,
        "descending_axis_ra": tuple(desc[:2]), "descending_bottom_s_mm": _DESCENDING_BOTTOM_S,
    }
    s.append(_Structure("aorta", "arch_half_torus_and_tubes", SUV_BLOOD, aorta_parts, apex, aorta_size, "blood"))

    for name in ("spleen", "kidney_right", "kidney_left", "bladder"):
        organ(name, *_ORGANS[name])

    column = _vertebra_column()
    bodies = [{"name": n, "center_ras": c, "semi_axes_ra_mm": semi, "height_mm": h} for n, c, semi, h in column]
    s.append(_Structure("vertebrae_other", "elliptic_cylinders", SUV_OTHER_VERTEBRAE,
                        tuple(cyl(c, semi, h) for _, c, semi, h in column), (0.0, -40.0, 110.0),
                        {"bodies": bodies}, "marrow"))
    for name, (c, semi, h) in (("C7", _C7), ("T12", _T12), ("L5", _L5)):
        s.append(_Structure(name, "elliptic_cylinder", SUV_MARROW[name], (cyl(c, semi, h),), c,
                            {"semi_axes_ra_mm": semi, "height_mm": h}, "marrow"))
    for name, side in (("right_ilium", 1), ("left_ilium", -1)):
        c = (side * _ILIUM_CENTER_ABS[0], _ILIUM_CENTER_ABS[1], _ILIUM_CENTER_ABS[2])
        rot = _ilium_rotation(side)
        size = {"semi_axes_mm": _ILIUM_SEMI, "axes_ras": rot.T.tolist(),
                "note": "semi-axes along (thickness, width, height) = rows of axes_ras"}
        s.append(_Structure(name, "rotated_ellipsoid", SUV_MARROW[name], (_Ellipsoid(c, _ILIUM_SEMI, rot),), c,
                            size, "marrow"))

    lesions = [SphereLesion(n, c, d, v) for n, (c, d, v) in LESIONS.items()] + list(extra_lesions)
    for les in lesions:
        if les.name in {x.name for x in s}:
            raise ValueError(f"lesion name {les.name!r} is used twice")
        if not (les.diameter_mm > 0 and np.isfinite(les.suv)):
            raise ValueError(f"lesion {les.name!r}: diameter must be > 0 and SUV finite")
        c = tuple(float(v) for v in les.center_ras)
        s.append(_Structure(les.name, "sphere", float(les.suv), (_Ellipsoid(c, (les.radius_mm,) * 3),), c,
                            {"diameter_mm": float(les.diameter_mm), "radius_mm": les.radius_mm}, "lesion"))
    if len(s) > 255:
        raise ValueError("too many structures for a uint8 label map")
    return s


#: Structure names of the built-in design in painting order (extra lesions come last).
PAINT_ORDER: tuple[str, ...] = tuple(st.name for st in _design())


def _seed_points(structures: Sequence[_Structure], target: str) -> dict[str, tuple[float, float, float]]:
    by = {st.name: st for st in structures}
    seeds = {"lesion": by[target].center_ras, "aorta": by["aorta"].center_ras}
    for site in ("C7", "T12", "L5", "right_ilium", "left_ilium"):
        seeds[site] = by[site].center_ras
    return {k: tuple(float(x) for x in v) for k, v in seeds.items()}


def _body_bbox() -> tuple[np.ndarray, np.ndarray]:
    los, his = zip(*(p.bbox_ras() for p in _design()[0].parts))
    return np.min(los, axis=0), np.max(his, axis=0)


# --------------------------------------------------------------------------------------------------------------
# Options, truth, phantom
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhantomOptions:
    """How to build the phantom.

    Attributes
    ----------
    radionuclide : {"Ga-68", "F-18"}
        Recorded in the truth and used by the DICOM writer (half-life, code, default dose).
    spacing_mm : tuple of float
        Voxel spacing along i, j, k in mm (default 4 mm isotropic; e.g. 2 mm or (4.07, 4.07, 3.0)).
    directions : (3, 3) array-like or None
        Columns = unit i, j, k axes in RAS (orthonormal for a correct blur); None = identity (axial grid).
    fov_ras : ((R, A, S) low, (R, A, S) high) or None
        Box in RAS mm that the grid must cover (the grid is the smallest lattice grid around it); None = the
        body's bounding box plus :attr:`fov_margin_mm`.
    fov_margin_mm : float
        Margin around the body when ``fov_ras`` is None.
    offgrid : bool
        Shift the grid by :data:`OFFGRID_FRACTION` of a voxel along i, j, k, so that no seed or lesion centre
        is a voxel centre.
    grid_shift_mm : tuple of float or None
        An explicit extra RAS translation of the grid (mm), applied after ``offgrid``.
    grid : VoxelGrid or None
        Sample on exactly this grid; overrides spacing, directions, FOV and shifts.
    fwhm_mm : float
        FWHM of the isotropic Gaussian PSF in mm; 0 = point-sampled design (the truth case).
    noise : float
        Relative SD of multiplicative Gaussian noise (0 = none), applied after the blur.
    seed : int
        Seed of the noise generator (same seed, same noise).
    extra_lesions : tuple of SphereLesion
        Lesions painted after (over) everything else, e.g. :func:`bladder_adjacent_lesion`.
    """

    radionuclide: str = "Ga-68"
    spacing_mm: tuple[float, float, float] = (4.0, 4.0, 4.0)
    directions: Any = None
    fov_ras: Any = None
    fov_margin_mm: float = 16.0
    offgrid: bool = False
    grid_shift_mm: tuple[float, float, float] | None = None
    grid: VoxelGrid | None = None
    fwhm_mm: float = 0.0
    noise: float = 0.0
    seed: int = 0
    extra_lesions: tuple[SphereLesion, ...] = ()

    def to_dict(self) -> dict:
        """JSON-able form (the grid as its matrix and shape)."""
        d = {
            "radionuclide": self.radionuclide,
            "spacing_mm": [float(v) for v in self.spacing_mm],
            "directions": None if self.directions is None else np.asarray(self.directions, float).tolist(),
            "fov_ras": None if self.fov_ras is None else np.asarray(self.fov_ras, float).tolist(),
            "fov_margin_mm": float(self.fov_margin_mm),
            "offgrid": bool(self.offgrid),
            "grid_shift_mm": None if self.grid_shift_mm is None else [float(v) for v in self.grid_shift_mm],
            "grid": None if self.grid is None else _grid_to_dict(self.grid),
            "fwhm_mm": float(self.fwhm_mm),
            "noise": float(self.noise),
            "seed": int(self.seed),
            "extra_lesions": [_plain(asdict(les)) for les in self.extra_lesions],
        }
        return d


@dataclass(frozen=True)
class StructureTruth:
    """One painted structure.

    Attributes
    ----------
    name, kind : str
        Structure name (= label name) and shape kind.
    label : int
        Value in the label map.
    center_ras : tuple of float
        Centre (RAS mm); for the aorta the arch apex on the lumen centre line.
    size : dict
        Shape parameters in mm (radius_mm, semi_axes_mm, height_mm, ...).
    suv : float
        Design SUV (g/mL).
    voxel_count : int
        Voxels carrying this label on the phantom's grid (after priority compositing).
    group : str
        "body", "organ", "blood", "marrow" or "lesion".
    """

    name: str
    kind: str
    label: int
    center_ras: tuple[float, float, float]
    size: dict
    suv: float
    voxel_count: int
    group: str


@dataclass(frozen=True)
class PhantomTruth:
    """Everything a test needs to know about a phantom.

    Attributes
    ----------
    grid : VoxelGrid
        The sampling grid.
    radionuclide : str
        ``"Ga-68"`` or ``"F-18"``.
    half_life_s : float
        Half-life the DICOM writer records, in s.
    fwhm_mm, noise : float
        Blur and noise applied to :attr:`Phantom.suv` (the expected values below ignore both).
    seed : int
        Noise seed.
    structures : tuple of StructureTruth
        In painting order.
    seeds_ras : dict
        Protocol points (RAS mm): ``lesion`` (target lesion centre), ``aorta`` (arch apex on the lumen centre
        line), ``C7``, ``T12``, ``L5``, ``right_ilium``, ``left_ilium`` (centres of the marrow structures; a
        15 mm sphere there lies fully in marrow).
    target_lesion : str
        Name of the target lesion.
    expected : dict
        Answers for the noise-free, unblurred design on this grid: ``lesion`` (name, suv_max, suv_mean, voxels,
        volume_ml, design_volume_ml), ``blood_pool`` (suv_mean, voxels), ``marrow`` (per site suv_max, suv_mean,
        voxels), ``tbr``, ``mean_suv_max`` and ``sphere_diameter_mm``. Sphere voxel counts are the voxel centres
        within 7.5 mm of the seed.
    """

    grid: VoxelGrid
    radionuclide: str
    half_life_s: float
    fwhm_mm: float
    noise: float
    seed: int
    structures: tuple[StructureTruth, ...]
    seeds_ras: dict[str, tuple[float, float, float]]
    target_lesion: str
    expected: dict

    def structure(self, name: str) -> StructureTruth:
        """The structure called ``name``."""
        for st in self.structures:
            if st.name == name:
                return st
        raise KeyError(name)

    @property
    def seed_points(self) -> dict[str, tuple[float, float, float]]:
        """Alias of :attr:`seeds_ras` (site name -> RAS mm), in protocol order."""
        return dict(self.seeds_ras)

    def summary_lines(self) -> list[str]:
        """The expected protocol answers as short human-readable lines."""
        e = self.expected
        les = e["lesion"]
        lines = [
            f"target lesion {les['name']}: SUVmax {les['suv_max']:.2f}, SUVmean {les['suv_mean']:.2f}, "
            f"{les['voxels']} voxels = {les['volume_ml']:.2f} mL (sphere {les['design_volume_ml']:.2f} mL)",
            f"blood pool (aortic arch, {e['sphere_diameter_mm']:g} mm sphere): "
            f"SUVmean {e['blood_pool']['suv_mean']:.2f}",
            f"TBR {e['tbr']:.2f}",
        ]
        lines += [f"marrow {site}: SUVmax {m['suv_max']:.2f}" for site, m in e["marrow"].items()]
        lines.append(f"meanSUVmax {e['mean_suv_max']:.2f}")
        return lines

    @property
    def label_names(self) -> dict[int, str]:
        """Label value -> structure name (0 = ``outside`` the body)."""
        return {0: "outside", **{st.label: st.name for st in self.structures}}

    def to_dict(self) -> dict:
        """JSON-able dict (plain lists, floats and strings)."""
        return _plain(
            {
                "format": "pentixafor-phantom-truth/1",
                "grid": _grid_to_dict(self.grid),
                "radionuclide": self.radionuclide,
                "half_life_s": self.half_life_s,
                "fwhm_mm": self.fwhm_mm,
                "noise": self.noise,
                "seed": self.seed,
                "structures": [asdict(st) for st in self.structures],
                "seeds_ras": self.seeds_ras,
                "target_lesion": self.target_lesion,
                "expected": self.expected,
                "label_names": {str(k): v for k, v in self.label_names.items()},
            }
        )

    @classmethod
    def from_dict(cls, d: dict) -> PhantomTruth:
        """Inverse of :meth:`to_dict` (e.g. for a ``truth.json`` read back)."""
        g = d["grid"]
        return cls(
            grid=VoxelGrid(np.asarray(g["ijk_to_ras"], float), tuple(g["shape_kji"])),
            radionuclide=d["radionuclide"],
            half_life_s=float(d["half_life_s"]),
            fwhm_mm=float(d["fwhm_mm"]),
            noise=float(d["noise"]),
            seed=int(d["seed"]),
            structures=tuple(
                StructureTruth(**{**st, "center_ras": tuple(st["center_ras"])}) for st in d["structures"]
            ),
            seeds_ras={k: tuple(v) for k, v in d["seeds_ras"].items()},
            target_lesion=d["target_lesion"],
            expected=d["expected"],
        )


@dataclass
class Phantom:
    """A sampled phantom.

    Attributes
    ----------
    suv : ndarray, float32, shape (k, j, i)
        SUVbw map (g/mL), blurred and noisy as the options say.
    labels : ndarray, uint8, shape (k, j, i)
        Voxelised design: one label per structure (0 = outside the body).
    label_names : dict
        Label value -> structure name.
    grid : VoxelGrid
        Sampling grid.
    truth : PhantomTruth
        Design, seed points and expected values.
    options : PhantomOptions
        The options used.
    """

    suv: np.ndarray
    labels: np.ndarray
    label_names: dict[int, str]
    grid: VoxelGrid
    truth: PhantomTruth
    options: PhantomOptions

    def mask(self, name: str) -> np.ndarray:
        """Boolean [k, j, i] mask of the structure called ``name``."""
        return self.labels == self.truth.structure(name).label


# --------------------------------------------------------------------------------------------------------------
# Grid and painting
# --------------------------------------------------------------------------------------------------------------
def design_grid(
    spacing_mm=(4.0, 4.0, 4.0),
    directions=None,
    fov_ras=None,
    *,
    fov_margin_mm: float = 16.0,
    offgrid: bool = False,
    grid_shift_mm=None,
) -> VoxelGrid:
    """The smallest lattice grid covering a RAS box, with a voxel centre at RAS (0, 0, 0) unless shifted.

    Parameters
    ----------
    spacing_mm : tuple of float
        Spacing along i, j, k in mm.
    directions : (3, 3) array-like or None
        Columns = unit i, j, k axes in RAS; None = identity.
    fov_ras : (2, 3) array-like or None
        Low and high RAS corners (mm) to cover; None = body bounding box plus ``fov_margin_mm``.
    fov_margin_mm : float
        Margin (mm) added around the body box when ``fov_ras`` is None.
    offgrid : bool
        Shift by :data:`OFFGRID_FRACTION` of a voxel along each grid axis.
    grid_shift_mm : tuple of float or None
        Extra RAS translation (mm).

    Returns
    -------
    VoxelGrid
    """
    d = np.eye(3) if directions is None else np.asarray(directions, float)
    m = d * np.asarray(spacing_mm, float)  # columns: i, j, k steps in RAS
    if fov_ras is None:
        lo, hi = _body_bbox()
        lo, hi = lo - fov_margin_mm, hi + fov_margin_mm
    else:
        lo, hi = (np.asarray(v, float) for v in fov_ras)
        if np.any(hi < lo):
            raise ValueError("fov_ras must be (low corner, high corner) with low <= high")
    corners = np.array([[(lo, hi)[b][a] for a, b in enumerate(bits)] for bits in np.ndindex(2, 2, 2)])
    n = np.linalg.solve(m, corners.T).T  # continuous lattice indices of the corners
    n_lo = np.floor(n.min(axis=0) + 1e-9)
    n_hi = np.ceil(n.max(axis=0) - 1e-9)
    shape_ijk = (n_hi - n_lo + 1).astype(int)
    origin = m @ n_lo
    if offgrid:
        origin = origin + m @ np.asarray(OFFGRID_FRACTION)
    if grid_shift_mm is not None:
        origin = origin + np.asarray(grid_shift_mm, float)
    return VoxelGrid.from_spacing(tuple(shape_ijk[::-1]), spacing_mm, origin, d)


def _index_box(grid: VoxelGrid, lo_ras, hi_ras):
    """Inclusive-exclusive index ranges (k, j, i) of voxels whose centres may lie in the RAS box, or None."""
    corners = np.array([[(lo_ras, hi_ras)[b][a] for a, b in enumerate(bits)] for bits in np.ndindex(2, 2, 2)])
    ijk = grid.ras_to_continuous_ijk(corners)
    first = np.maximum(np.floor(ijk.min(axis=0) - 1e-6), 0).astype(int)
    last = np.minimum(np.ceil(ijk.max(axis=0) + 1e-6), np.asarray(grid.shape_ijk) - 1).astype(int)
    if np.any(last < first):
        return None
    return [(int(first[a]), int(last[a]) + 1) for a in (2, 1, 0)]  # (k, j, i)


def _block_coords(grid: VoxelGrid, ks, js, is_):
    """Broadcastable RAS coordinate arrays (x, y, z) of voxel centres in a block; 1-D where the grid allows."""
    a = grid.ijk_to_ras
    idx = (
        np.arange(*is_, dtype=float)[None, None, :],
        np.arange(*js, dtype=float)[None, :, None],
        np.arange(*ks, dtype=float)[:, None, None],
    )
    tol = 1e-9 * grid.spacing_mm.max()
    out = []
    for w in range(3):
        c = np.full((1, 1, 1), a[w, 3])
        for col in range(3):
            if abs(a[w, col]) > tol:
                c = c + a[w, col] * idx[col]
        out.append(c)
    return out


def _paint(suv: np.ndarray, labels: np.ndarray, grid: VoxelGrid, shape, value: float, label: int) -> None:
    lo, hi = shape.bbox_ras()
    box = _index_box(grid, lo, hi)
    if box is None:
        return
    (k0, k1), (j0, j1), (i0, i1) = box
    per_slice = (j1 - j0) * (i1 - i0)
    step = max(1, _CHUNK_VOXELS // max(per_slice, 1))
    v = np.float32(value)
    lab = np.uint8(label)
    for ka in range(k0, k1, step):
        kb = min(ka + step, k1)
        x, y, z = _block_coords(grid, (ka, kb), (j0, j1), (i0, i1))
        inside = shape.contains(x, y, z)
        if not np.any(inside):
            continue
        # copyto broadcasts a low-dimensional mask over the block without materialising it.
        np.copyto(suv[ka:kb, j0:j1, i0:i1], v, where=inside)
        np.copyto(labels[ka:kb, j0:j1, i0:i1], lab, where=inside)


def count_voxels_in_sphere(grid: VoxelGrid, center_ras, radius_mm: float) -> int:
    """Number of voxel centres of ``grid`` within ``radius_mm`` of a RAS point (image bounds respected)."""
    c = np.asarray(center_ras, float)
    box = _index_box(grid, c - radius_mm, c + radius_mm)
    if box is None:
        return 0
    x, y, z = _block_coords(grid, *box)
    d2 = (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2
    return int(np.count_nonzero(np.broadcast_to(d2 <= (radius_mm * (1 + _EPS)) ** 2, tuple(b - a for a, b in box))))


def _nonzero_box(labels: np.ndarray, margin_kji) -> tuple[slice, slice, slice]:
    """Slices of the bounding box of labelled voxels, grown by ``margin_kji`` voxels and clipped to the image."""
    out = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hit = np.flatnonzero(labels.any(axis=other))
        if hit.size == 0:
            return (slice(0, 0),) * 3
        a = max(int(hit[0]) - margin_kji[axis], 0)
        b = min(int(hit[-1]) + 1 + margin_kji[axis], labels.shape[axis])
        out.append(slice(a, b))
    return tuple(out)


_BLUR_TRUNCATE = 4.0  # kernel reach in sigmas


def _blur_sigma_kji(grid: VoxelGrid, fwhm_mm: float) -> np.ndarray:
    """Per-axis sigma in voxels: sigma_mm / spacing. Exact for any orthogonal grid, because an isotropic
    Gaussian is separable along any orthonormal axes."""
    return (fwhm_mm * FWHM_TO_SIGMA) / grid.spacing_mm[::-1]


def _blur(suv: np.ndarray, box, sigma_kji) -> None:
    """In-place isotropic Gaussian PSF inside ``box`` (which must hold all activity plus the kernel reach)."""
    block = suv[box]
    if block.size == 0:
        return
    # mode="reflect" keeps the total activity exactly (mass reaching an image border is folded back).
    suv[box] = ndimage.gaussian_filter(
        block, sigma=sigma_kji, mode="reflect", truncate=_BLUR_TRUNCATE, output=np.float32
    )


def _add_noise(suv: np.ndarray, box, noise: float, seed: int) -> None:
    """In-place multiplicative Gaussian noise inside ``box``, chunked along k so temporaries stay small."""
    rng = np.random.default_rng(seed)
    block = suv[box]  # a view: changed in place
    if block.size == 0:
        return
    per_slice = block.shape[1] * block.shape[2]
    step = max(1, _CHUNK_VOXELS // max(per_slice, 1))
    for ka in range(0, block.shape[0], step):
        sub = block[ka : ka + step]
        z = rng.standard_normal(sub.shape, dtype=np.float32)
        z *= np.float32(noise)
        z += np.float32(1.0)
        sub *= z


# --------------------------------------------------------------------------------------------------------------
# Public builders
# --------------------------------------------------------------------------------------------------------------
def make_phantom(options: PhantomOptions | None = None) -> Phantom:
    """Sample the Pentixafor reference phantom.

    Parameters
    ----------
    options : PhantomOptions or None
        Grid, blur, noise, radionuclide and extra lesions; None = defaults (4 mm isotropic, Ga-68, no blur, no
        noise).

    Returns
    -------
    Phantom
        SUV map (float32, [k, j, i]), label map (uint8), grid and truth.
    """
    opt = options or PhantomOptions()
    nuc = _radionuclide(opt.radionuclide)
    if opt.fwhm_mm < 0 or opt.noise < 0:
        raise ValueError("fwhm_mm and noise must be >= 0")
    grid = opt.grid or design_grid(
        opt.spacing_mm, opt.directions, opt.fov_ras, fov_margin_mm=opt.fov_margin_mm, offgrid=opt.offgrid,
        grid_shift_mm=opt.grid_shift_mm,
    )
    structures = _design(opt.extra_lesions)
    targets = [les.name for les in opt.extra_lesions if les.target]
    if len(targets) > 1:
        raise ValueError("at most one extra lesion can be the target")
    target = targets[0] if targets else TARGET_LESION

    suv = np.zeros(grid.shape_kji, dtype=np.float32)
    labels = np.zeros(grid.shape_kji, dtype=np.uint8)
    for label, st in enumerate(structures, start=1):
        for part in st.parts:
            _paint(suv, labels, grid, part, st.suv, label)

    counts = np.bincount(labels.ravel(), minlength=len(structures) + 1)
    records = tuple(
        StructureTruth(
            name=st.name, kind=st.kind, label=label, center_ras=tuple(float(v) for v in st.center_ras),
            size=_plain(st.size), suv=float(st.suv), voxel_count=int(counts[label]), group=st.group,
        )
        for label, st in enumerate(structures, start=1)
    )
    seeds = _seed_points(structures, target)
    expected = _expected(grid, records, seeds, target)
    truth = PhantomTruth(
        grid=grid, radionuclide=nuc.name, half_life_s=nuc.half_life_s, fwhm_mm=float(opt.fwhm_mm),
        noise=float(opt.noise), seed=int(opt.seed), structures=records, seeds_ras=seeds, target_lesion=target,
        expected=expected,
    )
    # Outside the body the map is 0 and stays 0 beyond the kernel reach (noise is multiplicative), so blur and
    # noise work on the body box plus that reach: the same result as on the whole image, much faster on big grids.
    reach = [0, 0, 0]
    if opt.fwhm_mm > 0:
        sigma_kji = _blur_sigma_kji(grid, opt.fwhm_mm)
        reach = [int(math.ceil(_BLUR_TRUNCATE * s)) + 1 for s in sigma_kji]
    box = _nonzero_box(labels, reach)
    if opt.fwhm_mm > 0:
        _blur(suv, box, sigma_kji)
    if opt.noise > 0:
        _add_noise(suv, box, opt.noise, opt.seed)
    return Phantom(suv=suv, labels=labels, label_names=truth.label_names, grid=grid, truth=truth, options=opt)


def _expected(grid: VoxelGrid, records, seeds, target: str) -> dict:
    """Protocol answers for the noise-free, unblurred design (spheres fully inside uniform structures)."""
    by = {r.name: r for r in records}
    radius = PROTOCOL_SPHERE_DIAMETER_MM / 2.0
    tl = by[target]
    blood = by["aorta"].suv
    marrow = {
        site: {
            "suv_max": by[site].suv,
            "suv_mean": by[site].suv,
            "voxels": count_voxels_in_sphere(grid, seeds[site], radius),
        }
        for site in ("C7", "T12", "L5", "right_ilium", "left_ilium")
    }
    r_mm = tl.size["radius_mm"]
    return {
        "lesion": {
            "name": target,
            "suv_max": tl.suv,
            "suv_mean": tl.suv,
            # The 40 % isocontour of a uniform sphere in a background below 40 % is the voxelised sphere.
            "voxels": tl.voxel_count,
            "volume_ml": tl.voxel_count * grid.voxel_volume_ml,
            "design_volume_ml": 4.0 / 3.0 * math.pi * r_mm**3 / 1000.0,
        },
        "blood_pool": {"suv_mean": blood, "voxels": count_voxels_in_sphere(grid, seeds["aorta"], radius)},
        "marrow": marrow,
        "tbr": tl.suv / blood,
        "mean_suv_max": float(np.mean([m["suv_max"] for m in marrow.values()])),
        "sphere_diameter_mm": PROTOCOL_SPHERE_DIAMETER_MM,
    }


def add_sphere_lesion(
    options: PhantomOptions | None, center_ras, diameter_mm: float, suv: float, name: str | None = None,
    *, target: bool = False,
) -> PhantomOptions:
    """Options with one more spherical lesion (painted over everything else).

    Parameters
    ----------
    options : PhantomOptions or None
        Base options (None = defaults).
    center_ras : sequence of float
        Lesion centre in RAS mm.
    diameter_mm, suv : float
        Diameter (mm) and design SUV.
    name : str or None
        Structure name; default ``extra_lesion_<n>``.
    target : bool
        Make it the target lesion of the truth.

    Returns
    -------
    PhantomOptions
    """
    base = options or PhantomOptions()
    name = name or f"extra_lesion_{len(base.extra_lesions) + 1}"
    les = SphereLesion(name, tuple(float(v) for v in center_ras), float(diameter_mm), float(suv), target)
    return replace(base, extra_lesions=(*base.extra_lesions, les))


def bladder_adjacent_lesion(diameter_mm: float = 20.0, suv: float = 10.0, overlap_mm: float = 2.0) -> SphereLesion:
    """A lesion sitting on the bladder dome: its voxels touch bladder voxels (6-connected) on every grid.

    The centre lies on the bladder's vertical axis, ``overlap_mm`` closer than tangency, so the column of voxels
    through both centres is bladder-then-lesion without a gap; lesions are painted over the bladder, so the
    lesion stays a whole sphere. With the defaults the centre is (0, 44, -252) RAS, a multiple of 4 mm.
    """
    (cr, ca, cs), (_, _, semi_s) = _BLADDER
    s = cs + semi_s + diameter_mm / 2.0 - overlap_mm
    return SphereLesion("lesion_bladder_adjacent", (cr, ca, s), float(diameter_mm), float(suv))


def border_lesion_options(
    options: PhantomOptions | None = None, diameter_mm: float = 17.0, suv: float = 10.0
) -> PhantomOptions:
    """Options whose image border cuts a lesion through its centre.

    A lesion at (-148, 0, 60) RAS (left lateral chest wall, in soft tissue) is added and the field of view starts
    at R = -148 mm, so the first voxel plane (i = 0 on axial grids) passes through the lesion centre and half of
    the lesion lies outside the image.
    """
    base = options or PhantomOptions()
    center = (-148.0, 0.0, 60.0)
    lo, hi = _body_bbox()
    lo, hi = lo - base.fov_margin_mm, hi + base.fov_margin_mm
    if base.fov_ras is not None:
        lo, hi = (np.asarray(v, float) for v in base.fov_ras)
    lo = np.array(lo, float)
    lo[0] = center[0]
    out = add_sphere_lesion(base, center, diameter_mm, suv, "lesion_at_border")
    return replace(out, fov_ras=(tuple(lo), tuple(np.asarray(hi, float))))


def make_whole_body_grid_phantom(
    shape_kji=(600, 440, 440),
    spacing_mm=(1.6, 1.6, 2.0),
    *,
    fwhm_mm: float = 6.0,
    noise: float = 0.0,
    seed: int = 0,
    radionuclide: str = "Ga-68",
) -> Phantom:
    """The phantom on a clinical whole-body grid, for benchmarks.

    The default is 440 x 440 pixels of 1.6 mm (704 mm transaxial FOV) and 600 slices of 2 mm (1200 mm axial),
    centred on the body; slices beyond the trunk are empty (SUV 0).

    Parameters
    ----------
    shape_kji : tuple of int
        Array shape (slices, rows, columns).
    spacing_mm : tuple of float
        Spacing along i, j, k in mm.
    fwhm_mm, noise, seed, radionuclide
        As in :class:`PhantomOptions`.

    Returns
    -------
    Phantom
    """
    lo, hi = _body_bbox()
    center = (lo + hi) / 2.0
    spacing = np.asarray(spacing_mm, float)
    size_ijk = np.asarray(shape_kji[::-1], float)
    # Snap the origin to the spacing lattice so RAS 0 stays a voxel centre when the spacing allows it.
    origin = np.round((center - (size_ijk - 1) / 2.0 * spacing) / spacing) * spacing
    grid = VoxelGrid.from_spacing(tuple(shape_kji), tuple(spacing), origin)
    return make_phantom(
        PhantomOptions(radionuclide=radionuclide, spacing_mm=tuple(spacing), grid=grid, fwhm_mm=fwhm_mm,
                       noise=noise, seed=seed)
    )


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------
def _grid_to_dict(grid: VoxelGrid) -> dict:
    return {
        "ijk_to_ras": np.asarray(grid.ijk_to_ras, float).tolist(),
        "shape_kji": [int(v) for v in grid.shape_kji],
        "spacing_mm": [float(v) for v in grid.spacing_mm],
    }


def _plain(obj):
    """Recursively turn numpy scalars/arrays and tuples into JSON-able Python objects."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, VoxelGrid):
        return _grid_to_dict(obj)
    return obj

