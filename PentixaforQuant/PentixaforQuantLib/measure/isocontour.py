"""The target-lesion isocontour VOI grown from a click: peak search, growth, and the checks around it.

The target-lesion VOI follows SPEC §2 (Buck et al., J Nucl Med 2022: 40 % isocontour on the target lesion;
isocontour variants and A50 after Boellaard et al., EJNMMI 2010;37:181 and 2015;42:328). Regions are
:class:`.regions.RegionMask` objects over boxes of the image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import ndimage

from ..errors import MeasurementError
from .parameter_ranges import check_value
from ..geometry import VoxelGrid
from .regions import (
    _RADIUS_RTOL, RegionMask, _ball_kernel, _check_image, _cropped, _fmt_ras, _outside_message, _point, sphere_region,
)

__all__ = ["IsocontourParameters", "IsocontourVOI", "climb_to_peak", "find_peak", "grow_isocontour"]

# Half-size of the first growth box around the peak. Large enough for most lesions in one pass; boxes double on
# every side the VOI touches.
_INITIAL_BOX_HALF_MM = 20.0

_METHODS = ("fixed", "a50")
_CONNECTIVITY_RANK = {6: 1, 18: 2, 26: 3}


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
        The clicked structure is never merged into one more than ``leak_ratio`` times hotter (the bladder next to
        a lesion), however shallow the saddle between them. The VOI is also flagged as leaked when the regrowth
        moved the peak outside the search sphere to a voxel more than ``leak_ratio`` times hotter than the first
        peak (possible with ``split_at_saddle`` False).
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
    split_at_saddle : bool
        When the isocontour joins the clicked structure to another one (see ``saddle_depth``), True (default)
        reports only the clicked structure's part (its watershed basins); False reports the whole isocontour
        component as before this rule existed (the peak then moves to its hottest voxel). Both are flagged.
    saddle_depth : float
        Two parts of the isocontour are separate structures when the lower one's peak stands at least this
        fraction above the saddle joining them, or when every contact between them is a step of at least this
        fraction (two flat structures side by side, as in noise-free phantoms). Shallower dips (noise, a lumpy
        lesion) merge. The clicked structure also never merges into one more than ``leak_ratio`` times hotter.
    focus_contrast : float
        A click must reach an uptake focus: a local maximum at least this many times the local background
        (median SUV ``focus_ring_inner_mm`` to ``focus_ring_outer_mm`` from it, or, if that ring lies in the
        lesion, of the A50 shell around the VOI). Otherwise the site is refused ("no uptake focus").
    focus_ring_inner_mm, focus_ring_outer_mm : float
        The ring around the peak whose median SUV is the local background of the focus rule.
    core_fraction, max_core_distance_mm : float
        Shoulder check: the VOI is flagged when some of its voxels lie more than ``max_core_distance_mm`` from
        the VOI's core: the voxels whose smoothed SUV (2 mm Gaussian) reaches ``core_fraction`` x its top (the
        median smoothed SUV within 1 mL of the smoothed maximum), connected to that maximum. Flags a structure
        below SUVmax but above the threshold, e.g. an organ at 60-90 % of SUVmax, joined without a saddle.
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
    split_at_saddle: bool = True
    saddle_depth: float = 0.25
    focus_contrast: float = 1.5
    focus_ring_inner_mm: float = 15.0
    focus_ring_outer_mm: float = 25.0
    core_fraction: float = 0.95
    max_core_distance_mm: float = 15.0

    def __post_init__(self) -> None:
        def bad(name, why):
            raise MeasurementError(f"isocontour parameter {name} = {getattr(self, name)!r}: {why}")

        for name in ("threshold_fraction", "search_radius_mm", "max_volume_ml", "background_suv"):
            if name != "background_suv" or self.background_suv is not None:  # the protocol's stated ranges
                check_value(f"isocontour.{name}", getattr(self, name))
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
        # Neighbour, focus and shoulder rules (measurements.md, "The clicked structure").
        if not isinstance(self.split_at_saddle, (bool, np.bool_)):
            bad("split_at_saddle", "must be True or False")
        for name in ("saddle_depth", "core_fraction"):
            if not (np.isfinite(getattr(self, name)) and 0 < getattr(self, name) < 1):
                bad(name, "must be in (0, 1)")
        if not (np.isfinite(self.focus_contrast) and self.focus_contrast >= 1):
            bad("focus_contrast", "must be at least 1")
        if not (np.isfinite(self.focus_ring_inner_mm) and 0 <= self.focus_ring_inner_mm < self.focus_ring_outer_mm
                and np.isfinite(self.focus_ring_outer_mm)):
            bad("focus_ring_outer_mm", "the focus ring needs 0 <= inner < outer (mm)")
        if not (np.isfinite(self.max_core_distance_mm) and self.max_core_distance_mm > 0):
            bad("max_core_distance_mm", "must be a positive number")

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
    neighbours : list of dict
        Other structures the isocontour joined to the clicked one (hottest first): ``suv_max``, ``peak_kji``,
        ``voxels`` (their part of the isocontour component).
    split : bool
        The VOI was split from its neighbours at the saddle (``split_at_saddle``).
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
    neighbours: list[dict] = field(default_factory=list)
    split: bool = False


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
    region = _search_region(image, grid, click, radius_mm, allowed)
    values = np.asarray(region.values(image), dtype=np.float64)
    idx = region.indices_kji()
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
        # Index half-size of the first box, per (k, j, i).
        self.initial_half = np.maximum(np.ceil(grid.index_radius_ijk(_INITIAL_BOX_HALF_MM)[::-1]).astype(int), 2)
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


# ----------------------------------------------------------------------------------------------------------------
# The clicked structure: peak search by ascent, structures of the isocontour component, focus and shoulder rules
# ----------------------------------------------------------------------------------------------------------------


def _search_region(image, grid: VoxelGrid, click, radius_mm: float, allowed: RegionMask | None) -> RegionMask:
    """The search sphere around the click (inside the bounding ROI), after the checks every peak search needs."""
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
    finite = np.isfinite(values)
    if not finite.all():
        raise MeasurementError(
            _nonfinite_message(grid, int(np.count_nonzero(~finite)), region.indices_kji()[np.argmin(finite)],
                               f"within {radius_mm:g} mm of the click at RAS {_fmt_ras(click)}")
        )
    return region


def _nearest_voxel(grid: VoxelGrid, region: RegionMask, click) -> tuple[int, int, int]:
    """The region voxel whose centre is nearest the click (ties: lowest flat index)."""
    kji = grid.nearest_kji(click)
    if region.contains_kji(kji):
        return kji
    idx = region.indices_kji()
    d = grid.ijk_to_ras_points(idx[:, ::-1].astype(float)) - click
    return tuple(int(v) for v in idx[int(np.argmin(np.einsum("nx,nx->n", d, d)))])


def climb_to_peak(
    image: np.ndarray,
    grid: VoxelGrid,
    click_ras,
    radius_mm: float,
    allowed: RegionMask | None = None,
    connectivity: int = 6,
) -> tuple[int, int, int]:
    """The local maximum reached from the click by steepest ascent inside the search sphere.

    Starts at the voxel nearest the click and steps to the hottest neighbour (``connectivity``; ties: lowest flat
    index) while it is strictly hotter, never leaving the sphere of ``radius_mm`` (nor the bounding ROI). Unlike
    :func:`find_peak` (the hottest voxel of the sphere), it follows the structure under the click: a hotter
    structure elsewhere in the sphere is not reached unless the ascent leads into it.

    Returns
    -------
    tuple of int
        ``(k, j, i)`` of the voxel where the ascent stops (a local maximum, a plateau, or the sphere's edge).
    """
    image = _check_image(image, grid)
    click = _point(click_ras, "click")
    region = _search_region(image, grid, click, radius_mm, allowed)
    return _climb(image, grid, region, click, connectivity)[0]


def _climb(image, grid, region: RegionMask, click, connectivity: int) -> tuple[tuple[int, int, int], bool]:
    """Steepest ascent inside ``region``; returns the voxel reached and whether it is a local maximum of the
    image (False: the ascent was stopped by the edge of the search sphere or of the ROI)."""
    vals = np.pad(np.where(region.mask, np.asarray(image[region.box], dtype=np.float64), -np.inf), 1,
                  constant_values=-np.inf)
    window = ndimage.generate_binary_structure(3, _CONNECTIVITY_RANK[connectivity])
    off = region.offset_kji
    cur = np.asarray(_nearest_voxel(grid, region, click)) - off + 1  # index in the padded array
    for _ in range(vals.size):
        k, j, i = cur
        w = np.where(window, vals[k - 1:k + 2, j - 1:j + 2, i - 1:i + 2], -np.inf)
        best = int(np.argmax(w))  # first occurrence: lowest flat index among ties
        if not w.flat[best] > vals[k, j, i]:
            break
        cur = cur + np.unravel_index(best, (3, 3, 3)) - 1
    peak = cur - 1 + off
    # A local maximum of the image, not only of the sphere? (Neighbours outside the image do not count.)
    lo = np.maximum(peak - 1, 0)
    hi = np.minimum(peak + 2, image.shape)
    near = np.asarray(image[tuple(slice(a, b) for a, b in zip(lo, hi))], dtype=np.float64)
    win = window[tuple(slice(a - p + 1, b - p + 1) for a, b, p in zip(lo, hi, peak))]
    top = float(np.max(np.where(win & np.isfinite(near), near, -np.inf)))
    return tuple(int(v) for v in peak), not top > float(image[tuple(peak)])


def _flat_zones(sub: np.ndarray, comp: np.ndarray, structure, limit: int = 20) -> list[np.ndarray]:
    """Plateaus of exactly equal SUV in the component that have an interior voxel (all face neighbours in the
    component with the same value); the largest ``limit`` of them.

    Noise-free phantoms are made of such plateaus; a plateau is a structure of its own even where it touches a
    hotter one (a terrace), which no regional maximum would mark.
    """
    interior = comp.copy()
    for axis in range(3):
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis], b[axis] = slice(0, -1), slice(1, None)
        same = np.zeros_like(comp)
        same[tuple(a)] = (sub[tuple(a)] == sub[tuple(b)]) & comp[tuple(b)]
        interior &= same
        same = np.zeros_like(comp)
        same[tuple(b)] = (sub[tuple(b)] == sub[tuple(a)]) & comp[tuple(a)]
        interior &= same
    if not interior.any():
        return []
    labels, n = ndimage.label(interior, structure=structure)
    sizes = np.bincount(labels.ravel())[1:]
    zones = []
    for lab in (np.argsort(-sizes, kind="stable")[:limit] + 1):
        seed = labels == lab
        value = sub[tuple(np.argwhere(seed)[0])]
        zones.append(ndimage.binary_propagation(seed, structure=structure, mask=comp & (sub == value)))
    return zones


# Two plateaus in contact are two structures when their SUV differ by at least this fraction: far above the
# quantisation of stored PET values (about 1e-4 of the maximum), far below any real difference between structures.
_PLATEAU_STEP = 0.01

# Smoothing (Gaussian sigma, mm) of the SUV on which saddles and the shoulder check's core are compared (never the
# VOI's own values). Noise of 10 % per 2 mm voxel becomes about 1.5 %.
_SMOOTH_MM = 2.0
# The shoulder check's reference: the median SUV within this radius of the smoothed maximum (a 1 mL sphere).
_TOP_RADIUS_MM = 6.2035


def _smoothed(sub, mask, sigma_mm: float, spacing_kji) -> np.ndarray:
    """SUV of the ``mask`` voxels smoothed by a Gaussian of ``sigma_mm`` among themselves (normalised convolution:
    voxels outside the mask, e.g. a neighbouring bladder or the background, do not contribute). 0 outside."""
    sigma = [sigma_mm / s for s in spacing_kji]
    weight = ndimage.gaussian_filter(mask.astype(np.float64), sigma=sigma, mode="constant", truncate=2.5)
    total = ndimage.gaussian_filter(np.where(mask, sub, 0.0), sigma=sigma, mode="constant", truncate=2.5)
    return np.where(mask, total / np.where(weight > 0, weight, 1.0), 0.0)


@dataclass
class _Partition:
    """The isocontour component divided into structures (watershed basins merged by the saddle rules)."""

    own: np.ndarray  # the clicked structure's voxels (over the box)
    others: list[dict]  # the other structures: suv_max, peak (local index), voxels


def _partition(sub, comp, structure, anchor, saddle_depth: float, leak_ratio: float,
               spacing_kji=(1.0, 1.0, 1.0)) -> _Partition | None:
    """Split ``comp`` into structures; None if it holds one structure only.

    Markers: the plateaus of exactly equal SUV in the component (the structures of noise-free phantoms), then its
    regional maxima of SUV outside them. Each voxel goes to a marker by a watershed on -SUV (flooding from the
    hottest voxels). The rules compare SUV smoothed by a Gaussian of ``_SMOOTH_MM`` (sigma, mm; noise divided by
    about six on 2 mm voxels): a basin's peak P is the smoothed SUV at its hottest voxel, the saddle s between two
    basins the highest min(smoothed SUV) over adjacent voxel pairs across their boundary. Neighbouring basins with
    P_A >= P_B merge unless:

    - the dip is deep: P_B - s >= saddle_depth * P_B;
    - both are plateaus whose SUV differ by at least 1 %: two flat structures side by side, the lower a terrace
      without a saddle;
    - B holds the clicked voxel and P_A > leak_ratio * P_B: the clicked structure never merges into a much hotter
      one, however shallow the saddle (a lesion next to the bladder).

    Saddles are taken highest first (union-find), so a noise bump merges before a real neighbour is considered.
    """
    from skimage.morphology import local_maxima
    from skimage.segmentation import watershed

    vals = np.where(comp, sub, -np.inf)
    # Fast path: one connected set of voxels that are not below any neighbour holds every maximum and plateau,
    # so the component is one structure (the usual isolated lesion).
    candidates = comp & (vals >= ndimage.maximum_filter(vals, footprint=structure, mode="constant", cval=-np.inf))
    if ndimage.label(candidates, structure=structure)[1] <= 1:
        return None
    zones = _flat_zones(sub, comp, structure)
    markers = np.zeros(comp.shape, np.int32)
    for n_zone, zone in enumerate(zones, start=1):
        markers[zone & (markers == 0)] = n_zone
    n_zones = len(zones)
    maxima = local_maxima(vals, footprint=structure, allow_borders=True) & comp & (markers == 0)
    more, n_more = ndimage.label(maxima, structure=structure)
    markers[more > 0] = more[more > 0] + n_zones
    n = n_zones + n_more
    if n <= 1:
        return None
    plateau = np.zeros(n + 1, bool)
    plateau[1:n_zones + 1] = True
    labels = watershed(np.where(comp, -sub, 0.0), markers, mask=comp, connectivity=structure)
    if labels[anchor] == 0:  # pragma: no cover - the anchor is in the component
        return None
    level = _smoothed(sub, comp, _SMOOTH_MM, spacing_kji)

    # Contacts between basins along every neighbour offset of the connectivity (each pair once).
    offsets = [o for o in np.argwhere(structure) - 1 if tuple(o) > (0, 0, 0)]
    la_all, lb_all, s_all = [], [], []
    for o in offsets:
        sa, sb = [], []
        for d, size in zip(o, comp.shape):
            sa.append(slice(max(0, -d), size - max(0, d)))
            sb.append(slice(max(0, d), size - max(0, -d)))
        la, lb = labels[tuple(sa)], labels[tuple(sb)]
        m = (la != lb) & (la > 0) & (lb > 0)
        if not m.any():
            continue
        la_all.append(np.minimum(la[m], lb[m]))
        lb_all.append(np.maximum(la[m], lb[m]))
        s_all.append(np.minimum(level[tuple(sa)][m], level[tuple(sb)][m]))
    if not la_all:  # pragma: no cover - basins of one connected component always touch
        return None
    la, lb, s = np.concatenate(la_all), np.concatenate(lb_all), np.concatenate(s_all)
    key = la.astype(np.int64) * (n + 1) + lb
    order = np.argsort(key, kind="stable")
    key, s = key[order], s[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    saddle = np.maximum.reduceat(s, starts)
    pair_a, pair_b = key[starts] // (n + 1), key[starts] % (n + 1)

    # Per basin: SUVmax, its voxel (lowest flat index among ties) and the smoothed SUV there.
    top = np.r_[-np.inf, ndimage.maximum(vals, labels, np.arange(1, n + 1))]
    flat = np.flatnonzero(labels.ravel() > 0)
    lab_flat = labels.ravel()[flat]
    at_max = sub.ravel()[flat] == top[lab_flat]
    first = np.full(n + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, lab_flat[at_max], flat[at_max])
    peak = np.r_[-np.inf, level.ravel()[first[1:]]]
    # The union-find runs on Python lists: thousands of noise basins are merged one saddle at a time.
    parent = list(range(n + 1))
    peak_l, first_l, top_l, plateau_l = peak.tolist(), first.tolist(), top.tolist(), plateau.tolist()

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    clicked = int(labels[anchor])
    order = np.lexsort((pair_b, pair_a, -saddle))  # highest saddle first; ties in label order
    for a, b, sd in zip(pair_a[order].tolist(), pair_b[order].tolist(), saddle[order].tolist()):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        hi, lo = (ra, rb) if (peak_l[ra], -first_l[ra]) >= (peak_l[rb], -first_l[rb]) else (rb, ra)
        deep = peak_l[lo] - sd >= saddle_depth * abs(peak_l[lo])
        step = plateau_l[a] and plateau_l[b] and (
            abs(top_l[a] - top_l[b]) >= _PLATEAU_STEP * max(abs(top_l[a]), abs(top_l[b])))
        much_hotter = find(clicked) == lo and peak_l[hi] > leak_ratio * peak_l[lo]
        if deep or step or much_hotter:
            continue
        parent[lo] = hi
    roots = np.array([find(x) for x in range(n + 1)], dtype=np.int64)
    root_of_voxel = roots[labels]
    mine = roots[clicked]
    if np.all(root_of_voxel[comp] == mine):
        return None
    counts = np.bincount(root_of_voxel[comp], minlength=n + 1)
    others = []
    for r in np.unique(roots[1:]):
        if r == mine:
            continue
        members = np.flatnonzero(roots == r)
        best = members[np.lexsort((first[members], -top[members]))[0]]  # its hottest voxel
        others.append({"suv_max": float(top[best]), "peak": np.unravel_index(int(first[best]), comp.shape),
                       "voxels": int(counts[r])})
    others.sort(key=lambda o: -o["suv_max"])
    return _Partition(own=(root_of_voxel == mine) & comp, others=others)


class _Background(Exception):
    """The isocontour has no end and its threshold lies below the local background (raised with the threshold)."""


def _clicked_structure(grower: _Grower, image, peak, anchor_kji, threshold_of, params: IsocontourParameters,
                       background: float | None = None):
    """Grow from ``peak`` and keep the clicked structure; move the peak to its hottest voxel and regrow, until stable.

    Returns (peak, peak value, threshold, box, VOI mask, exceeded size limit, partition or None). With
    ``split_at_saddle`` False the VOI is the whole component (the peak may then move into a joined structure).
    Raises :class:`_Background` when a growth exceeds the size limit with its threshold below ``background``.
    """
    peak_value = float(image[peak])
    for _ in range(1000):
        t = min(threshold_of(peak_value), peak_value)  # never above the seed (f = 1 with rounding)
        box, comp, too_big = grower.grow(peak, t)
        if too_big and background is not None and t < background:
            raise _Background(t)
        sub = np.asarray(image[box], dtype=np.float64)
        part = None
        if not too_big:
            lo = [s.start for s in box]
            anchor = tuple(int(a) - b for a, b in zip(anchor_kji, lo))
            if not all(0 <= a < n for a, n in zip(anchor, comp.shape)) or not comp[anchor]:
                anchor = tuple(int(a) - b for a, b in zip(peak, lo))
            part = _partition(sub, comp, grower.structure, anchor, params.saddle_depth, params.leak_ratio,
                              grower.grid.spacing_mm[::-1])
        own = comp if part is None or not params.split_at_saddle else part.own
        top, where = _first_max(sub, own, box)
        if top > peak_value:
            peak, peak_value = where, top
            continue
        if part is not None:
            for o in part.others:
                o["peak_kji"] = tuple(int(v) + s.start for v, s in zip(o.pop("peak"), box))
        return where, peak_value, t, box, own, too_big, part
    raise MeasurementError("isocontour regrowth did not converge")  # pragma: no cover - values strictly increase


_RING_CACHE: dict = {}


def _ring_mask(grid: VoxelGrid, inner_mm: float, outer_mm: float) -> np.ndarray:
    """Boolean mask over the box of the outer ball (centre voxel in the middle) of the voxels whose centres lie
    inner_mm < d <= outer_mm from the centre voxel's centre (cached per grid geometry)."""
    key = (grid.ijk_to_ras[:3, :3].tobytes(), float(inner_mm), float(outer_mm))
    mask = _RING_CACHE.get(key)
    if mask is None:
        ball = grid.ball_offsets_kji(outer_mm)
        d = ball[:, ::-1] @ grid.ijk_to_ras[:3, :3].T
        off = ball[np.einsum("nx,nx->n", d, d) > inner_mm**2]
        half = np.abs(ball).max(axis=0)
        mask = np.zeros(tuple(2 * half + 1), bool)
        mask[tuple((off + half).T)] = True
        if len(_RING_CACHE) > 16:
            _RING_CACHE.clear()
        _RING_CACHE[key] = mask
    return mask


def _ring_median(image, grid: VoxelGrid, center_kji, inner_mm: float, outer_mm: float) -> float | None:
    """Median SUV of the voxels whose centres lie inner_mm < d <= outer_mm from a voxel centre (None if none)."""
    mask = _ring_mask(grid, inner_mm, outer_mm)
    half = np.asarray(mask.shape) // 2
    c = np.asarray(center_kji)
    lo = np.maximum(c - half, 0)
    hi = np.minimum(c + half + 1, grid.shape_kji)
    sub = np.asarray(image[tuple(slice(a, b) for a, b in zip(lo, hi))], dtype=np.float64)
    values = sub[mask[tuple(slice(a - p + h, b - p + h) for a, b, p, h in zip(lo, hi, c, half))]]
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def _core_distance(grid: VoxelGrid, sub, voi, core_fraction: float):
    """Largest distance (mm) from a VOI voxel to the VOI's core, the core's reference SUV, and the distance map.

    The VOI's SUV is smoothed among its own voxels (Gaussian of ``_SMOOTH_MM``). The reference ("top") is the
    median smoothed SUV of the VOI voxels within 6.2 mm (a 1 mL sphere) of the smoothed maximum: a noise spike does
    not set it. The core is the group of VOI voxels whose smoothed SUV reaches
    ``core_fraction`` x top, connected (26-neighbourhood) to the smoothed maximum: noise spikes in a joined organ
    are smoothed away, and a noisy lesion's top is one connected group.
    """
    level = _smoothed(sub, voi, _SMOOTH_MM, grid.spacing_mm[::-1])
    centre = np.unravel_index(int(np.argmax(np.where(voi, level, -np.inf))), voi.shape)
    ball = grid.ball_offsets_kji(_TOP_RADIUS_MM) + centre
    ball = ball[np.all((ball >= 0) & (ball < voi.shape), axis=1)]
    inside = voi[tuple(ball.T)]
    top = float(np.median(level[tuple(ball[inside].T)]))
    high = voi & (level >= core_fraction * top)
    high[centre] = True
    labels, _ = ndimage.label(high, structure=np.ones((3, 3, 3), bool))
    core = labels == labels[centre]
    dist = ndimage.distance_transform_edt(~core, sampling=grid.spacing_mm[::-1])
    return float(dist[voi].max()), top, dist


def _reach_from(grid: VoxelGrid, voi, box, peak_kji) -> float:
    """Largest distance (mm) from the peak voxel to a VOI voxel: a bound on the distance to the core."""
    d = (np.argwhere(voi) + [s.start for s in box] - np.asarray(peak_kji))[:, ::-1] @ grid.ijk_to_ras[:3, :3].T
    return float(np.sqrt(np.einsum("nx,nx->n", d, d).max()))


def _measure_background(image, grid: VoxelGrid, box, comp, gap_mm: float, width_mm: float) -> tuple[float, int]:
    """Median SUV in a shell ``gap_mm < distance <= gap_mm + width_mm`` around a VOI (distances between centres)."""
    reach = gap_mm + width_mm
    pad = np.ceil(grid.index_radius_ijk(reach)[::-1]).astype(int) + 1
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
    return ndimage.binary_dilation(mask, structure=_ball_kernel(grid, radius_mm)[0])


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
        The clicked structure's VOI. ``leaked=True`` and a warning when the isocontour joins it to another
        structure (named; ``split`` says whether the VOI was split from it at the saddle), when the VOI reaches
        far beyond its core (a cooler organ joined without a saddle), when its peak is not the structure under
        the click, or when it exceeds ``max_volume_ml`` (its growth then stops in the current box). Warnings
        without ``leaked``: a hotter structure in the search sphere that the VOI does not include; the VOI
        reaches the outermost voxel layer of the image (``touches_border``); the bounding ROI cuts the VOI.

    Raises
    ------
    MeasurementError
        Click outside the image (names the point and the image extent); non-finite voxels in the search sphere
        or in/next to the VOI (names how many and where); no uptake: the highest SUV within the search radius is
        below ``min_peak_suv``; no uptake focus at the click (focus rule, names the click's RAS); A50 without
        contrast (BG >= SUVmax).

    Notes
    -----
    Definition (SPEC §2; Buck et al., J Nucl Med 2022; EANM: Boellaard et al., EJNMMI 2015;42:328; the rules for
    neighbouring structures are this project's, docs/measurements.md "The clicked structure"):

    1. First peak: :func:`climb_to_peak`, the local maximum reached by steepest ascent from the click within
       ``params.search_radius_mm`` (inside ``allowed``). It must be an uptake focus (``focus_contrast``).
    2. Component: the connected component (``params.connectivity``) containing the peak voxel of {SUV >= t}, with
       ``t = f * SUVmax`` (``fixed``) or ``t = BG + f * (SUVmax - BG)`` (``a50``), SUVmax = SUV of the peak voxel.
    3. Structures: the component's watershed basins (markers: regional maxima and plateaus) merged unless a
       saddle deeper than ``saddle_depth``, a step between plateaus, or a much hotter neighbour (``leak_ratio``)
       separates them. The VOI is the clicked structure (``split_at_saddle``) or the whole component.
    4. If the VOI holds a voxel hotter than the peak, the peak moves to the hottest voxel (lowest flat index
       among ties) and the VOI is regrown, until stable. The final peak is the lowest flat index among the VOI's
       maxima. Hence the same VOI and peak come out wherever in the lesion the click lands.
    5. No hole filling: voxels below t inside the lesion stay out. ``allowed`` (a bounding ROI) confines the
       growth.

    ``a50`` with measured background (``background_suv=None``): the stable fixed-threshold VOI (t = f * SUVmax) is
    grown first; BG = median SUV of a shell ``background_gap_mm`` to ``background_gap_mm + background_width_mm``
    around it; then the A50 VOI is grown; if that moved the peak, BG is measured again around the new peak.

    The growth works in a box around the peak (about 20 mm each side) that doubles on each side the component
    touches, unless that side is the image border or the bounding ROI, so the cost does not depend on scan size.
    """
    image = _check_image(image, grid)
    click = _point(click_ras, "click")
    region = _search_region(image, grid, click, params.search_radius_mm, allowed)
    sphere_values = np.asarray(region.values(image), dtype=np.float64)
    hottest = float(sphere_values.max())
    if hottest < params.min_peak_suv:
        raise MeasurementError(
            f"no uptake to segment at the click at RAS {_fmt_ras(click)}: the highest SUV within "
            f"{params.search_radius_mm:g} mm is {hottest:.3g} (below min_peak_suv {params.min_peak_suv:g}); "
            "click on the lesion"
        )
    anchor = _nearest_voxel(grid, region, click)
    peak0, reached_maximum = _climb(image, grid, region, click, params.connectivity)
    peak0_value = float(image[peak0])
    f = params.threshold_fraction
    grower = _Grower(image, grid, params, allowed)
    ring = _require_focus(image, grid, grower, click, peak0, peak0_value, params)
    background, bg_voxels = None, 0

    try:
        if params.method == "fixed":
            peak, peak_value, t, box, comp, too_big, part = _clicked_structure(
                grower, image, peak0, anchor, lambda v: f * v, params, ring)
        elif params.background_suv is not None:
            background = float(params.background_suv)
            _require_contrast(background, peak0_value, click)
            peak, peak_value, t, box, comp, too_big, part = _clicked_structure(
                grower, image, peak0, anchor, lambda v: background + f * (v - background), params, ring
            )
        else:
            peak = peak0
            for _ in range(100):
                peak, peak_value, _, ref_box, ref_comp, _, _ = _clicked_structure(
                    grower, image, peak, anchor, lambda v: f * v, params)  # only for the background shell
                background, bg_voxels = _measure_background(
                    image, grid, ref_box, ref_comp, params.background_gap_mm, params.background_width_mm
                )
                _require_contrast(background, peak_value, click)
                bg = background
                new_peak, new_value, t, box, comp, too_big, part = _clicked_structure(
                    grower, image, peak, anchor, lambda v: bg + f * (v - bg), params, ring
                )
                if new_value <= peak_value:
                    peak = new_peak
                    break
                peak = new_peak  # the A50 VOI reached a hotter voxel: measure the background around it again
            else:  # pragma: no cover - the peak value strictly increases
                raise MeasurementError("A50 background iteration did not converge")
    except _Background as exc:  # the threshold lies below the surroundings and the growth has no end
        raise MeasurementError(
            f"no uptake focus at RAS {_fmt_ras(click)}: the isocontour threshold SUV {exc.args[0]:.2f} of the local "
            f"maximum reached from it (SUV {peak0_value:.2f}) lies below the median SUV {ring:.2f} at "
            f"{params.focus_ring_inner_mm:g}-{params.focus_ring_outer_mm:g} mm around it and the isocontour spreads "
            f"over more than {params.max_volume_ml:g} mL; click on the lesion"
        ) from None
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
    elif distance_mm > params.search_radius_mm and _much_hotter_than_start(
            image, grid, box, comp, peak, peak0, 1 + params.saddle_depth):
        # The VOI's peak is not the structure under the click: say why, whatever the VOI's size.
        leaked = True
        how = (f"no local maximum lies within {params.search_radius_mm:g} mm of the click and the ascent from it "
               "leads to" if not reached_maximum else
               f"the local maximum reached from the click (SUV {peak0_value:.1f}) joins, through a saddle less than "
               f"{100 * params.saddle_depth:g} % deep (saddle_depth),")
        warnings.append(
            f"{how} SUVmax {peak_value:.1f} at RAS {_fmt_ras(peak_ras)}, {distance_mm:.0f} mm away: the clicked "
            "lesion may sit on the shoulder of a hotter structure (or the click is beside the lesion); check the "
            "VOI or confine it with a bounding ROI"
        )
    neighbours = []
    if part is not None:
        leaked = True
        neighbours = [dict(o) for o in part.others]
        top = neighbours[0]
        top_ras = grid.ijk_to_ras_points(np.asarray(top["peak_kji"][::-1], float))
        n_other = len(neighbours)
        what = (f"{n_other} other structure{'s' if n_other != 1 else ''} (hottest: SUVmax {top['suv_max']:.1f} at RAS "
                f"{_fmt_ras(top_ras)}, {np.linalg.norm(top_ras - click):.0f} mm from the click, "
                f"{top['voxels'] * grid.voxel_volume_ml:.1f} mL)")
        if params.split_at_saddle:
            warnings.append(
                f"the isocontour (SUV >= {t:.2f}) joins the clicked lesion (SUVmax {peak_value:.1f}) to {what}; the "
                "VOI is the clicked lesion's part, split at the saddle (split_at_saddle): check it, or confine the "
                "growth with a bounding ROI"
            )
        else:
            warnings.append(
                f"the isocontour (SUV >= {t:.2f}) joins the lesion (SUVmax {peak_value:.1f}) to {what} and the VOI "
                "includes them (split_at_saddle is off): split it at the saddle or place a bounding ROI"
            )
    sub = np.asarray(image[box], dtype=np.float64)
    # (The peak is in the core, so a VOI within max_core_distance_mm of it needs no distance map.)
    if not too_big and _reach_from(grid, comp, box, peak) > params.max_core_distance_mm:
        far_mm, top_level, dist = _core_distance(grid, sub, comp, params.core_fraction)
        if far_mm > params.max_core_distance_mm:
            leaked = True
            far = comp & (dist > params.max_core_distance_mm)
            level = float(np.percentile(sub[far], 90))  # the joined structure's level, above its blurred rim
            warnings.append(
                f"the VOI reaches {far_mm:.0f} mm beyond its core (voxels >= {100 * params.core_fraction:g} % of "
                f"its top, SUV {top_level:.1f}): {np.count_nonzero(far) * grid.voxel_volume_ml:.1f} mL farther than "
                f"{params.max_core_distance_mm:g} mm, at SUV {level:.1f} (90th percentile, "
                f"{100 * level / peak_value:.0f} % of SUVmax), probably belong to a neighbouring structure joined "
                "without a saddle (an organ or a second lesion); check the VOI or confine it with a bounding ROI"
            )
    outside = ~RegionMask(box, comp).mask_in(region.box) & region.mask
    if outside.any():
        vals = np.where(outside, np.asarray(image[region.box], dtype=np.float64), -np.inf)
        hot = float(vals.max())
        if hot > peak_value:
            where = np.unravel_index(int(np.argmax(vals)), vals.shape) + region.offset_kji
            joined = any(o["peak_kji"] == tuple(int(v) for v in where) for o in neighbours) or (
                part is not None and float(neighbours[0]["suv_max"]) >= hot)
            if not joined:
                hot_ras = grid.ijk_to_ras_points(np.asarray(where[::-1], float))
                warnings.append(
                    f"a hotter structure lies within the {params.search_radius_mm:g} mm search radius: SUVmax "
                    f"{hot:.1f} at RAS {_fmt_ras(hot_ras)}, {np.linalg.norm(hot_ras - click):.0f} mm from the click; "
                    f"the VOI is the structure under the click (SUVmax {peak_value:.1f})"
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
        neighbours=neighbours,
        split=part is not None and params.split_at_saddle,
    )


def _much_hotter_than_start(image, grid: VoxelGrid, box, comp, peak, start, ratio: float) -> bool:
    """Whether the VOI's peak is at least ``ratio`` times the first peak, both read on the VOI's SUV smoothed among
    its voxels (2 mm Gaussian) so that two noise maxima of one lesion do not count (raw values if the first peak
    lies outside the VOI)."""
    local = [tuple(int(v) - s.start for v, s in zip(p, box)) for p in (peak, start)]
    if all(all(0 <= v < n for v, n in zip(p, comp.shape)) and comp[p] for p in local):
        level = _smoothed(np.asarray(image[box], dtype=np.float64), comp, _SMOOTH_MM, grid.spacing_mm[::-1])
        return bool(level[local[0]] >= ratio * level[local[1]])
    return bool(float(image[tuple(peak)]) >= ratio * float(image[tuple(start)]))


def _require_focus(image, grid: VoxelGrid, grower: _Grower, click, peak0, peak0_value: float,
                   params: IsocontourParameters) -> float | None:
    """Refuse a click that reaches no uptake focus (measurements.md, "Focus rule").

    The local maximum reached from the click is a focus when it is at least ``focus_contrast`` times its local
    background: the median SUV at ``focus_ring_inner_mm`` to ``focus_ring_outer_mm`` from it, or, when that ring
    lies inside a large lesion, the median of the A50 shell around the isocontour component grown from it. A
    component that exceeds the size limit (background at 40 % of itself spreads over the body) is no focus.
    Returns the ring median: growths that exceed the size limit with a threshold below it are refused as well.
    """
    kappa = params.focus_contrast
    ring = _ring_median(image, grid, peak0, params.focus_ring_inner_mm, params.focus_ring_outer_mm)
    if ring is None or ring <= 0 or peak0_value >= kappa * ring:
        return ring
    peak_ras = grid.ijk_to_ras_points(np.asarray(peak0[::-1], float))
    reason = (f"the local maximum reached from it (SUV {peak0_value:.2f} at RAS {_fmt_ras(peak_ras)}) is "
              f"{peak0_value / ring:.2f} x the median SUV {ring:.2f} at {params.focus_ring_inner_mm:g}-"
              f"{params.focus_ring_outer_mm:g} mm around it")
    box, comp, too_big = grower.grow(peak0, params.threshold_fraction * peak0_value)
    if not too_big:
        shell, _ = _measure_background(image, grid, box, comp, params.background_gap_mm, params.background_width_mm)
        if shell <= 0 or peak0_value >= kappa * shell:
            return ring
        reason += f" and {peak0_value / shell:.2f} x the median SUV {shell:.2f} around its isocontour"
    else:
        reason += f", and its isocontour spreads over more than {params.max_volume_ml:g} mL"
    raise MeasurementError(
        f"no uptake focus at RAS {_fmt_ras(click)}: {reason}; a focus needs at least {kappa:g} x its surroundings "
        "(focus_contrast); click on the lesion"
    )


def _require_contrast(background: float, peak_value: float, click) -> None:
    if not background < peak_value:
        raise MeasurementError(
            f"A50 needs a lesion hotter than its background: background SUV {background:.3g} >= peak SUV "
            f"{peak_value:.3g} near the click at RAS {_fmt_ras(click)}"
        )

