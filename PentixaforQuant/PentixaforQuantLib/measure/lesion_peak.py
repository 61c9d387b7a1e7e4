"""The target lesion's first peak: the structure under the click, and the refusal of clicks on background.

Step 1 of :func:`.isocontour.grow_isocontour` (docs/measurements.md, "Target-lesion VOI", step 1, and "Focus
rule"): the search sphere around the click (:func:`search_region`), the local maximum reached from the click by
steepest ascent (:func:`climb`), and the focus rule (:func:`require_focus`). :func:`find_peak` is the sphere's
hottest voxel (SPEC §2's plain peak search, kept for comparison and for callers that want it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from ..errors import MeasurementError
from ..geometry import VoxelGrid
from .lesion_growth import CONNECTIVITY_RANK, Grower, measure_background, nonfinite_message
from .regions import RegionMask, _check_image, _fmt_ras, _outside_message, _point, sphere_region

if TYPE_CHECKING:
    from .isocontour import IsocontourParameters

__all__ = ["Start", "climb", "climb_to_peak", "find_peak", "find_start", "nearest_voxel", "require_focus",
           "search_region"]


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
    region = search_region(image, grid, click, radius_mm, allowed)
    values = np.asarray(region.values(image), dtype=np.float64)
    idx = region.indices_kji()
    top = values.max()
    cand = idx[values == top]
    d = grid.ijk_to_ras_points(cand[:, ::-1].astype(float)) - click
    d2 = np.einsum("nx,nx->n", d, d)
    # Equal distances (symmetric neighbours) must tie exactly; candidates are in flat-index order.
    nearest = np.flatnonzero(d2 <= d2.min() * (1 + 1e-12) + 1e-12)[0]
    return tuple(int(v) for v in cand[nearest])


@dataclass(frozen=True)
class Start:
    """Where the growth starts: the search sphere, the click's nearest voxel in it (``anchor_kji``), the voxel the
    ascent from it reached (``peak_kji``, SUV ``suv``) and whether that is a local maximum of the image
    (``reached_maximum``; False when the edge of the search sphere or of the ROI stopped the ascent)."""

    region: RegionMask
    anchor_kji: tuple[int, int, int]
    peak_kji: tuple[int, int, int]
    suv: float
    reached_maximum: bool


def find_start(image, grid: VoxelGrid, click, radius_mm: float, min_peak_suv: float, connectivity: int,
               allowed: RegionMask | None) -> Start:
    """The first peak: the ascent from the click inside the search sphere. Refuses a sphere without uptake (its
    highest SUV below ``min_peak_suv``: a click in air)."""
    region = search_region(image, grid, click, radius_mm, allowed)
    hottest = float(np.asarray(region.values(image), dtype=np.float64).max())
    if hottest < min_peak_suv:
        raise MeasurementError(
            f"no uptake to segment at the click at RAS {_fmt_ras(click)}: the highest SUV within "
            f"{radius_mm:g} mm is {hottest:.3g} (below min_peak_suv {min_peak_suv:g}); click on the lesion"
        )
    peak, reached = climb(image, grid, region, click, connectivity)
    return Start(region, nearest_voxel(grid, region, click), peak, float(image[peak]), reached)


def search_region(image, grid: VoxelGrid, click, radius_mm: float, allowed: RegionMask | None) -> RegionMask:
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
            nonfinite_message(grid, int(np.count_nonzero(~finite)), region.indices_kji()[np.argmin(finite)],
                               f"within {radius_mm:g} mm of the click at RAS {_fmt_ras(click)}")
        )
    return region


def nearest_voxel(grid: VoxelGrid, region: RegionMask, click) -> tuple[int, int, int]:
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
    region = search_region(image, grid, click, radius_mm, allowed)
    return climb(image, grid, region, click, connectivity)[0]


def climb(image, grid, region: RegionMask, click, connectivity: int) -> tuple[tuple[int, int, int], bool]:
    """Steepest ascent inside ``region``; returns the voxel reached and whether it is a local maximum of the
    image (False: the ascent was stopped by the edge of the search sphere or of the ROI)."""
    vals = np.pad(np.where(region.mask, np.asarray(image[region.box], dtype=np.float64), -np.inf), 1,
                  constant_values=-np.inf)
    window = ndimage.generate_binary_structure(3, CONNECTIVITY_RANK[connectivity])
    off = region.offset_kji
    cur = np.asarray(nearest_voxel(grid, region, click)) - off + 1  # index in the padded array
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



def require_focus(image, grid: VoxelGrid, grower: Grower, click, peak0, peak0_value: float,
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
        shell, _ = measure_background(image, grid, box, comp, params.background_gap_mm, params.background_width_mm)
        if shell <= 0 or peak0_value >= kappa * shell:
            return ring
        reason += f" and {peak0_value / shell:.2f} x the median SUV {shell:.2f} around its isocontour"
    else:
        reason += f", and its isocontour spreads over more than {params.max_volume_ml:g} mL"
    raise MeasurementError(
        f"no uptake focus at RAS {_fmt_ras(click)}: {reason}; a focus needs at least {kappa:g} x its surroundings "
        "(focus_contrast); click on the lesion"
    )
