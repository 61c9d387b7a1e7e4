"""Volumes of interest: the names of :mod:`.regions` and :mod:`.isocontour` in one place.

Kept so that ``from PentixaforQuantLib.measure.voi import ...`` keeps working; new code imports from
:mod:`.regions` (region masks, spheres, boxes) or :mod:`.isocontour` (the target-lesion VOI).
"""

from .isocontour import IsocontourParameters, IsocontourVOI, climb_to_peak, find_peak, grow_isocontour
from .regions import RegionMask, box_region, image_extent_ras, sphere_region

__all__ = [
    "RegionMask",
    "sphere_region",
    "box_region",
    "IsocontourParameters",
    "IsocontourVOI",
    "find_peak",
    "climb_to_peak",
    "grow_isocontour",
    "image_extent_ras",
]
