"""The checks on a grown lesion VOI: each one event a reader would act on, returned as a typed warning or None.

The last step of :func:`.isocontour.grow_isocontour` (and, for the SUVpeak sphere, of
:func:`.protocol.measure_lesion`). Each check is one function, tested on its own; the texts live in
:mod:`.voi_warnings`. docs/measurements.md, "Warnings", says why each exists and how often each fires on real
tumours.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..geometry import VoxelGrid
from .lesion_growth import Growth, OtherStructure, level_at
from .lesion_peak import Start
from .regions import RegionMask, sphere_region
from .voi_warnings import VOIWarning

__all__ = ["hotter_structure_excluded", "peak_not_at_click", "hotter_in_search_sphere", "size_limit",
           "touches_border", "roi_cuts", "split_at_saddle", "peak_sphere_hotter"]


def _ras(grid: VoxelGrid, kji) -> np.ndarray:
    return grid.ijk_to_ras_points(np.asarray(kji[::-1], float))


def _distance_mm(grid: VoxelGrid, kji, click) -> float:
    return float(np.linalg.norm(_ras(grid, kji) - click))


def _other(grid, growth: Growth, other: OtherStructure, click) -> dict:
    return {"suv_max": growth.suv_max, "other_suv_max": other.suv_max,
            "other_ras": [float(v) for v in _ras(grid, other.peak_kji)],
            "distance_mm": _distance_mm(grid, other.peak_kji, click),
            "other_volume_ml": other.voxels * grid.voxel_volume_ml, "threshold_suv": growth.threshold_suv}


def hotter_structure_excluded(grid: VoxelGrid, growth: Growth, click, leak_ratio: float) -> VOIWarning | None:
    """The isocontour joined a structure more than ``leak_ratio`` x hotter than the lesion, left out of the VOI."""
    if not growth.excluded:
        return None
    hottest = growth.excluded[0]
    return VOIWarning("hotter_structure_excluded", {**_other(grid, growth, hottest, click),
                                                    "ratio": hottest.suv_max / growth.suv_max,
                                                    "leak_ratio": leak_ratio})


def split_at_saddle(grid: VoxelGrid, growth: Growth, click) -> VOIWarning | None:
    """With the ``split_at_saddle`` option: the VOI was split from other structures at saddles."""
    if not growth.split_from:
        return None
    hottest = max(growth.split_from, key=lambda o: o.suv_max)
    return VOIWarning("split_at_saddle", {**_other(grid, growth, hottest, click), "others": len(growth.split_from)})


def _level(image, grid: VoxelGrid, growth: Growth, kji) -> float:
    """SUV at ``kji`` smoothed among the VOI's voxels (2 mm Gaussian; noise maxima of one lesion level out), or the
    raw SUV when the voxel is not in the VOI."""
    local = tuple(int(v) - s.start for v, s in zip(kji, growth.box))
    if not (all(0 <= v < n for v, n in zip(local, growth.voi.shape)) and growth.voi[local]):
        return float(image[tuple(kji)])
    return level_at(np.asarray(image[growth.box], dtype=np.float64), growth.voi, local, grid.spacing_mm[::-1])


def peak_not_at_click(image, grid: VoxelGrid, growth: Growth, start: Start, click, search_radius_mm: float,
                      peak_move_ratio: float) -> VOIWarning | None:
    """The VOI's SUVmax lies beyond the search sphere, in a structure hotter than the one clicked.

    The clicked structure's level is the smoothed SUV at the maximum the ascent reached, or, when the ascent found
    no maximum within the search sphere (a lesion on the shoulder of a hotter one, with no maximum of its own), at
    the click. Fires when the VOI's peak lies farther than ``search_radius_mm`` from the click and its smoothed SUV
    is at least ``peak_move_ratio`` times that level. A noise maximum of the same lesion does not: both are read on
    the smoothed SUV.
    """
    distance = _distance_mm(grid, growth.peak_kji, click)
    if distance <= search_radius_mm:
        return None
    clicked = _level(image, grid, growth, start.peak_kji if start.reached_maximum else start.anchor_kji)
    ratio = _level(image, grid, growth, growth.peak_kji) / clicked if clicked > 0 else np.inf
    if not ratio >= peak_move_ratio:
        return None
    return VOIWarning("peak_not_at_click", {
        "suv_max": growth.suv_max, "peak_ras": [float(v) for v in _ras(grid, growth.peak_kji)],
        "distance_mm": distance, "clicked_suv": float(image[start.peak_kji if start.reached_maximum
                                                             else start.anchor_kji]),
        "ratio": float(ratio), "reached_maximum": bool(start.reached_maximum), "search_radius_mm": search_radius_mm})


def hotter_in_search_sphere(image, grid: VoxelGrid, growth: Growth, start: Start, click,
                            search_radius_mm: float) -> VOIWarning | None:
    """A voxel hotter than the VOI's SUVmax lies in the search sphere outside the VOI (and is not a structure
    already named by :func:`hotter_structure_excluded` or :func:`split_at_saddle`)."""
    region = start.region
    outside = ~RegionMask(growth.box, growth.voi).mask_in(region.box) & region.mask
    if not outside.any():
        return None
    vals = np.where(outside, np.asarray(image[region.box], dtype=np.float64), -np.inf)
    hot = float(vals.max())
    if not hot > growth.suv_max or any(o.suv_max >= hot for o in growth.excluded + growth.split_from):
        return None
    where = tuple(int(v) for v in np.unravel_index(int(np.argmax(vals)), vals.shape) + region.offset_kji)
    return VOIWarning("hotter_in_search_sphere", {
        "suv_max": growth.suv_max, "other_suv_max": hot, "other_ras": [float(v) for v in _ras(grid, where)],
        "distance_mm": _distance_mm(grid, where, click), "search_radius_mm": search_radius_mm})


def size_limit(grid: VoxelGrid, growth: Growth, max_volume_ml: float) -> VOIWarning | None:
    """The growth passed the size limit (and stopped there)."""
    if not growth.too_big:
        return None
    return VOIWarning("size_limit", {"max_volume_ml": max_volume_ml, "threshold_suv": growth.threshold_suv,
                                     "volume_ml": np.count_nonzero(growth.voi) * grid.voxel_volume_ml})


def touches_border(growth: Growth, shape_kji) -> VOIWarning | None:
    """The VOI reaches the outermost voxel layer of the image: the lesion may continue outside the scan."""
    for axis in range(3):
        if growth.box[axis].start == 0 and growth.voi.take(0, axis=axis).any():
            return VOIWarning("touches_border")
        if growth.box[axis].stop == shape_kji[axis] and growth.voi.take(-1, axis=axis).any():
            return VOIWarning("touches_border")
    return None


def roi_cuts(image, grid: VoxelGrid, growth: Growth, structure, allowed: RegionMask | None) -> VOIWarning | None:
    """Voxels above the threshold, outside the bounding ROI, adjoin the VOI (what the ROI cut off)."""
    if allowed is None:
        return None
    lo = np.maximum(np.array([s.start for s in growth.box]) - 1, 0)
    hi = np.minimum(np.array([s.stop for s in growth.box]) + 1, grid.shape_kji)
    pbox = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    voi = RegionMask(growth.box, growth.voi).mask_in(pbox)
    ring = ndimage.binary_dilation(voi, structure=structure) & ~allowed.mask_in(pbox)
    n = int(np.count_nonzero(ring & (np.asarray(image[pbox], dtype=np.float64) >= growth.threshold_suv)))
    return VOIWarning("roi_cuts", {"voxels": n}) if n else None


def peak_sphere_hotter(image, grid: VoxelGrid, voi: RegionMask, suv_max: float, suv_peak: float, center_kji,
                       radius_mm: float) -> VOIWarning | None:
    """The SUVpeak sphere takes in voxels outside the VOI hotter than its SUVmax (a neighbouring hotter structure
    raises SUVpeak; inside the VOI no voxel exceeds SUVmax)."""
    sphere = sphere_region(grid, _ras(grid, center_kji), radius_mm)
    values = np.asarray(sphere.values(image), dtype=np.float64)
    hot = values > suv_max
    n = int(np.count_nonzero(hot))
    if not n:
        return None
    return VOIWarning("peak_sphere_hotter", {"suv_peak": suv_peak, "suv_max": suv_max, "voxels": n,
                                             "sphere_max": float(values[hot].max()), "radius_mm": radius_mm})
