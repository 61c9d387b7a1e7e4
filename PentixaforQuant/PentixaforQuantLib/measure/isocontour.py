"""The target-lesion isocontour VOI grown from a click: its parameters, its result, and the four steps.

The VOI is the published one (Buck et al., J Nucl Med 2022: "three-dimensional volumes of interest applying
an isocontour threshold of 40 % were placed on the TL"; 41 % and A50 variants after Boellaard et al., EJNMMI
2010;37:181 and 2015;42:328): the connected component of {SUV >= 0.40 x SUVmax} holding the lesion's peak, SUVmax
being the VOI's own maximum. :func:`grow_isocontour` runs four named steps, each in its own module:

1. peak (:mod:`.lesion_peak`): the local maximum reached from the click; a click on background is refused;
2. component (:mod:`.lesion_growth`): the isocontour component, regrown until stable;
3. exclusion of hotter structures (:func:`.lesion_growth.exclude_hotter`): a structure more than ``leak_ratio``
   times hotter than the lesion (the bladder, a kidney) is never taken in;
4. checks (:mod:`.lesion_checks`): typed warnings (:mod:`.voi_warnings`), each one event a reader would act on.

Regions are :class:`.regions.RegionMask` objects over boxes of the image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import MeasurementError
from .parameter_ranges import check_choice, check_value
from ..geometry import VoxelGrid
from . import lesion_checks as checks
from .lesion_growth import (
    BackgroundGrowth, Grower, Growth, OtherStructure, grow_until_stable, measure_background,
)
from .lesion_peak import Start, climb_to_peak, find_peak, find_start, require_focus
from .regions import RegionMask, _check_image, _cropped, _fmt_ras, _point
from .voi_warnings import LEAK_CODES, VOIWarning

__all__ = ["IsocontourParameters", "IsocontourVOI", "OtherStructure", "climb_to_peak", "find_peak",
           "grow_isocontour"]

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
        The ascent from the click to the first peak stays within this distance of the click.
    max_volume_ml : float
        Size limit: a VOI larger than this is flagged (and its growth stops there).
    leak_ratio : float
        A structure more than ``leak_ratio`` times hotter than the lesion (smoothed SUV, see
        :func:`.lesion_growth.exclude_hotter`) is never taken into the VOI: the bladder or a kidney joined by the
        isocontour is left out along the valley between them, with a warning.
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
        An explicit option, not the published method (default False): the VOI is only the clicked structure's
        part of the isocontour, split from the rest at saddles deeper than ``saddle_depth``
        (:func:`.saddle_split.partition`). Recorded with the result and flagged when it splits.
    saddle_depth : float
        With ``split_at_saddle``: two parts are separate structures when the lower one's peak stands at least this
        fraction above the saddle joining them (or when every contact between two plateaus is a step).
    peak_move_ratio : float
        The VOI's peak lies in another structure than the one clicked when it is farther than
        ``search_radius_mm`` from the click and its smoothed SUV is at least this many times the clicked
        structure's (warning ``peak_not_at_click``).
    focus_contrast : float
        A click must reach an uptake focus: a local maximum at least this many times the local background
        (median SUV ``focus_ring_inner_mm`` to ``focus_ring_outer_mm`` from it, or, if that ring lies in the
        lesion, of the A50 shell around the VOI). Otherwise the site is refused ("no uptake focus").
    focus_ring_inner_mm, focus_ring_outer_mm : float
        The ring around the peak whose median SUV is the local background of the focus rule.
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
    split_at_saddle: bool = False
    saddle_depth: float = 0.25
    peak_move_ratio: float = 1.6
    focus_contrast: float = 1.5
    focus_ring_inner_mm: float = 15.0
    focus_ring_outer_mm: float = 25.0

    def __post_init__(self) -> None:
        def bad(name, why):
            raise MeasurementError(f"isocontour parameter {name} = {getattr(self, name)!r}: {why}")

        for name in ("threshold_fraction", "search_radius_mm", "max_volume_ml", "background_suv"):
            if name != "background_suv" or self.background_suv is not None:  # the protocol's stated ranges
                check_value(f"isocontour.{name}", getattr(self, name))
        for name in ("method", "connectivity"):  # the choices of the table of inputs, as ProtocolParameters'
            check_choice(f"isocontour.{name}", getattr(self, name))
        for name in ("search_radius_mm", "max_volume_ml", "background_width_mm"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                bad(name, "must be a positive number")
        if not (np.isfinite(self.background_gap_mm) and self.background_gap_mm >= 0):
            bad("background_gap_mm", "must be zero or positive")
        for name in ("leak_ratio", "peak_move_ratio"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) >= 1):
                bad(name, "must be at least 1")
        if not np.isfinite(self.min_peak_suv):
            bad("min_peak_suv", "must be a finite number")
        if self.background_suv is not None and not np.isfinite(self.background_suv):
            bad("background_suv", "must be a finite number or None")
        if not isinstance(self.split_at_saddle, (bool, np.bool_)):
            bad("split_at_saddle", "must be True or False")
        if not (np.isfinite(self.saddle_depth) and 0 < self.saddle_depth < 1):
            bad("saddle_depth", "must be in (0, 1)")
        if not (np.isfinite(self.focus_contrast) and self.focus_contrast >= 1):
            bad("focus_contrast", "must be at least 1")
        if not (np.isfinite(self.focus_ring_inner_mm) and 0 <= self.focus_ring_inner_mm < self.focus_ring_outer_mm
                and np.isfinite(self.focus_ring_outer_mm)):
            bad("focus_ring_outer_mm", "the focus ring needs 0 <= inner < outer (mm)")

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
    warnings : list of VOIWarning
        Typed causes to check the VOI (code and numbers; ``str(w)`` is its one-line text, ``w.detail`` the full one).
    growth_box : tuple of slices
        The image box examined by the final growth (shows that the work stayed near the lesion).
    initial_peak_kji : tuple of int
        The voxel the ascent from the click reached, before any regrowth.
    background_voxels : int
        Number of shell voxels the background was measured on (0 if given or ``fixed``).
    neighbours : list of OtherStructure
        Structures the isocontour joined to the lesion that are not in the VOI, hottest first: markedly hotter
        structures left out, and, with ``split_at_saddle``, the parts split off.
    split : bool
        The VOI was split from other structures at a saddle (only with ``split_at_saddle``).
    """

    region: RegionMask
    peak_kji: tuple[int, int, int]
    suv_max: float
    threshold_suv: float
    background_suv: float | None
    iterations: int
    warnings: list[VOIWarning] = field(default_factory=list)
    growth_box: tuple[slice, slice, slice] | None = None
    initial_peak_kji: tuple[int, int, int] | None = None
    background_voxels: int = 0
    neighbours: list[OtherStructure] = field(default_factory=list)
    split: bool = False

    @property
    def codes(self) -> list[str]:
        """The warnings' codes, in order."""
        return [w.code for w in self.warnings]

    @property
    def touches_border(self) -> bool:
        """The VOI reaches the outermost voxel layer of the image (the lesion may continue outside the scan)."""
        return "touches_border" in self.codes

    @property
    def leaked(self) -> bool:
        """The isocontour reached beyond the clicked lesion: a hotter structure left out, the peak in another
        structure, the size limit, or a split at a saddle."""
        return any(c in LEAK_CODES for c in self.codes)


def grow_isocontour(
    image: np.ndarray,
    grid: VoxelGrid,
    click_ras,
    params: IsocontourParameters = IsocontourParameters(),
    allowed: RegionMask | None = None,
) -> IsocontourVOI:
    """The target-lesion isocontour VOI grown from a click (docs/measurements.md).

    Parameters
    ----------
    image : (k, j, i) array
        SUV image (any float dtype; thresholds are compared in float64).
    grid : VoxelGrid
        Its geometry.
    click_ras : (3,) array_like
        The clicked point, RAS mm.
    params : IsocontourParameters
        Threshold, method, connectivity, search radius and the guards.
    allowed : RegionMask, optional
        A bounding ROI that confines the peak search and the growth.

    Returns
    -------
    IsocontourVOI
        The VOI, with its typed warnings (:mod:`.voi_warnings`).

    Raises
    ------
    MeasurementError
        Click outside the image (names the point and the image extent); non-finite voxels in the search sphere
        or in/next to the VOI (names how many and where); no uptake: the highest SUV within the search radius is
        below ``min_peak_suv``; no uptake focus at the click (focus rule, names the click's RAS); A50 without
        contrast (BG >= SUVmax).

    Notes
    -----
    Definition (Buck et al., J Nucl Med 2022; EANM: Boellaard et al., EJNMMI 2015;42:328; docs/
    measurements.md "Target-lesion VOI"):

    1. Peak: the local maximum reached by steepest ascent from the click within ``search_radius_mm`` (inside
       ``allowed``). It must be an uptake focus (``focus_contrast``).
    2. Component: the connected component (``connectivity``) holding the peak of {SUV >= t}, t = f * SUVmax
       (``fixed``) or BG + f * (SUVmax - BG) (``a50``), SUVmax = SUV of the peak.
    3. Exclusion: a structure more than ``leak_ratio`` x hotter than the lesion is left out, along the valley.
    4. Regrowth: if the VOI holds a voxel hotter than the peak, the peak moves there (lowest flat index among ties)
       and steps 2-3 repeat until stable. The same VOI and peak come out wherever in the lesion the click lands.
       No hole filling: voxels below t inside the lesion stay out.
    """
    image = _check_image(image, grid)
    click = _point(click_ras, "click")
    start = find_start(image, grid, click, params.search_radius_mm, params.min_peak_suv, params.connectivity,
                       allowed)
    grower = Grower(image, grid, params.connectivity, params.max_volume_ml, allowed)
    ring = require_focus(image, grid, grower, click, start.peak_kji, start.suv, params)
    try:
        growth, background, bg_voxels = _grow(image, grid, grower, start, click, params, ring)
    except BackgroundGrowth as exc:  # the threshold lies below the surroundings and the growth has no end
        raise MeasurementError(
            f"no uptake focus at RAS {_fmt_ras(click)}: the isocontour threshold SUV {exc.args[0]:.2f} of the local "
            f"maximum reached from it (SUV {start.suv:.2f}) lies below the median SUV {ring:.2f} at "
            f"{params.focus_ring_inner_mm:g}-{params.focus_ring_outer_mm:g} mm around it and the isocontour spreads "
            f"over more than {params.max_volume_ml:g} mL; click on the lesion"
        ) from None
    return IsocontourVOI(
        region=_cropped(growth.box, growth.voi),
        peak_kji=tuple(int(v) for v in growth.peak_kji),
        suv_max=float(growth.suv_max),
        threshold_suv=float(growth.threshold_suv),
        background_suv=background,
        iterations=grower.growths,
        warnings=_checks(image, grid, growth, start, click, params, grower, allowed),
        growth_box=growth.box,
        initial_peak_kji=tuple(int(v) for v in start.peak_kji),
        background_voxels=bg_voxels,
        neighbours=sorted(growth.excluded + growth.split_from, key=lambda o: -o.suv_max),
        split=bool(growth.split_from),
    )


def _grow(image, grid, grower: Grower, start: Start, click, params: IsocontourParameters, ring):
    """Steps 2-4 for the chosen method: (growth, background SUV or None, background voxels)."""
    f = params.threshold_fraction
    common = dict(leak_ratio=params.leak_ratio, split_at_saddle=params.split_at_saddle,
                  saddle_depth=params.saddle_depth, anchor_kji=start.anchor_kji)
    if params.method == "fixed":
        return grow_until_stable(grower, image, start.peak_kji, lambda v: f * v, background=ring, **common), None, 0
    if params.background_suv is not None:
        bg = float(params.background_suv)
        _require_contrast(bg, start.suv, click)
        return grow_until_stable(grower, image, start.peak_kji, lambda v: bg + f * (v - bg), background=ring,
                                 **common), bg, 0
    # A50 with measured background: the background shell lies around the fixed-threshold VOI from the same peak;
    # if the A50 VOI then moves the peak, the background is measured again around the new peak.
    peak = start.peak_kji
    for _ in range(100):
        reference = grow_until_stable(grower, image, peak, lambda v: f * v, **common)
        bg, bg_voxels = measure_background(image, grid, reference.box, reference.voi, params.background_gap_mm,
                                           params.background_width_mm)
        _require_contrast(bg, reference.suv_max, click)
        growth = grow_until_stable(grower, image, reference.peak_kji, lambda v, b=bg: b + f * (v - b),
                                   background=ring, **common)
        if growth.suv_max <= reference.suv_max:
            return growth, bg, bg_voxels
        peak = growth.peak_kji
    raise MeasurementError("A50 background iteration did not converge")  # pragma: no cover - SUVmax increases


def _checks(image, grid, growth: Growth, start: Start, click, params: IsocontourParameters, grower: Grower,
            allowed) -> list[VOIWarning]:
    """Step 4: every check, in the order a reader should read them."""
    found = [
        checks.hotter_structure_excluded(grid, growth, click, params.leak_ratio),
        checks.split_at_saddle(grid, growth, click),
        checks.peak_not_at_click(image, grid, growth, start, click, params.search_radius_mm,
                                 params.peak_move_ratio),
        checks.hotter_in_search_sphere(image, grid, growth, start, click, params.search_radius_mm),
        checks.size_limit(grid, growth, params.max_volume_ml),
        checks.touches_border(growth, grid.shape_kji),
        checks.roi_cuts(image, grid, growth, grower.structure, allowed),
    ]
    return [w for w in found if w is not None]


def _require_contrast(background: float, peak_value: float, click) -> None:
    if not background < peak_value:
        raise MeasurementError(
            f"A50 needs a lesion hotter than its background: background SUV {background:.3g} >= peak SUV "
            f"{peak_value:.3g} near the click at RAS {_fmt_ras(click)}"
        )
