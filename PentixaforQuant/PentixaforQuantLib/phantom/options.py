"""How to build the phantom: grid, blur, noise, radionuclide and extra lesions (:class:`PhantomOptions`), and
builders of options for the special cases the tests need (an extra lesion, a lesion cut by the image border)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from ..geometry import VoxelGrid
from .design import SphereLesion, body_bbox
from .truth import grid_to_dict, plain

__all__ = ["PhantomOptions", "add_sphere_lesion", "border_lesion_options"]


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
        Shift the grid by :data:`.sampling.OFFGRID_FRACTION` of a voxel along i, j, k, so that no seed or lesion
        centre is a voxel centre.
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
        Lesions painted after (over) everything else, e.g. :func:`.design.bladder_adjacent_lesion`.
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
            "grid": None if self.grid is None else grid_to_dict(self.grid),
            "fwhm_mm": float(self.fwhm_mm),
            "noise": float(self.noise),
            "seed": int(self.seed),
            "extra_lesions": [plain(asdict(les)) for les in self.extra_lesions],
        }
        return d


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
    lo, hi = body_bbox()
    lo, hi = lo - base.fov_margin_mm, hi + base.fov_margin_mm
    if base.fov_ras is not None:
        lo, hi = (np.asarray(v, float) for v in base.fov_ras)
    lo = np.array(lo, float)
    lo[0] = center[0]
    out = add_sphere_lesion(base, center, diameter_mm, suv, "lesion_at_border")
    return replace(out, fov_ras=(tuple(lo), tuple(np.asarray(hi, float))))
