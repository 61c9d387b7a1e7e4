"""Growing the target-lesion VOI: the isocontour component, regrown until stable, without hotter structures.

Steps of :func:`.isocontour.grow_isocontour` after the peak (docs/measurements.md, "Target-lesion VOI"):

- :class:`Grower`: the connected component of {SUV >= t} holding a seed, in a box that enlarges only where the
  component touches it (the cost does not depend on the scan size);
- :func:`exclude_hotter`: a structure markedly hotter than the lesion (more than ``leak_ratio`` x, the bladder,
  a kidney) that the component joins is left out, along the valley between them;
- :func:`grow_until_stable`: grow, exclude, move the peak to the VOI's hottest voxel and grow again until nothing
  changes (SUVmax is the VOI's own maximum);
- :func:`measure_background`: the A50 background shell around a VOI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..errors import MeasurementError
from ..geometry import VoxelGrid
from .regions import _RADIUS_RTOL, RegionMask, _ball_kernel, _fmt_ras
from .saddle_split import SMOOTH_MM, partition, smoothed

__all__ = ["CONNECTIVITY_RANK", "BackgroundGrowth", "Grower", "Growth", "OtherStructure", "exclude_hotter",
           "first_max", "grow_until_stable", "level_at", "measure_background", "nonfinite_message"]

#: ``scipy.ndimage.generate_binary_structure`` rank of each connectivity (faces; + edges; + corners).
CONNECTIVITY_RANK = {6: 1, 18: 2, 26: 3}

# Half-size of the first growth box around the peak. Large enough for most lesions in one pass; boxes double on
# every side the VOI touches.
_INITIAL_BOX_HALF_MM = 20.0


def nonfinite_message(grid: VoxelGrid, count: int, first_kji, where: str) -> str:
    ras = grid.ijk_to_ras_points(np.asarray(first_kji, float)[::-1])
    return (
        f"{count} non-finite (NaN/inf) voxel{'s' if count != 1 else ''} {where}, e.g. at RAS {_fmt_ras(ras)}; "
        "the image is not usable there (check the reconstruction or resampling)"
    )


class Grower:
    """Connected-component growth of {SUV >= t} from a seed, in a box that enlarges only where needed."""

    def __init__(self, image, grid: VoxelGrid, connectivity: int, max_volume_ml: float, allowed: RegionMask | None):
        self.image = image
        self.grid = grid
        self.allowed = allowed
        self.structure = ndimage.generate_binary_structure(3, CONNECTIVITY_RANK[connectivity])
        self.max_voxels = int(np.floor(max_volume_ml / grid.voxel_volume_ml))
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
            raise MeasurementError(nonfinite_message(self.grid, n, first, "in or next to the lesion VOI"))


def first_max(sub: np.ndarray, mask: np.ndarray, box) -> tuple[float, tuple[int, int, int]]:
    """Highest value in ``mask`` and its voxel in image indices (lowest flat index among ties)."""
    vals = np.where(mask, sub, -np.inf)
    flat = int(np.argmax(vals))  # argmax returns the first occurrence = lowest flat index
    local = np.unravel_index(flat, mask.shape)
    return float(vals[local]), tuple(int(v) + s.start for v, s in zip(local, box))


@dataclass(frozen=True)
class OtherStructure:
    """A structure the isocontour joined to the lesion that is not in the VOI.

    ``suv_max`` its hottest voxel's SUV, ``peak_kji`` that voxel (image indices), ``voxels`` its part of the
    isocontour component.
    """

    suv_max: float
    peak_kji: tuple[int, int, int]
    voxels: int


@dataclass
class Growth:
    """The result of :func:`grow_until_stable`: the VOI over ``box`` and how it was reached."""

    peak_kji: tuple[int, int, int]
    suv_max: float
    threshold_suv: float
    box: tuple[slice, slice, slice]
    voi: np.ndarray
    too_big: bool
    excluded: list[OtherStructure] = field(default_factory=list)  # hotter structures left out (hottest first)
    split_from: list[OtherStructure] = field(default_factory=list)  # split off at saddles (split_at_saddle)


class BackgroundGrowth(Exception):
    """The isocontour has no end and its threshold lies below the local background (raised with the threshold)."""


def level_at(sub, comp, point, spacing_kji) -> float:
    """The SUV at ``point`` smoothed among the component's voxels (:func:`.saddle_split.smoothed`), computed on a
    small window: the same value as on the whole box (the Gaussian is truncated at 2.5 sigma)."""
    reach = np.ceil(2 * 2.5 * SMOOTH_MM / np.asarray(spacing_kji)).astype(int) + 1
    lo = np.maximum(np.asarray(point) - reach, 0)
    hi = np.minimum(np.asarray(point) + reach + 1, comp.shape)
    window = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    level = smoothed(sub[window], comp[window], SMOOTH_MM, spacing_kji)
    return float(level[tuple(np.asarray(point) - lo)])


def exclude_hotter(sub, comp, peak_local, leak_ratio: float, structure, spacing_kji) -> tuple[np.ndarray,
                                                                                               list[OtherStructure]]:
    """The component without the structures markedly hotter than the lesion, and those structures.

    A structure is markedly hotter where the component's SUV, smoothed among its voxels (Gaussian sigma 2 mm:
    a noise spike is no structure), exceeds ``leak_ratio`` times the smoothed SUV at the lesion's peak, and the
    voxel itself does too. Such voxels seed the hotter structures; the lesion's seed is its peak voxel with the
    plateau of exactly equal SUV around it (a painted phantom's lesion). A watershed on -SUV from these seeds gives
    every voxel of the component to the structure that floods it first from above: the hotter structure keeps its
    slope down to the valley between them, the lesion keeps its own. Returns (the lesion's voxels, the hotter structures, hottest first; box indices).
    Without a markedly hotter voxel the component is returned whole (the usual case, at no cost).
    """
    peak_value = float(sub[peak_local])
    top = float(sub[comp].max())
    if not top > peak_value:  # nothing hotter than the lesion's peak (the usual case after the first growth)
        return comp, []
    lesion_level = level_at(sub, comp, peak_local, spacing_kji)
    if not top > leak_ratio * lesion_level:
        return comp, []
    level = smoothed(sub, comp, SMOOTH_MM, spacing_kji)
    hot = comp & (level > leak_ratio * lesion_level) & (sub > leak_ratio * lesion_level)
    if not hot.any():
        return comp, []
    from skimage.segmentation import watershed

    seed = np.zeros(comp.shape, bool)
    seed[peak_local] = True
    seed = ndimage.binary_propagation(seed, structure=structure, mask=comp & (sub == peak_value))
    markers, n_hot = ndimage.label(hot, structure=structure)
    markers[markers > 0] += 1
    markers[seed] = 1
    labels = watershed(np.where(comp, -sub, 0.0), markers, mask=comp, connectivity=structure)
    # One record per hotter structure: its basins, grouped by the hot seeds they grew from.
    others = []
    for lab in range(2, n_hot + 2):
        part = labels == lab
        if not part.any():  # pragma: no cover - a seed always keeps its own voxels
            continue
        value, where = first_max(sub, part, tuple(slice(0, n) for n in comp.shape))
        others.append(OtherStructure(value, where, int(np.count_nonzero(part))))
    others.sort(key=lambda o: -o.suv_max)
    return labels == 1, others


def grow_until_stable(grower: Grower, image, peak, threshold_of: Callable[[float], float], *, leak_ratio: float,
                      split_at_saddle: bool = False, saddle_depth: float = 0.25, anchor_kji=None,
                      background: float | None = None) -> Growth:
    """Grow from ``peak``; leave out markedly hotter structures; move the peak to the VOI's hottest voxel and grow
    again, until stable.

    ``threshold_of(SUVmax)`` gives the threshold. With ``split_at_saddle`` the VOI is further reduced to the part
    of the clicked structure (``anchor_kji``) after :func:`.saddle_split.partition`. Raises
    :class:`BackgroundGrowth` when a growth exceeds the size limit with its threshold below ``background``.
    """
    peak_value = float(image[peak])
    spacing_kji = grower.grid.spacing_mm[::-1]
    for _ in range(1000):
        t = min(threshold_of(peak_value), peak_value)  # never above the seed (f = 1 with rounding)
        box, comp, too_big = grower.grow(peak, t)
        if too_big and background is not None and t < background:
            raise BackgroundGrowth(t)
        sub = np.asarray(image[box], dtype=np.float64)
        lo = np.array([s.start for s in box])
        voi, excluded, split_from = comp, [], []
        if not too_big:
            voi, excluded = exclude_hotter(sub, comp, tuple(np.asarray(peak) - lo), leak_ratio, grower.structure,
                                           spacing_kji)
            if split_at_saddle:
                voi, split_from = _split(sub, voi, grower.structure, peak, anchor_kji, lo, saddle_depth,
                                         leak_ratio, spacing_kji)
        top, where = first_max(sub, voi, box)
        if top > peak_value:
            peak, peak_value = where, top
            continue
        shift = [s.start for s in box]
        return Growth(where, peak_value, float(t), box, voi, too_big,
                      [_shifted(o, shift) for o in excluded], [_shifted(o, shift) for o in split_from])
    raise MeasurementError("isocontour regrowth did not converge")  # pragma: no cover - values strictly increase


def _shifted(other: OtherStructure, shift) -> OtherStructure:
    return OtherStructure(other.suv_max, tuple(int(v) + s for v, s in zip(other.peak_kji, shift)), other.voxels)


def _split(sub, voi, structure, peak, anchor_kji, lo, saddle_depth, leak_ratio, spacing_kji):
    """The ``split_at_saddle`` option: the clicked structure's part of the VOI and the parts split off."""
    anchor = tuple(int(a) - b for a, b in zip(anchor_kji if anchor_kji is not None else peak, lo))
    if not all(0 <= a < n for a, n in zip(anchor, voi.shape)) or not voi[anchor]:
        anchor = tuple(int(a) - b for a, b in zip(peak, lo))
    part = partition(sub, voi, structure, anchor, saddle_depth, leak_ratio, spacing_kji)
    if part is None:
        return voi, []
    return part.own, [OtherStructure(o["suv_max"], tuple(int(v) for v in o["peak"]), o["voxels"])
                      for o in part.others]


def measure_background(image, grid: VoxelGrid, box, comp, gap_mm: float, width_mm: float) -> tuple[float, int]:
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
        raise MeasurementError(nonfinite_message(grid, int(bad.sum()), first, "in the A50 background shell"))
    return float(np.median(values)), int(values.size)


def _dilate_ball(mask: np.ndarray, grid: VoxelGrid, radius_mm: float) -> np.ndarray:
    if radius_mm <= 0:
        return mask.copy()
    return ndimage.binary_dilation(mask, structure=_ball_kernel(grid, radius_mm)[0])
