"""Volumes of interest (VOIs) on a PET image: spheres, bounding boxes and the target-lesion isocontour.

A VOI is a :class:`RegionMask`: a boolean mask over a box of the image, never a mask of the whole volume, so that
a click on a whole-body scan (440 x 440 x 600 voxels) only ever touches the voxels near the lesion.

Conventions (see :mod:`.geometry`): arrays are indexed ``[k, j, i]``; positions are RAS in mm; a voxel belongs to
a geometric VOI (sphere, box) when its **centre** lies inside it (the IBSI convention). Distances are physical,
so anisotropic and oblique grids are handled exactly.

The target-lesion VOI follows SPEC §2 (Buck et al., J Nucl Med 2022: 40 % isocontour on the target lesion;
isocontour variants and A50 after Boellaard et al., EJNMMI 2010;37:181 and 2015;42:328).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import ndimage

from ..errors import MeasurementError
from ..geometry import VoxelGrid

__all__ = [
    "RegionMask",
    "sphere_region",
    "box_region",
    "IsocontourParameters",
    "IsocontourVOI",
    "find_peak",
    "grow_isocontour",
    "image_extent_ras",
]

# Relative tolerance of "centre within radius" tests; the same as VoxelGrid.ball_offsets_kji so that a sphere
# centred on a voxel centre holds exactly the ball offsets.
_RADIUS_RTOL = 1e-9

# Half-size of the first growth box around the peak. Large enough for most lesions in one pass; boxes double on
# every side the VOI touches.
_INITIAL_BOX_HALF_MM = 20.0

_METHODS = ("fixed", "a50")
_CONNECTIVITY_RANK = {6: 1, 18: 2, 26: 3}


# ----------------------------------------------------------------------------------------------------------------
# Region representation
# ----------------------------------------------------------------------------------------------------------------


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


def _fmt_ras(p) -> str:
    p = np.asarray(p, float)
    return f"({p[0]:.1f}, {p[1]:.1f}, {p[2]:.1f})"


def image_extent_ras(grid: VoxelGrid) -> tuple[np.ndarray, np.ndarray]:
    """RAS bounding box (min, max corners, mm) of the image, voxel edges included."""
    hi = np.asarray(grid.shape_ijk, float) - 0.5
    corners = np.array([[x, y, z] for x in (-0.5, hi[0]) for y in (-0.5, hi[1]) for z in (-0.5, hi[2])])
    ras = grid.ijk_to_ras_points(corners)
    return ras.min(axis=0), ras.max(axis=0)


def _outside_message(grid: VoxelGrid, point_ras, what: str) -> str:
    lo, hi = image_extent_ras(grid)
    extent = ", ".join(f"{n} {a:.1f} to {b:.1f}" for n, a, b in zip("RAS", lo, hi))
    return f"{what} at RAS {_fmt_ras(point_ras)} lies outside the image (extent {extent} mm)"


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
    # Index half-extent of the sphere: max of row_a . d over |d| <= r is r * |row_a| of the RAS->IJK matrix.
    half = radius_mm * np.linalg.norm(grid.ras_to_ijk[:3, :3], axis=1)
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
    lo, hi = image_extent_ras(grid)
    raise MeasurementError(
        f"the bounding box at RAS {_fmt_ras(c)} (half sizes {', '.join(f'{v:g}' for v in h)} mm) holds no voxel "
        f"centre of the image (extent {', '.join(f'{n} {a:.1f} to {b:.1f}' for n, a, b in zip('RAS', lo, hi))} mm)"
    )


# ----------------------------------------------------------------------------------------------------------------
# Target-lesion isocontour
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IsocontourParameters:
    """Every choice that changes the target-lesion VOI (recorded with each result).

    Attributes
    ----------
    threshold_fraction : float
        f in (0, 1]. 0.40 (this project, Buck et al. 2022), 0.41 (EANM 2010 "A41"), 0.50 ("A50" with ``a50``).
    method : {"fixed", "a50"}
        ``fixed``: threshold t = f * SUVmax, no background correction. ``a50``: background-adjusted
        t = BG + f * (SUVmax - BG) (EANM/EARL A50 with f = 0.5, i.e. t = (SUVmax + BG) / 2).
    connectivity : {6, 18, 26}
        Voxel neighbourhood of the connected component (faces; faces+edges; faces+edges+corners).
    search_radius_mm : float
        The peak voxel is the SUV maximum among voxels whose centres lie within this distance of the click.
    max_volume_ml : float
        Size limit: a VOI larger than this is flagged as leaked (and its growth stops there).
    leak_ratio : float
        The VOI is flagged as leaked when the regrowth moved the peak outside the search sphere to a voxel more
        than ``leak_ratio`` times hotter than the peak found at the click (it reached another structure).
    min_peak_suv : float
        If the highest SUV within the search sphere is below this there is no uptake to segment (click in air or
        outside the body) and the VOI is refused. 0.5 is well below any lesion and above air/scatter.
    background_suv : float or None
        ``a50`` only (ignored by ``fixed``): the background SUV. None = measured (see ``background_gap_mm``).
    background_gap_mm, background_width_mm : float
        ``a50`` with measured background: BG = median SUV of the voxels whose centres lie more than
        ``background_gap_mm`` and at most ``background_gap_mm + background_width_mm`` from the nearest voxel of
        the fixed-threshold VOI (t = f * SUVmax) grown from the same peak (a shell around the lesion, outside
        its blurred edge). The shell is clipped to the image but not to the bounding ROI.
    """

    threshold_fraction: float = 0.40
    method: str = "fixed"
    connectivity: int = 6
    search_radius_mm: float = 10.0
    max_volume_ml: float = 1000.0
    leak_ratio: float = 2.0
    min_peak_suv: float = 0.5
    background_suv: float | None = None
    background_gap_mm: float = 5.0
    background_width_mm: float = 10.0

    def __post_init__(self) -> None:
        def bad(name, why):
            raise MeasurementError(f"isocontour parameter {name} = {getattr(self, name)!r}: {why}")

        if not (0 < self.threshold_fraction <= 1):
            bad("threshold_fraction", "must be in (0, 1], e.g. 0.40")
        if self.method not in _METHODS:
            bad("method", "must be 'fixed' or 'a50'")
        if self.connectivity not in _CONNECTIVITY_RANK:
            bad("connectivity", "must be 6, 18 or 26")
        for name in ("search_radius_mm", "max_volume_ml", "background_width_mm"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                bad(name, "must be a positive number")
        if not (np.isfinite(self.background_gap_mm) and self.background_gap_mm >= 0):
            bad("background_gap_mm", "must be zero or positive")
        if not (np.isfinite(self.leak_ratio) and self.leak_ratio >= 1):
            bad("leak_ratio", "must be at least 1")
        if not np.isfinite(self.min_peak_suv):
            bad("min_peak_suv", "must be a finite number")
        if self.background_suv is not None and not np.isfinite(self.background_suv):
            bad("background_suv", "must be a finite number or None")

    def to_dict(self) -> dict:
        """The parameters as a plain dict (``IsocontourParameters(**d)`` rebuilds them)."""
        return asdict(self)


@dataclass
class IsocontourVOI:
    """A grown target-lesion VOI.

    Attributes
    ----------
    region : RegionMask
        The VOI, cropped to its bounding box.
    peak_kji : tuple of int
        The final peak voxel (SUVmax of the VOI; ties: lowest flat index).
    suv_max : float
        SUV of the peak voxel.
    threshold_suv : float
        The threshold t used for the final VOI (voxels with SUV >= t).
    background_suv : float or None
        ``a50``: the background used (given or measured); None for ``fixed``.
    iterations : int
        Number of connected-component growths: 1, plus one per peak move (A50 with measured background also
        counts the growths of its reference VOI).
    warnings : list of str
        Human-readable reasons to check the VOI (leak, border, ROI cut).
    touches_border : bool
        The VOI reaches the outermost voxel layer of the image (the lesion may continue outside the scan).
    leaked : bool
        The VOI reached a much hotter structure or exceeds the size limit (see ``warnings``).
    growth_box : tuple of slices
        The image box examined by the final growth (shows that the work stayed near the lesion).
    initial_peak_kji : tuple of int
        The peak found in the search sphere around the click, before any regrowth.
    background_voxels : int
        Number of shell voxels the background was measured on (0 if given or ``fixed``).
    """

    region: RegionMask
    peak_kji: tuple[int, int, int]
    suv_max: float
    threshold_suv: float
    background_suv: float | None
    iterations: int
    warnings: list[str] = field(default_factory=list)
    touches_border: bool = False
    leaked: bool = False
    growth_box: tuple[slice, slice, slice] | None = None
    initial_peak_kji: tuple[int, int, int] | None = None
    background_voxels: int = 0


def _check_image(image: np.ndarray, grid: VoxelGrid) -> np.ndarray:
    image = np.asarray(image)
    if image.shape != grid.shape_kji:
        raise ValueError(f"image shape {image.shape} does not match the grid {grid.shape_kji}")
    return image


def _nonfinite_message(grid: VoxelGrid, count: int, first_kji, where: str) -> str:
    ras = grid.ijk_to_ras_points(np.asarray(first_kji, float)[::-1])
    return (
        f"{count} non-finite (NaN/inf) voxel{'s' if count != 1 else ''} {where}, e.g. at RAS {_fmt_ras(ras)}; "
        "the image is not usable there (check the reconstruction or resampling)"
    )


def find_peak(
    image: np.ndarray,
    grid: VoxelGrid,
    click_ras,
    radius_mm: float,
    allowed: RegionMask | None = None,
) -> tuple[int, int, int]:
    """The SUV maximum among voxels whose centres lie within ``radius_mm`` of the click (SPEC §2).

    Parameters
    ----------
    image : (k, j, i) array
        SUV image.
    grid : VoxelGrid
        Its geometry.
    click_ras : (3,) array_like
        The clicked point, RAS mm, inside the image.
    radius_mm : float
        Search radius (default of the protocol: 10 mm).
    allowed : RegionMask, optional
        A bounding ROI: only voxels inside it are searched.

    Returns
    -------
    tuple of int
        ``(k, j, i)`` of the maximum. Ties go to the voxel whose centre is nearest to the click, then to the
        lowest flat index.

    Raises
    ------
    MeasurementError
        Click outside the image; search sphere outside the bounding ROI; non-finite voxels among those searched.
    """
    image = _check_image(image, grid)
    click = _point(click_ras, "click")
    if not grid.contains_ijk(grid.ras_to_continuous_ijk(click)):
        raise MeasurementError(_outside_message(grid, click, "the click"))
    region = sphere_region(grid, click, radius_mm)
    if allowed is not None:
        inside = region.intersection(allowed)
        if inside is None:
            raise MeasurementError(
                f"the {radius_mm:g} mm peak search sphere around the click at RAS {_fmt_ras(click)} does not "
                "overlap the bounding ROI; click inside the ROI"
            )
        region = inside
    values = np.asarray(region.values(image), dtype=np.float64)
    idx = region.indices_kji()
    finite = np.isfinite(values)
    if not finite.all():
        raise MeasurementError(
            _nonfinite_message(grid, int(np.count_nonzero(~finite)), idx[np.argmin(finite)],
                               f"within {radius_mm:g} mm of the click at RAS {_fmt_ras(click)}")
        )
    top = values.max()
    cand = idx[values == top]
    d = grid.ijk_to_ras_points(cand[:, ::-1].astype(float)) - click
    d2 = np.einsum("nx,nx->n", d, d)
    # Equal distances (symmetric neighbours) must tie exactly; candidates are in flat-index order.
    nearest = np.flatnonzero(d2 <= d2.min() * (1 + 1e-12) + 1e-12)[0]
    return tuple(int(v) for v in cand[nearest])


class _Grower:
    """Connected-component growth of {SUV >= t} from a seed, in a box that enlarges only where needed."""

    def __init__(self, image, grid, params: IsocontourParameters, allowed: RegionMask | None):
        self.image = image
        self.grid = grid
        self.allowed = allowed
        self.structure = ndimage.generate_binary_structure(3, _CONNECTIVITY_RANK[params.connectivity])
        self.max_voxels = int(np.floor(params.max_volume_ml / grid.voxel_volume_ml))
        shape = np.asarray(grid.shape_kji)
        if allowed is None:
            self.limit_lo, self.limit_hi = np.zeros(3, int), shape
        else:
            self.limit_lo = np.array([s.start for s in allowed.box])
            self.limit_hi = np.array([s.stop for s in allowed.box])
        # Index half-size of the first box, per (k, j, i): row norms of RAS->IJK = voxels per mm along each axis.
        per_mm = np.linalg.norm(grid.ras_to_ijk[:3, :3], axis=1)[::-1]
        self.initial_half = np.maximum(np.ceil(_INITIAL_BOX_HALF_MM * per_mm).astype(int), 2)
        self.growths = 0

    def grow(self, seed_kji, threshold: float):
        """Return (box, component mask over box, exceeded size limit)."""
        seed = np.asarray(seed_kji)
        lo = np.maximum(seed - self.initial_half, self.limit_lo)
        hi = np.minimum(seed + self.initial_half + 1, self.limit_hi)
        t = np.float64(threshold)
        self.growths += 1
        while True:
            box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
            sub = np.asarray(self.image[box], dtype=np.float64)  # compare in float64 whatever the image dtype
            above = sub >= t  # NaN compares False; checked below
            if self.allowed is not None:
                above &= self.allowed.mask_in(box)
            labels, _ = ndimage.label(above, structure=self.structure)
            comp = labels == labels[tuple(seed - lo)]
            self._check_finite(sub, comp, box)
            if np.count_nonzero(comp) > self.max_voxels:
                return box, comp, True
            new_lo, new_hi = lo.copy(), hi.copy()
            for axis in range(3):
                width = hi[axis] - lo[axis]
                if lo[axis] > self.limit_lo[axis] and comp.take(0, axis=axis).any():
                    new_lo[axis] = max(self.limit_lo[axis], lo[axis] - width)
                if hi[axis] < self.limit_hi[axis] and comp.take(-1, axis=axis).any():
                    new_hi[axis] = min(self.limit_hi[axis], hi[axis] + width)
            if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
                return box, comp, False
            lo, hi = new_lo, new_hi

    def _check_finite(self, sub, comp, box) -> None:
        bad = ~np.isfinite(sub)
        if not bad.any():
            return
        if self.allowed is not None:
            bad &= self.allowed.mask_in(box)
        # A non-finite voxel in the component or next to it could change the VOI: refuse rather than drop it.
        near = bad & ndimage.binary_dilation(comp, structure=self.structure)
        n = int(np.count_nonzero(near))
        if n:
            first = np.argwhere(near)[0] + [s.start for s in box]
            raise MeasurementError(_nonfinite_message(self.grid, n, first, "in or next to the lesion VOI"))


def _first_max(sub: np.ndarray, comp: np.ndarray, box) -> tuple[float, tuple[int, int, int]]:
    """Highest value in the component and its voxel (lowest flat index among ties)."""
    vals = np.where(comp, sub, -np.inf)
    flat = int(np.argmax(vals))  # argmax returns the first occurrence = lowest flat index
    local = np.unravel_index(flat, comp.shape)
    return float(vals[local]), tuple(int(v) + s.start for v, s in zip(local, box))


def _stable_component(grower: _Grower, image, peak, threshold_of):
    """Grow from ``peak``; while the component holds a hotter voxel, move the peak there and regrow.

    Returns (peak, peak value, threshold, box, component, exceeded size limit). The peak is finally the lowest flat
    index among the component's maxima, so it does not depend on where the growth started.
    """
    peak_value = float(image[peak])
    for _ in range(1000):
        t = min(threshold_of(peak_value), peak_value)  # never above the seed (f = 1 with rounding)
        box, comp, too_big = grower.grow(peak, t)
        sub = np.asarray(image[box], dtype=np.float64)
        top, where = _first_max(sub, comp, box)
        if top > peak_value:
            # The new component lies inside the old one (higher threshold), so this converges in a few steps.
            peak, peak_value = where, top
            continue
        return where, peak_value, t, box, comp, too_big
    raise MeasurementError("isocontour regrowth did not converge")  # pragma: no cover - values strictly increase


def _measure_background(image, grid: VoxelGrid, box, comp, gap_mm: float, width_mm: float) -> tuple[float, int]:
    """Median SUV in a shell ``gap_mm < distance <= gap_mm + width_mm`` around a VOI (distances between centres)."""
    reach = gap_mm + width_mm
    per_mm = np.linalg.norm(grid.ras_to_ijk[:3, :3], axis=1)[::-1]
    pad = np.ceil(reach * per_mm).astype(int) + 1
    lo = np.maximum(np.array([s.start for s in box]) - pad, 0)
    hi = np.minimum(np.array([s.stop for s in box]) + pad, grid.shape_kji)
    pbox = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    voi = RegionMask(box, comp).mask_in(pbox)
    directions = grid.directions
    if np.allclose(directions.T @ directions, np.eye(3), atol=1e-6):
        # Orthogonal axes (any rotation): the Euclidean distance transform with the spacing is exact.
        dist = ndimage.distance_transform_edt(~voi, sampling=grid.spacing_mm[::-1])
        shell = (dist > gap_mm) & (dist <= reach * (1 + _RADIUS_RTOL))
    else:
        # Sheared grid: dilate with the exact physical balls instead.
        near = _dilate_ball(voi, grid, gap_mm)
        far = _dilate_ball(voi, grid, reach)
        shell = far & ~near
    values = np.asarray(image[pbox], dtype=np.float64)[shell]
    if values.size == 0:
        raise MeasurementError(
            "no background voxels around the lesion VOI (it fills the image); give background_suv explicitly"
        )
    bad = ~np.isfinite(values)
    if bad.any():
        first = np.argwhere(shell & ~np.isfinite(np.asarray(image[pbox], dtype=np.float64)))[0] + lo
        raise MeasurementError(_nonfinite_message(grid, int(bad.sum()), first, "in the A50 background shell"))
    return float(np.median(values)), int(values.size)


def _dilate_ball(mask: np.ndarray, grid: VoxelGrid, radius_mm: float) -> np.ndarray:
    if radius_mm <= 0:
        return mask.copy()
    off = grid.ball_offsets_kji(radius_mm)
    n = np.abs(off).max(axis=0)
    kernel = np.zeros(tuple(2 * n + 1), dtype=bool)
    kernel[tuple((off + n).T)] = True
    return ndimage.binary_dilation(mask, structure=kernel)


def _touches_border(box, comp: np.ndarray, shape_kji) -> bool:
    for axis in range(3):
        if box[axis].start == 0 and comp.take(0, axis=axis).any():
            return True
        if box[axis].stop == shape_kji[axis] and comp.take(-1, axis=axis).any():
            return True
    return False


def _cut_by_roi(image, grid: VoxelGrid, box, comp, threshold: float, structure, allowed: RegionMask) -> int:
    """Voxels above the threshold, outside the bounding ROI, adjoining the VOI (what the ROI cut off)."""
    lo = np.maximum(np.array([s.start for s in box]) - 1, 0)
    hi = np.minimum(np.array([s.stop for s in box]) + 1, grid.shape_kji)
    pbox = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    voi = RegionMask(box, comp).mask_in(pbox)
    ring = ndimage.binary_dilation(voi, structure=structure) & ~allowed.mask_in(pbox)
    return int(np.count_nonzero(ring & (np.asarray(image[pbox], dtype=np.float64) >= threshold)))


def grow_isocontour(
    image: np.ndarray,
    grid: VoxelGrid,
    click_ras,
    params: IsocontourParameters = IsocontourParameters(),
    allowed: RegionMask | None = None,
) -> IsocontourVOI:
    """The target-lesion isocontour VOI grown from a click (SPEC §2).

    Parameters
    ----------
    image : (k, j, i) array
        SUV image (any float dtype; thresholds are compared in float64).
    grid : VoxelGrid
        Its geometry.
    click_ras : (3,) array_like
        The clicked point, RAS mm.
    params : IsocontourParameters
        Threshold, method, connectivity, search radius and leak guard.
    allowed : RegionMask, optional
        A bounding ROI that confines the peak search and the growth.

    Returns
    -------
    IsocontourVOI
        With ``leaked=True`` and a warning when the regrowth moved the peak outside the search sphere to a voxel
        more than ``leak_ratio`` times hotter than the clicked peak (e.g. the bladder next to the lesion), or when
        the VOI exceeds ``max_volume_ml`` (its growth then stops in the current box). ``touches_border=True`` and
        a warning when the VOI reaches the outermost voxel layer of the image; a warning when the bounding ROI
        cuts the VOI.

    Raises
    ------
    MeasurementError
        Click outside the image (names the point and the image extent); non-finite voxels in the search sphere
        or in/next to the VOI (names how many and where); no uptake: the highest SUV within the search radius is
        below ``min_peak_suv``; A50 without contrast (BG >= SUVmax).

    Notes
    -----
    Definition (SPEC §2; Buck et al., J Nucl Med 2022; EANM: Boellaard et al., EJNMMI 2015;42:328):

    1. Peak voxel: :func:`find_peak` within ``params.search_radius_mm`` of the click (inside ``allowed``).
    2. VOI: the connected component (``params.connectivity``) containing the peak voxel of {SUV >= t}, with
       ``t = f * SUVmax`` (``fixed``) or ``t = BG + f * (SUVmax - BG)`` (``a50``), SUVmax = SUV of the peak voxel.
    3. If the component holds a voxel hotter than the peak, the peak moves to the hottest voxel (lowest flat index
       among ties) and the VOI is regrown, until stable. The final peak is the lowest flat index among the VOI's
       maxima. Hence the same VOI and peak come out wherever in the lesion the click lands (as long as the search
       sphere reaches the lesion and not a hotter structure).
    4. No hole filling: voxels below t inside the lesion stay out. ``allowed`` (a bounding ROI) confines the
       growth.

    ``a50`` with measured background (``background_suv=None``): the stable fixed-threshold VOI (t = f * SUVmax) is
    grown first; BG = median SUV of a shell ``background_gap_mm`` to ``background_gap_mm + background_width_mm``
    around it; then the A50 VOI is grown; if that moved the peak, BG is measured again around the new peak.

    The growth works in a box around the peak (about 20 mm each side) that doubles on each side the component
    touches, unless that side is the image border or the bounding ROI, so the cost does not depend on scan size.
    """
    image = _check_image(image, grid)
    click = _point(click_ras, "click")
    peak0 = find_peak(image, grid, click, params.search_radius_mm, allowed)
    peak0_value = float(image[peak0])
    if peak0_value < params.min_peak_suv:
        raise MeasurementError(
            f"no uptake to segment at the click at RAS {_fmt_ras(click)}: the highest SUV within "
            f"{params.search_radius_mm:g} mm is {peak0_value:.3g} (below min_peak_suv {params.min_peak_suv:g}); "
            "click on the lesion"
        )
    f = params.threshold_fraction
    grower = _Grower(image, grid, params, allowed)
    background, bg_voxels = None, 0

    if params.method == "fixed":
        peak, peak_value, t, box, comp, too_big = _stable_component(grower, image, peak0, lambda v: f * v)
    elif params.background_suv is not None:
        background = float(params.background_suv)
        _require_contrast(background, peak0_value, click)
        peak, peak_value, t, box, comp, too_big = _stable_component(
            grower, image, peak0, lambda v: background + f * (v - background)
        )
    else:
        peak = peak0
        for _ in range(100):
            peak, peak_value, _, ref_box, ref_comp, _ = _stable_component(grower, image, peak, lambda v: f * v)
            background, bg_voxels = _measure_background(
                image, grid, ref_box, ref_comp, params.background_gap_mm, params.background_width_mm
            )
            _require_contrast(background, peak_value, click)
            bg = background
            new_peak, new_value, t, box, comp, too_big = _stable_component(
                grower, image, peak, lambda v: bg + f * (v - bg)
            )
            if new_value <= peak_value:
                peak = new_peak
                break
            peak = new_peak  # the A50 VOI reached a hotter voxel: measure the background around it again
        else:  # pragma: no cover - the peak value strictly increases
            raise MeasurementError("A50 background iteration did not converge")

    warnings: list[str] = []
    leaked = False
    peak_ras = grid.ijk_to_ras_points(np.asarray(peak[::-1], float))
    distance_mm = float(np.linalg.norm(peak_ras - click))
    if peak_value > params.leak_ratio * peak0_value and distance_mm > params.search_radius_mm:
        leaked = True
        warnings.append(
            f"VOI grew from the clicked lesion (peak SUV {peak0_value:.1f}) into a structure with SUV "
            f"{peak_value:.1f} at RAS {_fmt_ras(peak_ras)}, {distance_mm:.0f} mm from the click; place a bounding "
            "ROI to confine it"
        )
    if too_big:
        leaked = True
        warnings.append(
            f"VOI exceeds the {params.max_volume_ml:g} mL size limit (growth stopped at "
            f"{np.count_nonzero(comp) * grid.voxel_volume_ml:.0f} mL); the threshold SUV {t:.2f} is below the "
            "surrounding uptake: place a bounding ROI or raise the threshold"
        )
    touches = _touches_border(box, comp, grid.shape_kji)
    if touches:
        warnings.append(
            "VOI touches the image border: the lesion may continue outside the scanned field, so its volume and "
            "SUVmean may be underestimated"
        )
    if allowed is not None:
        n_cut = _cut_by_roi(image, grid, box, comp, t, grower.structure, allowed)
        if n_cut:
            warnings.append(
                f"the bounding ROI cuts the VOI: {n_cut} voxel{'s' if n_cut != 1 else ''} above the threshold "
                f"adjoin{'s' if n_cut == 1 else ''} it outside the ROI"
            )

    return IsocontourVOI(
        region=_cropped(box, comp),
        peak_kji=tuple(int(v) for v in peak),
        suv_max=float(peak_value),
        threshold_suv=float(t),
        background_suv=background,
        iterations=grower.growths,
        warnings=warnings,
        touches_border=touches,
        leaked=leaked,
        growth_box=box,
        initial_peak_kji=tuple(int(v) for v in peak0),
        background_voxels=bg_voxels,
    )


def _require_contrast(background: float, peak_value: float, click) -> None:
    if not background < peak_value:
        raise MeasurementError(
            f"A50 needs a lesion hotter than its background: background SUV {background:.3g} >= peak SUV "
            f"{peak_value:.3g} near the click at RAS {_fmt_ras(click)}"
        )
