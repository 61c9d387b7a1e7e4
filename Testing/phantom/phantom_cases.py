"""Phantom cases shared by the phantom tests: the grids every design property is checked on, and brute-force
references that do not use the phantom code."""

from __future__ import annotations

import numpy as np

from PentixaforQuantLib.geometry import VoxelGrid
from PentixaforQuantLib.phantom import PhantomOptions, PhantomTruth

MARROW = ("C7", "T12", "L5", "right_ilium", "left_ilium")

# An oblique, orthonormal direction matrix (columns = i, j, k axes in RAS): rotations of 20, -15 and 30 degrees.
_a, _b, _c = np.radians([20.0, -15.0, 30.0])
_RX = np.array([[1, 0, 0], [0, np.cos(_a), -np.sin(_a)], [0, np.sin(_a), np.cos(_a)]])

_RY = np.array([[np.cos(_b), 0, np.sin(_b)], [0, 1, 0], [-np.sin(_b), 0, np.cos(_b)]])

_RZ = np.array([[np.cos(_c), -np.sin(_c), 0], [np.sin(_c), np.cos(_c), 0], [0, 0, 1]])

OBLIQUE = _RZ @ _RY @ _RX


GRIDS = {
    "4mm": PhantomOptions(),
    "2mm": PhantomOptions(spacing_mm=(2.0, 2.0, 2.0)),
    "aniso": PhantomOptions(spacing_mm=(4.07, 4.07, 3.0)),
    "offgrid": PhantomOptions(offgrid=True),
    "oblique": PhantomOptions(directions=OBLIQUE),
}



def seed_structure(truth: PhantomTruth, site: str) -> str:
    return truth.target_lesion if site == "lesion" else site



def sphere_mask(grid: VoxelGrid, center_ras, radius_mm: float) -> np.ndarray:
    """Voxels of ``grid`` whose centres lie within ``radius_mm`` of a RAS point (brute force over a generous box)."""
    centre = grid.ras_to_continuous_ijk(center_ras)
    reach = int(np.ceil(radius_mm / grid.spacing_mm.min())) + 2
    lo = np.clip(np.floor(centre).astype(int) - reach, 0, None)
    hi = np.minimum(np.floor(centre).astype(int) + reach + 1, grid.shape_ijk)
    i, j, k = np.meshgrid(*(np.arange(a, b) for a, b in zip(lo, hi)), indexing="ij")
    ijk = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1)
    inside = ijk[np.linalg.norm(grid.ijk_to_ras_points(ijk) - np.asarray(center_ras), axis=1) <= radius_mm * (1 + 1e-9)]
    mask = np.zeros(grid.shape_kji, bool)
    mask[inside[:, 2], inside[:, 1], inside[:, 0]] = True
    return mask

