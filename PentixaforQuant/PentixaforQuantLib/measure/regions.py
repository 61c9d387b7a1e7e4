"""Regions of an image: boolean masks over boxes, and the geometric VOIs (spheres, oriented boxes).

A region is a :class:`RegionMask`: a boolean mask over a box of the image, never a mask of the whole volume, so that
work on a whole-body scan (440 x 440 x 600 voxels) only ever touches the voxels near the region.

Conventions (see :mod:`..geometry`): arrays are indexed ``[k, j, i]``; positions are RAS in mm; a voxel belongs to
a geometric VOI (sphere, box) when its **centre** lies inside it (the IBSI convention). Distances are physical,
so anisotropic and oblique grids are handled exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MeasurementError
from ..geometry import VoxelGrid

__all__ = ["RegionMask", "sphere_region", "box_region", "image_extent_ras"]

# Relative tolerance of "centre within radius" tests; the same as VoxelGrid.ball_offsets_kji so that a sphere
# centred on a voxel centre holds exactly the ball offsets.
_RADIUS_RTOL = 1e-9


def _as_box(box) -> tuple[slice, slice, slice]:
    if len(box) != 3:
        raise ValueError("box must hold three slices (k, j, i)")
    out = []
    for s in box:
        if not isinstance(s, slice) or s.start is None or s.stop is None or s.step not in (None, 1):
            raise ValueError("box slices need concrete start and stop and unit step")
        if s.start < 0 or s.stop < s.start:
            raise ValueError(f"invalid box slice {s}")
        out.append(slice(int(s.start), int(s.stop)))
    return tuple(out)


@dataclass(frozen=True, eq=False)  # identity comparison: element-wise equality of masks is not a bool
class RegionMask:
    """A VOI as a boolean mask over a box of the image.

    Parameters
    ----------
    box : tuple of three slices
        ``(k, j, i)`` slices into the image array, with concrete, non-negative ``start`` and ``stop``.
    mask : bool array
        Shape of the box; True for voxels in the VOI.

    Notes
    -----
    Voxels are listed in C order of ``(k, j, i)``, which is the order of the flat index of the full image, so
    "first voxel" means "lowest flat index" everywhere in this package.
    """

    box: tuple[slice, slice, slice]
    mask: np.ndarray

    def __post_init__(self) -> None:
        box = _as_box(self.box)
        mask = np.array(self.mask, dtype=bool)  # a private, read-only copy: the region cannot change later
        shape = tuple(s.stop - s.start for s in box)
        if mask.shape != shape:
            raise ValueError(f"mask shape {mask.shape} does not match box shape {shape}")
        mask.setflags(write=False)
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "mask", mask)

    # -- construction ----------------------------------------------------------------------------------------
    @classmethod
    def from_full_mask(cls, full_mask: np.ndarray) -> RegionMask:
        """Region from a boolean mask of the whole image, cropped to the bounding box of its voxels."""
        full_mask = np.asarray(full_mask, dtype=bool)
        if full_mask.ndim != 3:
            raise ValueError("full_mask must be 3-D (k, j, i)")
        whole = tuple(slice(0, n) for n in full_mask.shape)
        return _cropped(whole, full_mask)

    # -- queries ---------------------------------------------------------------------------------------------
    @property
    def voxel_count(self) -> int:
        """Number of voxels in the region."""
        return int(np.count_nonzero(self.mask))

    @property
    def offset_kji(self) -> np.ndarray:
        """Index ``(k, j, i)`` of the box's first corner."""
        return np.array([s.start for s in self.box], dtype=np.int64)

    @property
    def shape_kji(self) -> tuple[int, int, int]:
        """Shape of the box."""
        return tuple(int(n) for n in self.mask.shape)

    def values(self, image: np.ndarray) -> np.ndarray:
        """The image values of the region's voxels (1-D, C order of (k, j, i))."""
        return np.asarray(image)[self.box][self.mask]

    def indices_kji(self) -> np.ndarray:
        """Array indices ``(k, j, i)`` of the region's voxels, shape (n, 3), C order."""
        return np.argwhere(self.mask) + self.offset_kji

    def full_mask(self, shape_kji) -> np.ndarray:
        """Boolean mask of the whole image (for tests and exports; allocates the full volume)."""
        shape_kji = tuple(int(n) for n in shape_kji)
        if any(s.stop > n for s, n in zip(self.box, shape_kji)):
            raise ValueError(f"region box {self.box} exceeds image shape {shape_kji}")
        out = np.zeros(shape_kji, dtype=bool)
        out[self.box] = self.mask
        return out

    def mask_in(self, box) -> np.ndarray:
        """This region's mask resampled onto another box of the same image (False outside this region's box)."""
        box = _as_box(box)
        out = np.zeros(tuple(s.stop - s.start for s in box), dtype=bool)
        src, dst = [], []
        for a, b in zip(self.box, box):
            lo, hi = max(a.start, b.start), min(a.stop, b.stop)
            if hi <= lo:
                return out
            src.append(slice(lo - a.start, hi - a.start))
            dst.append(slice(lo - b.start, hi - b.start))
        out[tuple(dst)] = self.mask[tuple(src)]
        return out

    def intersection(self, other: RegionMask) -> RegionMask | None:
        """Voxels in both regions, or None if they share no voxel."""
        box = []
        for a, b in zip(self.box, other.box):
            lo, hi = max(a.start, b.start), min(a.stop, b.stop)
            if hi <= lo:
                return None
            box.append(slice(lo, hi))
        box = tuple(box)
        both = self.mask_in(box) & other.mask_in(box)
        if not both.any():
            return None
        return _cropped(box, both)

    def contains_kji(self, kji) -> bool:
        """Whether voxel ``(k, j, i)`` belongs to the region."""
        local = [int(v) - s.start for v, s in zip(kji, self.box)]
        if any(v < 0 or v >= s.stop - s.start for v, s in zip(local, self.box)):
            return False
        return bool(self.mask[tuple(local)])


def _cropped(box, mask: np.ndarray) -> RegionMask:
    """Region of ``mask`` (over ``box``) shrunk to the bounding box of its True voxels (kept as is if empty)."""
    if not mask.any():
        return RegionMask(box, mask)
    new_box, sel = [], []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        used = np.flatnonzero(mask.any(axis=other))
        lo, hi = int(used[0]), int(used[-1]) + 1
        new_box.append(slice(box[axis].start + lo, box[axis].start + hi))
        sel.append(slice(lo, hi))
    return RegionMask(tuple(new_box), mask[tuple(sel)])


def _ball_kernel(grid: VoxelGrid, radius_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean kernel of the ball (voxel centres within radius of the centre voxel) and its half-size (k, j, i)."""
    off = grid.ball_offsets_kji(radius_mm)
    half = np.abs(off).max(axis=0)
    kernel = np.zeros(tuple(2 * half + 1), dtype=bool)
    kernel[tuple((off + half).T)] = True
    return kernel, half


def _check_image(image: np.ndarray, grid: VoxelGrid) -> np.ndarray:
    """The image as an array, refused (ValueError) unless it has the grid's shape."""
    image = np.asarray(image)
    if image.shape != grid.shape_kji:
        raise ValueError(f"image shape {image.shape} does not match the grid {grid.shape_kji}")
    return image


def _fmt_ras(p) -> str:
    p = np.asarray(p, float)
    return f"({p[0]:.1f}, {p[1]:.1f}, {p[2]:.1f})"


def image_extent_ras(grid: VoxelGrid) -> tuple[np.ndarray, np.ndarray]:
    """RAS bounding box (min, max corners, mm) of the image, voxel edges included."""
    hi = np.asarray(grid.shape_ijk, float) - 0.5
    corners = np.array([[x, y, z] for x in (-0.5, hi[0]) for y in (-0.5, hi[1]) for z in (-0.5, hi[2])])
    ras = grid.ijk_to_ras_points(corners)
    return ras.min(axis=0), ras.max(axis=0)


def _fmt_extent(grid: VoxelGrid) -> str:
    lo, hi = image_extent_ras(grid)
    return ", ".join(f"{n} {a:.1f} to {b:.1f}" for n, a, b in zip("RAS", lo, hi))


def _outside_message(grid: VoxelGrid, point_ras, what: str) -> str:
    return f"{what} at RAS {_fmt_ras(point_ras)} lies outside the image (extent {_fmt_extent(grid)} mm)"


def _point(point_ras, what: str) -> np.ndarray:
    p = np.asarray(point_ras, dtype=float).reshape(-1)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise MeasurementError(f"{what} must be three finite RAS coordinates, got {point_ras!r}")
    return p


def _index_box(grid: VoxelGrid, lo_ijk, hi_ijk) -> tuple[slice, slice, slice] | None:
    """Array box (k, j, i) of the voxel centres with continuous index in [lo_ijk, hi_ijk], clipped to the image."""
    eps = 1e-7  # centres exactly on the limit are inside
    lo = np.maximum(np.ceil(np.asarray(lo_ijk) - eps), 0).astype(int)
    hi = np.minimum(np.floor(np.asarray(hi_ijk) + eps), np.asarray(grid.shape_ijk) - 1).astype(int)
    if np.any(hi < lo):
        return None
    return tuple(slice(int(lo[a]), int(hi[a]) + 1) for a in (2, 1, 0))


def _box_offsets_ras(grid: VoxelGrid, box, origin_ras) -> np.ndarray:
    """RAS vectors from ``origin_ras`` to every voxel centre of ``box``, shape box + (3,)."""
    a = grid.ijk_to_ras[:3, :3]
    origin_ijk = grid.ras_to_continuous_ijk(origin_ras)
    k = np.arange(box[0].start, box[0].stop) - origin_ijk[2]
    j = np.arange(box[1].start, box[1].stop) - origin_ijk[1]
    i = np.arange(box[2].start, box[2].stop) - origin_ijk[0]
    return (
        i[None, None, :, None] * a[:, 0]
        + j[None, :, None, None] * a[:, 1]
        + k[:, None, None, None] * a[:, 2]
    )


def sphere_region(grid: VoxelGrid, center_ras, radius_mm: float) -> RegionMask:
    """Voxels whose centres lie within ``radius_mm`` of a RAS point, clipped to the image.

    Parameters
    ----------
    grid : VoxelGrid
        Image geometry.
    center_ras : (3,) array_like
        Sphere centre in RAS (mm); any continuous position inside the image.
    radius_mm : float
        Sphere radius in mm (a centre exactly on the surface counts as inside).

    Returns
    -------
    RegionMask
        Cropped to the bounding box of its voxels.

    Raises
    ------
    MeasurementError
        The centre lies outside the image, or the sphere holds no voxel centre.

    Notes
    -----
    Centre-in voxel inclusion as in the IBSI reference manual (intensity peak); distances are physical
    (spacing and direction cosines), so the result is exact on anisotropic and oblique grids.
    """
    c = _point(center_ras, "sphere centre")
    if not (np.isfinite(radius_mm) and radius_mm > 0):
        raise MeasurementError(f"sphere radius must be a positive number of mm, not {radius_mm!r}")
    c_ijk = grid.ras_to_continuous_ijk(c)
    if not grid.contains_ijk(c_ijk):
        raise MeasurementError(_outside_message(grid, c, "sphere centre"))
    half = grid.index_radius_ijk(radius_mm)
    box = _index_box(grid, c_ijk - half, c_ijk + half)
    if box is not None:
        d = _box_offsets_ras(grid, box, c)
        mask = np.einsum("kjix,kjix->kji", d, d) <= (radius_mm * (1 + _RADIUS_RTOL)) ** 2
        if mask.any():
            return _cropped(box, mask)
    raise MeasurementError(
        f"the {radius_mm:g} mm sphere at RAS {_fmt_ras(c)} holds no voxel centre (voxel spacing "
        f"{', '.join(f'{s:g}' for s in grid.spacing_mm)} mm)"
    )


def box_region(grid: VoxelGrid, center_ras, half_sizes_mm, axes_ras=None) -> RegionMask:
    """Voxels whose centres lie inside an oriented box (a bounding ROI), clipped to the image.

    Parameters
    ----------
    grid : VoxelGrid
        Image geometry.
    center_ras : (3,) array_like
        Box centre in RAS (mm).
    half_sizes_mm : (3,) array_like
        Half of the box's side lengths along its three axes (mm). A Slicer ROI's ``Size`` is twice this.
    axes_ras : (3, 3) array_like, optional
        Columns are the box axes in RAS (normalised here), e.g. the rotation part of a Slicer ROI's
        object-to-world matrix. Identity (box aligned with R, A, S) if omitted.

    Returns
    -------
    RegionMask
        Exact for rotated boxes on any grid: a voxel is in when ``|u_m . (p - c)| <= h_m`` for all three axes.

    Raises
    ------
    MeasurementError
        The box holds no voxel centre of the image.
    """
    c = _point(center_ras, "box centre")
    h = np.asarray(half_sizes_mm, dtype=float).reshape(-1)
    if h.shape != (3,) or not np.all(np.isfinite(h)) or np.any(h < 0):
        raise MeasurementError(f"box half sizes must be three non-negative numbers of mm, not {half_sizes_mm!r}")
    u = np.eye(3) if axes_ras is None else np.asarray(axes_ras, dtype=float)
    norms = np.linalg.norm(u, axis=0) if u.shape == (3, 3) else None
    if norms is None or not np.all(np.isfinite(u)) or np.any(norms < 1e-12) or abs(np.linalg.det(u)) < 1e-12:
        raise MeasurementError("box axes must be a non-singular 3x3 matrix whose columns are the box axes in RAS")
    u = u / norms
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float) * h
    corners_ijk = grid.ras_to_continuous_ijk(c + corners @ u.T)
    box = _index_box(grid, corners_ijk.min(axis=0), corners_ijk.max(axis=0))
    if box is not None:
        d = _box_offsets_ras(grid, box, c)
        proj = np.abs(d @ u)  # coordinates along the box axes
        mask = np.all(proj <= h * (1 + _RADIUS_RTOL) + 1e-9, axis=-1)
        if mask.any():
            return _cropped(box, mask)
    raise MeasurementError(
        f"the bounding box at RAS {_fmt_ras(c)} (half sizes {', '.join(f'{v:g}' for v in h)} mm) holds no voxel "
        f"centre of the image (extent {_fmt_extent(grid)} mm)"
    )
