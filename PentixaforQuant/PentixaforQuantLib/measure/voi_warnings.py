"""Warnings of the target-lesion VOI as typed causes: a code and its numbers; the texts are rendered from them.

Each warning names one checkable event a reader would act on (docs/measurements.md, "Warnings"). Tests assert on
the code and the numbers, never on the prose; ``study.json`` stores the code, the numbers and both texts.

- ``short``: one line for a table cell, a status line or a list item;
- ``detail``: the full sentence with positions and what to do (a tooltip or a click away).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["VOIWarning", "WARNING_CODES", "LEAK_CODES"]


def _ras(v) -> str:
    return "(" + ", ".join(f"{float(x):.1f}" for x in v) + ")"


def _hotter_structure_excluded(v) -> tuple[str, str]:
    short = (f"a {v['ratio']:.1f}x hotter structure (SUVmax {v['other_suv_max']:.1f}, {v['distance_mm']:.0f} mm "
             "from the click) joins the isocontour; left out of the VOI")
    detail = (f"the isocontour (SUV >= {v['threshold_suv']:.2f}) joins the lesion (SUVmax {v['suv_max']:.1f}) to a "
              f"structure {v['ratio']:.1f} x hotter (SUVmax {v['other_suv_max']:.1f} at RAS {_ras(v['other_ras'])}, "
              f"{v['distance_mm']:.0f} mm from the click, {v['other_volume_ml']:.1f} mL of the isocontour), more than "
              f"leak_ratio {v['leak_ratio']:g} x the lesion: the VOI stops at the valley between them; check the VOI "
              "on that side, or confine it with a bounding ROI. If it is the hotter part of the same lesion, click "
              "there: the click was on a part less than half as hot")
    return short, detail


def _peak_not_at_click(v) -> tuple[str, str]:
    short = (f"SUVmax {v['suv_max']:.1f} lies {v['distance_mm']:.0f} mm from the click, in a structure hotter "
             f"than the clicked one (SUV {v['clicked_suv']:.1f})")
    why = ("no local maximum lies within the search radius of the click, and the ascent from it leads there"
           if not v["reached_maximum"] else
           f"the clicked structure's maximum (SUV {v['clicked_suv']:.1f}) is joined by the isocontour to it")
    detail = (f"the VOI's SUVmax {v['suv_max']:.1f} lies at RAS {_ras(v['peak_ras'])}, {v['distance_mm']:.0f} mm "
              f"from the click (beyond the {v['search_radius_mm']:g} mm search radius), {v['ratio']:.2f} x the "
              f"clicked structure's level: {why}. The clicked lesion may sit on the shoulder of a hotter organ or "
              "lesion, or be a dimmer part of a larger one; check the VOI, or confine it with a bounding ROI")
    return short, detail


def _hotter_in_search_sphere(v) -> tuple[str, str]:
    short = (f"a hotter structure (SUVmax {v['other_suv_max']:.1f}) lies {v['distance_mm']:.0f} mm from the click, "
             "outside the VOI")
    detail = (f"a hotter structure lies within the {v['search_radius_mm']:g} mm search radius: SUVmax "
              f"{v['other_suv_max']:.1f} at RAS {_ras(v['other_ras'])}, {v['distance_mm']:.0f} mm from the click; the "
              f"VOI is the structure under the click (SUVmax {v['suv_max']:.1f})")
    return short, detail


def _peak_sphere_hotter(v) -> tuple[str, str]:
    short = (f"the SUVpeak sphere takes in {v['voxels']} voxel{'s' if v['voxels'] != 1 else ''} hotter than SUVmax "
             f"(up to {v['sphere_max']:.1f})")
    detail = (f"the {v['radius_mm']:g} mm SUVpeak sphere (SUVpeak {v['suv_peak']:.2f}) takes in {v['voxels']} voxel"
              f"{'s' if v['voxels'] != 1 else ''} outside the VOI hotter than its SUVmax {v['suv_max']:.2f} (up to "
              f"SUV {v['sphere_max']:.2f}), from a neighbouring hotter structure: SUVpeak is raised by it; prefer "
              "SUVmax, or report it with this caveat")
    return short, detail


def _size_limit(v) -> tuple[str, str]:
    short = f"VOI reached the {v['max_volume_ml']:g} mL size limit"
    detail = (f"VOI exceeds the {v['max_volume_ml']:g} mL size limit (growth stopped at {v['volume_ml']:.0f} mL); "
              f"the threshold SUV {v['threshold_suv']:.2f} is below the surrounding uptake: place a bounding ROI or "
              "raise the threshold")
    return short, detail


def _touches_border(v) -> tuple[str, str]:
    return ("VOI touches the image border",
            "VOI touches the image border: the lesion may continue outside the scanned field, so its volume and "
            "SUVmean may be underestimated")


def _roi_cuts(v) -> tuple[str, str]:
    n = v["voxels"]
    return (f"the bounding ROI cuts the VOI ({n} voxel{'s' if n != 1 else ''} above the threshold outside)",
            f"the bounding ROI cuts the VOI: {n} voxel{'s' if n != 1 else ''} above the threshold "
            f"adjoin{'s' if n == 1 else ''} it outside the ROI")


def _split_at_saddle(v) -> tuple[str, str]:
    n = v["others"]
    short = (f"split at a saddle from {n} other structure{'s' if n != 1 else ''} (split_at_saddle; hottest SUVmax "
             f"{v['other_suv_max']:.1f})")
    detail = (f"the isocontour (SUV >= {v['threshold_suv']:.2f}) joins the clicked lesion (SUVmax "
              f"{v['suv_max']:.1f}) to {n} other structure{'s' if n != 1 else ''} (hottest: SUVmax "
              f"{v['other_suv_max']:.1f} at RAS {_ras(v['other_ras'])}, {v['distance_mm']:.0f} mm from the click, "
              f"{v['other_volume_ml']:.1f} mL); with split_at_saddle the VOI is the clicked lesion's part, split at "
              "the saddle: check it, or confine the growth with a bounding ROI")
    return short, detail


#: Every code, with the function that renders (short, detail) from the numbers.
WARNING_CODES = {
    "hotter_structure_excluded": _hotter_structure_excluded,
    "peak_not_at_click": _peak_not_at_click,
    "hotter_in_search_sphere": _hotter_in_search_sphere,
    "peak_sphere_hotter": _peak_sphere_hotter,
    "size_limit": _size_limit,
    "touches_border": _touches_border,
    "roi_cuts": _roi_cuts,
    "split_at_saddle": _split_at_saddle,
}

#: Codes meaning that the isocontour reached beyond the clicked lesion (``IsocontourVOI.leaked``).
LEAK_CODES = frozenset({"hotter_structure_excluded", "peak_not_at_click", "size_limit", "split_at_saddle"})


@dataclass(frozen=True)
class VOIWarning:
    """One cause to check a lesion VOI: ``code`` (a key of :data:`WARNING_CODES`) and its numbers (``values``:
    plain floats, ints, bools and RAS triples, in the units their names say)."""

    code: str
    values: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in WARNING_CODES:
            raise ValueError(f"unknown VOI warning code {self.code!r}")

    @property
    def short(self) -> str:
        """One line: what happened, with its main number."""
        return WARNING_CODES[self.code](self.values)[0]

    @property
    def detail(self) -> str:
        """The full sentence: numbers, positions (RAS mm) and what to do."""
        return WARNING_CODES[self.code](self.values)[1]

    def __str__(self) -> str:
        return self.short

    def to_dict(self) -> dict:
        """For ``study.json``: the code, the numbers and both texts."""
        values = {k: ([float(x) for x in v] if isinstance(v, (list, tuple)) else v) for k, v in self.values.items()}
        return {"code": self.code, "values": values, "short": self.short, "detail": self.detail}
