"""SUV statistics of any segment: the numerical core of the Segment Statistics plugin.

The same definitions as the protocol (:mod:`.metrics`), on a segment given as a boolean mask on the PET grid rather
than on a VOI the protocol grew: SUVmax, SUVmean, SD (population), volume, and SUVpeak as docs/measurements.md defines
it (the highest mean of the image voxels whose centres lie within r = 6.2035 mm of a segment voxel; the averaged voxels
are not restricted to the segment, so a segment smaller than 1 mL, even one voxel, still has a value).
"""

from __future__ import annotations

import numpy as np

from ..errors import MeasurementError
from ..geometry import VoxelGrid
from .metrics import ONE_ML_SPHERE_RADIUS_MM, region_statistics, suv_peak
from .regions import RegionMask

__all__ = ["SEGMENT_STATISTIC_KEYS", "suv_units_problem", "segment_suv_statistics"]

#: Keys of :func:`segment_suv_statistics`, in the order the plugin lists them.
SEGMENT_STATISTIC_KEYS = ("suv_peak", "suv_max", "suv_mean", "suv_sd", "volume_ml")


def suv_units_problem(units: str | None) -> str | None:
    """Why a volume with these voxel value units cannot give SUV statistics, or None when it can.

    SUV units are UCUM codes such as ``{SUVbw}g/ml`` (what Slicer's PET DICOM plugin and this module set).
    """
    if not units:
        return "the volume has no voxel value units: it is not known to be in SUV (load PET with PentixaforQuant " \
               "or Slicer's PET DICOM plugin)"
    if not str(units).startswith("{SUV"):
        return f"the volume's voxel value units are {units!r}, not SUV (e.g. {{SUVbw}}g/ml)"
    return None


def segment_suv_statistics(
    image: np.ndarray,
    grid: VoxelGrid,
    mask_kji: np.ndarray,
    units: str | None,
    *,
    peak_radius_mm: float = ONE_ML_SPHERE_RADIUS_MM,
    peak_variant: str = "global",
) -> dict[str, float]:
    """SUVpeak, SUVmax, SUVmean, SD and volume (mL) of a segment.

    Parameters
    ----------
    image : (k, j, i) array
        The SUV image.
    grid : VoxelGrid
        Its geometry.
    mask_kji : (k, j, i) bool array
        The segment on the image grid (e.g. Slicer's ``arrayFromSegmentBinaryLabelmap`` on the PET volume).
    units : str or None
        Voxel value units of the image; anything but SUV is refused.
    peak_radius_mm, peak_variant
        SUVpeak sphere radius and centring (see :func:`.metrics.suv_peak`).

    Returns
    -------
    dict
        One value per key of :data:`SEGMENT_STATISTIC_KEYS`.

    Raises
    ------
    MeasurementError
        Not an SUV image (says why), mask not on the image grid, empty segment, non-finite voxels.
    """
    problem = suv_units_problem(units)
    if problem:
        raise MeasurementError(f"SUV statistics not computed: {problem}")
    mask = np.asarray(mask_kji)
    if mask.shape != tuple(grid.shape_kji):
        raise MeasurementError(f"segment mask shape {mask.shape} is not the PET grid {tuple(grid.shape_kji)}")
    if not mask.any():
        raise MeasurementError("the segment is empty on the PET grid")
    region = RegionMask.from_full_mask(mask != 0)
    stats = region_statistics(image, grid, region)
    peak = suv_peak(image, grid, region, variant=peak_variant, radius_mm=peak_radius_mm)
    return {
        "suv_peak": peak.suv_peak,
        "suv_max": stats.suv_max,
        "suv_mean": stats.suv_mean,
        "suv_sd": stats.suv_sd,
        "volume_ml": stats.volume_ml,
    }
