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
from ..geometry import VoxelGrid
from .regions import _RADIUS_RTOL, RegionMask, _cropped, _fmt_ras, _outside_message, _point, sphere_region

__all__ = ["IsocontourParameters", "IsocontourVOI", "find_peak", "grow_isocontour"]

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

