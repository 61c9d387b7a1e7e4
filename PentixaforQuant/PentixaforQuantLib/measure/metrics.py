"""Numbers measured on a VOI: SUVmax, SUVmean, SD, SUVmin, volume, TLA and SUVpeak.

Definitions follow docs/measurements.md and the IBSI reference manual (intensity features "local intensity peak"
and "global intensity peak"); SUVpeak as in PERCIST (Wahl et al., J Nucl Med 2009;50:122S; O et al., Practical PERCIST,
Radiology 2016;280:576): the mean SUV in a 1 mL sphere placed where it is highest, not necessarily on SUVmax.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from ..errors import MeasurementError
from ..geometry import VoxelGrid
from .regions import RegionMask, _ball_kernel, _check_image, _fmt_ras

__all__ = [
    "ONE_ML_SPHERE_RADIUS_MM",
    "RegionStatistics",
    "PeakResult",
    "region_statistics",
    "suv_peak",
]

#: Radius of a sphere of 1 mL: (3 / (4 pi))^(1/3) cm = 6.20350 mm (rounded to 6.2035 mm here; the voxel
#: count of the ball is the same for all common grids).
ONE_ML_SPHERE_RADIUS_MM = 6.2035

_VARIANTS = ("global", "local")


@dataclass
class RegionStatistics:
    """First-order SUV statistics of a VOI.

    Attributes
    ----------
    suv_max, suv_mean, suv_min : float
        Maximum, arithmetic mean and minimum of the voxel values (mean accumulated in float64).
    suv_sd : float
        Population standard deviation (ddof = 0: divides by the number of voxels), as the QIBA DRO and the IBSI
        reference manual use for the VOI's "SD".
    voxels : int
        Number of voxels in the VOI.
    volume_ml : float
        ``voxels x voxel volume`` in mL (no partial voxels).
    tla : float
        Total lesion activity = SUVmean x volume (g, as SUV [g/mL] x mL), also called TLG for FDG.
    peak_kji : tuple of int
        ``(k, j, i)`` of the maximum voxel (ties: lowest flat index).
    """

    suv_max: float
    suv_mean: float
    suv_sd: float
    suv_min: float
    voxels: int
    volume_ml: float
    tla: float
    peak_kji: tuple[int, int, int]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PeakResult:
    """SUVpeak of a VOI.

    Attributes
    ----------
    suv_peak : float
        Mean SUV of the image voxels whose centres lie within ``radius_mm`` of ``center_kji``.
    center_kji : tuple of int
        The voxel the sphere is centred on (a VOI voxel).
    voxels_in_sphere : int
        Voxels averaged (fewer than the full ball when the sphere is cut by the image border).
    variant : {"global", "local"}
        How the centre was chosen.
    radius_mm : float
        Sphere radius.
    """

    suv_peak: float
    center_kji: tuple[int, int, int]
    voxels_in_sphere: int
    variant: str
    radius_mm: float

    def to_dict(self) -> dict:
        return asdict(self)


def _region_values(image: np.ndarray, grid: VoxelGrid, region: RegionMask, what: str) -> np.ndarray:
    image = _check_image(image, grid)
    if region.voxel_count == 0:
        raise MeasurementError(f"the {what} VOI is empty")
    values = np.asarray(region.values(image), dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        first = region.indices_kji()[np.argmin(finite)]
        ras = grid.ijk_to_ras_points(first[::-1].astype(float))
        raise MeasurementError(
            f"{np.count_nonzero(~finite)} of {values.size} voxels of the {what} VOI are not finite (NaN/inf), e.g. "
            f"at RAS {_fmt_ras(ras)}"
        )
    return values


def region_statistics(image: np.ndarray, grid: VoxelGrid, region: RegionMask) -> RegionStatistics:
    """SUVmax, SUVmean, SD (population), SUVmin, voxel count, volume and TLA of a VOI (docs/measurements.md).

    Parameters
    ----------
    image : (k, j, i) array
        SUV image.
    grid : VoxelGrid
        Its geometry (voxel volume).
    region : RegionMask
        The VOI.

    Raises
    ------
    MeasurementError
        Empty VOI, or non-finite voxels in it (how many and where).
    """
    values = _region_values(image, grid, region, "measured")
    top = int(np.argmax(values))  # first occurrence = lowest flat index
    mean = float(values.mean())
    volume_ml = values.size * grid.voxel_volume_ml
    return RegionStatistics(
        suv_max=float(values[top]),
        suv_mean=mean,
        suv_sd=float(values.std(ddof=0)),
        suv_min=float(values.min()),
        voxels=int(values.size),
        volume_ml=float(volume_ml),
        tla=float(mean * volume_ml),
        peak_kji=tuple(int(v) for v in region.indices_kji()[top]),
    )


def suv_peak(
    image: np.ndarray,
    grid: VoxelGrid,
    region: RegionMask,
    *,
    variant: str = "global",
    radius_mm: float = ONE_ML_SPHERE_RADIUS_MM,
) -> PeakResult:
    """SUVpeak: the mean SUV in a sphere centred on a VOI voxel (docs/measurements.md; IBSI intensity peak).

    Parameters
    ----------
    image : (k, j, i) array
        SUV image.
    grid : VoxelGrid
        Its geometry (the sphere uses physical distances).
    region : RegionMask
        The VOI; its voxels are the candidate sphere centres.
    variant : {"global", "local"}
        How the centre is chosen (see Notes).
    radius_mm : float
        6.2035 mm (1 mL sphere, default) or 6.0 mm (1.2 cm diameter).

    Returns
    -------
    PeakResult

    Raises
    ------
    MeasurementError
        Empty VOI; non-finite voxels in the VOI or inside an averaging sphere (how many and where).

    Notes
    -----
    For a centre voxel c, ``mean_r(c)`` = mean of all **image** voxels whose centres lie within ``radius_mm`` of
    c's centre (physical distance; the centre voxel included). The averaged voxels are not restricted to the VOI;
    only the centres are.

    - ``"global"`` (default; PERCIST SULpeak, IBSI "global intensity peak"): the highest ``mean_r(c)`` over all
      voxels c of the VOI. The sphere need not contain the SUVmax voxel. Ties: lowest flat index.
    - ``"local"`` (IBSI "local intensity peak"): ``mean_r(c)`` with c the SUVmax voxel of the VOI; if several
      voxels share the maximum, the highest of their means.

    A VOI smaller than the sphere, even a single voxel, still gets a value (the sphere reaches outside the VOI).
    Near the image border the mean is taken over the voxels that exist (``voxels_in_sphere`` is then smaller than
    the full ball).

    Computed on the VOI's box padded by the ball (a correlation of the values and of a ones array with the ball
    kernel), so the cost depends on the VOI size, not on the image size.
    """
    if variant not in _VARIANTS:
        raise MeasurementError(f"SUVpeak variant must be 'global' or 'local', not {variant!r}")
    if not (np.isfinite(radius_mm) and radius_mm > 0):
        raise MeasurementError(f"SUVpeak radius must be a positive number of mm, not {radius_mm!r}")
    values = _region_values(image, grid, region, "SUVpeak")
    image = np.asarray(image)
    kernel, half = _ball_kernel(grid, radius_mm)

    if variant == "local":
        centres = region.indices_kji()[values == values.max()]
    else:
        centres = region.indices_kji()

    # Padded box: every voxel a sphere can reach, clipped to the image.
    reach_lo, reach_hi = centres.min(axis=0) - half, centres.max(axis=0) + half + 1
    lo = np.maximum(reach_lo, 0)
    hi = np.minimum(reach_hi, grid.shape_kji)
    pbox = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    sub = np.asarray(image[pbox], dtype=np.float64)
    at = tuple((centres - lo).T)
    finite = np.isfinite(sub)
    if not finite.all():
        seeds = np.zeros(sub.shape, dtype=bool)
        seeds[at] = True
        reach = ndimage.binary_dilation(seeds, structure=kernel)  # the ball is point-symmetric
        bad = reach & ~finite
        if bad.any():
            first = np.argwhere(bad)[0] + lo
            ras = grid.ijk_to_ras_points(first[::-1].astype(float))
            n = int(np.count_nonzero(bad))
            raise MeasurementError(
                f"{n} non-finite (NaN/inf) {'voxel lies' if n == 1 else 'voxels lie'} within the {radius_mm:g} mm "
                f"SUVpeak sphere, e.g. at RAS {_fmt_ras(ras)}"
            )
        sub = np.where(finite, sub, 0.0)

    weights = kernel.astype(np.float64)
    if len(centres) <= 8:
        # Few centres (local variant, tiny VOI): sum the ball directly rather than correlating the whole box.
        sums, counts = _ball_sums_at(sub, kernel, half, centres - lo)
    else:
        sums = ndimage.correlate(sub, weights, mode="constant", cval=0.0)[at]
        if np.array_equal(lo, reach_lo) and np.array_equal(hi, reach_hi):
            counts = np.full(len(centres), float(np.count_nonzero(kernel)))  # no sphere reaches the border
        else:  # counts differ from the full ball only where the box was clipped by the image border
            counts = ndimage.correlate(np.ones(sub.shape), weights, mode="constant", cval=0.0)[at]
    counts = np.rint(counts).astype(np.int64)
    means = sums / counts
    best = int(np.argmax(means))  # centres are in flat-index order: first maximum = lowest flat index
    return PeakResult(
        suv_peak=float(means[best]),
        center_kji=tuple(int(v) for v in centres[best]),
        voxels_in_sphere=int(counts[best]),
        variant=variant,
        radius_mm=float(radius_mm),
    )


def _ball_sums_at(sub: np.ndarray, kernel: np.ndarray, half: np.ndarray, centres: np.ndarray):
    """Sum and count of the voxels of ``sub`` under the ball kernel centred at each of ``centres`` (local index)."""
    off = np.argwhere(kernel) - half
    sums = np.empty(len(centres))
    counts = np.empty(len(centres))
    for n, c in enumerate(centres):
        p = off + c
        ok = np.all((p >= 0) & (p < sub.shape), axis=1)
        sums[n] = sub[tuple(p[ok].T)].sum()
        counts[n] = ok.sum()
    return sums, counts
