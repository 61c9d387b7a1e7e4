"""Sampling the design on a voxel grid: the grid around the body, and which voxel centres a shape holds.

* **Point sampling.** A voxel takes the design value at its centre, so a sphere VOI is exactly "the voxels whose
  centres lie within the radius" and the label map is the voxelised design.
* **On-grid design.** :func:`design_grid` places a voxel centre at RAS (0, 0, 0), so on isotropic 1, 2 and 4 mm
  grids every seed and lesion centre of :mod:`.design` is a voxel centre; ``offgrid=True`` shifts the grid by
  :data:`OFFGRID_FRACTION` of a voxel to break this.
* **Speed.** Every shape is evaluated only inside its bounding box, and on axis-aligned grids the coordinate
  arrays stay one-dimensional (numpy broadcasting); oblique grids are evaluated in chunks of
  :data:`CHUNK_VOXELS` voxels.
"""

from __future__ import annotations

import numpy as np

from ..geometry import VoxelGrid
from .design import body_bbox
from .shapes import INCLUSION_TOLERANCE

__all__ = [
    "OFFGRID_FRACTION",
    "CHUNK_VOXELS",
    "design_grid",
    "index_box",
    "block_coords",
    "paint",
    "count_voxels_in_sphere",
]

#: Grid shift, as a fraction of a voxel along i, j, k, used by ``offgrid=True`` (irrational-looking on purpose).
OFFGRID_FRACTION = (0.37, 0.29, 0.41)
#: Voxels per chunk when evaluating a structure on an oblique grid (coordinates are then full 3-D arrays).
CHUNK_VOXELS = 1 << 22


def _box_corners(lo, hi) -> np.ndarray:
    """The eight corners (8, 3) of the axis-aligned box from ``lo`` to ``hi``."""
    return np.array([[(lo, hi)[b][a] for a, b in enumerate(bits)] for bits in np.ndindex(2, 2, 2)])


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
        lo, hi = body_bbox()
        lo, hi = lo - fov_margin_mm, hi + fov_margin_mm
    else:
        lo, hi = (np.asarray(v, float) for v in fov_ras)
        if np.any(hi < lo):
            raise ValueError("fov_ras must be (low corner, high corner) with low <= high")
    corners = _box_corners(lo, hi)
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


def index_box(grid: VoxelGrid, lo_ras, hi_ras):
    """Inclusive-exclusive index ranges (k, j, i) of voxels whose centres may lie in the RAS box, or None."""
    corners = _box_corners(lo_ras, hi_ras)
    ijk = grid.ras_to_continuous_ijk(corners)
    first = np.maximum(np.floor(ijk.min(axis=0) - 1e-6), 0).astype(int)
    last = np.minimum(np.ceil(ijk.max(axis=0) + 1e-6), np.asarray(grid.shape_ijk) - 1).astype(int)
    if np.any(last < first):
        return None
    return [(int(first[a]), int(last[a]) + 1) for a in (2, 1, 0)]  # (k, j, i)


def block_coords(grid: VoxelGrid, ks, js, is_):
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


def paint(suv: np.ndarray, labels: np.ndarray, grid: VoxelGrid, shape, value: float, label: int) -> None:
    """Set ``suv`` to ``value`` and ``labels`` to ``label`` at every voxel whose centre lies in ``shape``."""
    lo, hi = shape.bbox_ras()
    box = index_box(grid, lo, hi)
    if box is None:
        return
    (k0, k1), (j0, j1), (i0, i1) = box
    per_slice = (j1 - j0) * (i1 - i0)
    step = max(1, CHUNK_VOXELS // max(per_slice, 1))
    v = np.float32(value)
    lab = np.uint8(label)
    for ka in range(k0, k1, step):
        kb = min(ka + step, k1)
        x, y, z = block_coords(grid, (ka, kb), (j0, j1), (i0, i1))
        inside = shape.contains(x, y, z)
        if not np.any(inside):
            continue
        # copyto broadcasts a low-dimensional mask over the block without materialising it.
        np.copyto(suv[ka:kb, j0:j1, i0:i1], v, where=inside)
        np.copyto(labels[ka:kb, j0:j1, i0:i1], lab, where=inside)


def count_voxels_in_sphere(grid: VoxelGrid, center_ras, radius_mm: float) -> int:
    """Number of voxel centres of ``grid`` within ``radius_mm`` of a RAS point (image bounds respected)."""
    c = np.asarray(center_ras, float)
    box = index_box(grid, c - radius_mm, c + radius_mm)
    if box is None:
        return 0
    x, y, z = block_coords(grid, *box)
    d2 = (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2
    inside = d2 <= (radius_mm * (1 + INCLUSION_TOLERANCE)) ** 2
    return int(np.count_nonzero(np.broadcast_to(inside, tuple(b - a for a, b in box))))
