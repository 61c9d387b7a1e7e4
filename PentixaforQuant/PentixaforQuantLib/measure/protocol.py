"""The Pentixafor measurement protocol on an SUV image: target lesion, blood pool, TBR and marrow template.

Pure numerics (arrays and voxel geometry); the MRML Logic and the command line both call :func:`run_protocol`.
Definitions (docs/measurements.md):

- target lesion: isocontour VOI (:func:`isocontour.grow_isocontour`) with SUVmax, SUVmean, SD, SUVpeak, volume, TLA;
- blood pool: a sphere (15 mm diameter) in the aortic arch lumen, SUVmean (Buck et al., J Nucl Med 2022);
- TBR = SUVmax(target lesion) / SUVmean(blood pool);
- marrow: a sphere (15 mm diameter) at each of C7, T12, L5, right and left ilium, SUVmax per site,
  meanSUVmax = mean of the site SUVmax (Herhaus et al., Haematologica 2016).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..errors import MeasurementError, PentixaforQuantError
from ..geometry import VoxelGrid
from .parameter_ranges import check_choice, check_protocol_parameters
from .metrics import ONE_ML_SPHERE_RADIUS_MM, PeakResult, RegionStatistics, region_statistics, suv_peak
from .sites import ALL_SITES, BLOOD_POOL_KIND, ISOCONTOUR, LESION_KIND, MARROW_SITES, SITES
from .isocontour import IsocontourParameters, IsocontourVOI, grow_isocontour
from .lesion_checks import peak_sphere_hotter
from .voi_warnings import VOIWarning
from .regions import RegionMask, _fmt_ras, sphere_region

__all__ = [
    "METRIC_LABELS",
    "ProtocolParameters",
    "LesionResult",
    "SphereResult",
    "StudyResult",
    "measure_lesion",
    "measure_sphere",
    "measure_site",
    "run_protocol",
]

#: Highest plausible blood-pool SUVmean: blood holds SUV 1-3 at the uptake times of static PET (FDG about 1.5-2.5
#: at 60 min; 68Ga-Pentixafor about 1.5-3 at 60 min); 10 leaves room for early or unusual scans. Above it the SUV
#: scale is wrong (a dose in mCi entered as MBq gives 37 times the SUV), and the result carries a warning.
BLOOD_POOL_SUV_MAX = 10.0
#: How each lesion metric (and the TBR) is written for people: tables, method texts, figure labels.
METRIC_LABELS = {"suv_max": "SUVmax", "suv_mean": "SUVmean", "suv_peak": "SUVpeak", "tbr": "TBR"}


_RETIRED_ISOCONTOUR_PARAMETERS = frozenset({"core_fraction", "max_core_distance_mm"})


@dataclass(frozen=True)
class ProtocolParameters:
    """Every choice that changes a number; recorded with every result.

    Attributes
    ----------
    isocontour : IsocontourParameters
        Threshold, connectivity, peak search radius and leak guard of the target-lesion VOI.
    peak_variant : {"global", "local"}
        SUVpeak centring: "global" = best 1 mL sphere centred on any VOI voxel (PERCIST / IBSI global intensity
        peak), "local" = centred on the SUVmax voxel (IBSI local intensity peak).
    peak_radius_mm : float
        SUVpeak sphere radius: 6.2035 mm (1 mL) or 6.0 mm (1.2 cm diameter).
    blood_pool_diameter_mm, marrow_diameter_mm : float
        Diameters of the blood-pool and marrow spheres (voxels whose centres lie inside).
    tbr_numerator : {"suv_max", "suv_peak", "suv_mean"}
        Lesion value divided by the blood-pool SUVmean for TBR (SUVmax in Buck et al. 2022).
    blood_pool_max_cov : float
        Warn when SD / mean in the blood-pool sphere exceeds this (it likely touches the wall or a lesion).
    min_body_suv : float
        A sphere whose SUVmean is below this lies outside the body (a click in air): refused.
    """

    isocontour: IsocontourParameters = field(default_factory=IsocontourParameters)
    peak_variant: str = "global"
    peak_radius_mm: float = ONE_ML_SPHERE_RADIUS_MM
    blood_pool_diameter_mm: float = 15.0
    marrow_diameter_mm: float = 15.0
    tbr_numerator: str = "suv_max"
    blood_pool_max_cov: float = 0.30
    min_body_suv: float = 0.1

    def __post_init__(self) -> None:
        check_choice("peak_variant", self.peak_variant)
        check_choice("tbr_numerator", self.tbr_numerator)  # the TBR's numerator is a lesion metric
        check_protocol_parameters(self)  # the stated ranges (parameter_ranges.py; radii and diameters above 0)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["isocontour"] = self.isocontour.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> ProtocolParameters:
        """Rebuild from :meth:`to_dict`. The parameters of the retired shoulder check (``core_fraction``,
        ``max_core_distance_mm``), found in results written before it was removed, are ignored: they changed no
        VOI, only a warning."""
        d = dict(d)
        iso = {k: v for k, v in d.pop("isocontour", {}).items() if k not in _RETIRED_ISOCONTOUR_PARAMETERS}
        return cls(isocontour=IsocontourParameters(**iso), **d)

    def with_isocontour(self, **changes) -> ProtocolParameters:
        """A copy with some isocontour parameters changed."""
        return replace(self, isocontour=replace(self.isocontour, **changes))


@dataclass
class LesionResult:
    """Target-lesion measurement. RAS positions are world coordinates in mm."""

    click_ras: np.ndarray
    voi: IsocontourVOI
    stats: RegionStatistics
    peak: PeakResult
    peak_ras: np.ndarray
    peak_center_ras: np.ndarray  # centre of the SUVpeak sphere
    #: Structures the isocontour joined to the lesion that are not in the VOI (hottest first): suv_max, peak_ras
    #: (world), volume_ml.
    neighbours: list[dict] = field(default_factory=list)
    #: Warnings on the numbers measured on the VOI (the SUVpeak sphere), after the VOI's own.
    metric_warnings: list[VOIWarning] = field(default_factory=list)

    @property
    def region(self) -> RegionMask:
        return self.voi.region

    @property
    def warning_records(self) -> list[VOIWarning]:
        """The typed warnings: the VOI's, then the metrics' (code, numbers, ``short`` and ``detail`` texts)."""
        return list(self.voi.warnings) + list(self.metric_warnings)

    @property
    def warnings(self) -> list[str]:
        """One short line per warning (``warning_records`` has the code, the numbers and the full text)."""
        return [w.short for w in self.warning_records]


@dataclass
class SphereResult:
    """A sphere VOI (blood pool or marrow site). RAS positions are world coordinates in mm."""

    site: str
    center_ras: np.ndarray
    diameter_mm: float
    region: RegionMask
    stats: RegionStatistics
    warnings: list[str] = field(default_factory=list)


@dataclass
class StudyResult:
    """All measurements of one study, with the parameters that produced them.

    ``errors`` maps a site to the reason it could not be measured (its point was given); sites without a point
    are simply absent.
    """

    parameters: ProtocolParameters
    lesion: LesionResult | None = None
    blood_pool: SphereResult | None = None
    marrow: dict[str, SphereResult] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def site_result(self, site: str) -> LesionResult | SphereResult | None:
        """The result of one site (None when it was not measured), found by its kind in the table of sites."""
        kind = SITES[site].kind
        if kind == LESION_KIND:
            return self.lesion
        if kind == BLOOD_POOL_KIND:
            return self.blood_pool
        return self.marrow.get(site)

    def put(self, site: str, result: LesionResult | SphereResult) -> None:
        """Store the result of one site where its kind belongs (``lesion``, ``blood_pool`` or ``marrow``)."""
        kind = SITES[site].kind
        if kind == LESION_KIND:
            self.lesion = result
        elif kind == BLOOD_POOL_KIND:
            self.blood_pool = result
        else:
            self.marrow[site] = result

    @property
    def tbr(self) -> float | None:
        """Target-to-blood-pool ratio with the configured numerator (default SUVmax / blood-pool SUVmean)."""
        return self.tbr_with(self.parameters.tbr_numerator)

    def tbr_with(self, numerator: str) -> float | None:
        if self.lesion is None or self.blood_pool is None:
            return None
        value = self.lesion.peak.suv_peak if numerator == "suv_peak" else getattr(self.lesion.stats, numerator)
        return float(value / self.blood_pool.stats.suv_mean)

    @property
    def regions(self) -> dict[str, RegionMask]:
        """The VOIs of the measured sites, in protocol order (lesion, blood pool, C7, T12, L5, right, left ilium)."""
        return {site: result.region for site, result in self._measured()}

    def _measured(self) -> list[tuple[str, LesionResult | SphereResult]]:
        """(site, result) of every measured site, in protocol order (the table of sites)."""
        return [(site, result) for site in ALL_SITES if (result := self.site_result(site)) is not None]

    @property
    def marrow_sites_used(self) -> list[str]:
        return [s for s in MARROW_SITES if s in self.marrow]

    @property
    def mean_suv_max(self) -> float | None:
        """meanSUVmax: mean of the marrow-site SUVmax over the sites measured (see ``marrow_sites_used``)."""
        used = self.marrow_sites_used
        if not used:
            return None
        return float(np.mean([self.marrow[s].stats.suv_max for s in used]))

    @property
    def warnings(self) -> list[str]:
        out = [f"{site}: {w}" for site, result in self._measured() for w in result.warnings]
        if 0 < len(self.marrow_sites_used) < len(MARROW_SITES):
            missing = [s for s in MARROW_SITES if s not in self.marrow]
            out.append(
                f"meanSUVmax uses {len(self.marrow_sites_used)} of {len(MARROW_SITES)} marrow sites "
                f"(missing: {', '.join(missing)})"
            )
        return out


def _identity(ras):
    return np.asarray(ras, float)


def measure_lesion(
    image: np.ndarray,
    grid: VoxelGrid,
    click_ras,
    parameters: ProtocolParameters = ProtocolParameters(),
    *,
    allowed: RegionMask | None = None,
    to_world: Callable = _identity,
) -> LesionResult:
    """Grow the target-lesion isocontour VOI from a click and measure it.

    Parameters
    ----------
    image : (k, j, i) array
        SUV image.
    grid : VoxelGrid
        Geometry of ``image`` (RAS in the image's own frame).
    click_ras : (3,) array
        The clicked point in the image's RAS frame, mm.
    allowed : RegionMask, optional
        A bounding ROI that confines the peak search and the growth.
    to_world : callable
        Maps RAS of the image frame to world RAS (a parent transform), for the reported positions.
    """
    voi = grow_isocontour(image, grid, click_ras, parameters.isocontour, allowed=allowed)
    stats = region_statistics(image, grid, voi.region)
    peak = suv_peak(image, grid, voi.region, variant=parameters.peak_variant, radius_mm=parameters.peak_radius_mm)
    peak_ras = to_world(grid.ijk_to_ras_points(np.asarray(voi.peak_kji[::-1], float)))
    peak_center_ras = to_world(grid.ijk_to_ras_points(np.asarray(peak.center_kji[::-1], float)))
    neighbours = [
        {"suv_max": n.suv_max,
         "peak_ras": np.asarray(to_world(grid.ijk_to_ras_points(np.asarray(n.peak_kji[::-1], float))), float),
         "volume_ml": n.voxels * grid.voxel_volume_ml}
        for n in voi.neighbours
    ]
    sphere = peak_sphere_hotter(image, grid, voi.region, stats.suv_max, peak.suv_peak, peak.center_kji,
                                parameters.peak_radius_mm)
    return LesionResult(
        np.asarray(to_world(click_ras), float), voi, stats, peak, np.asarray(peak_ras, float),
        np.asarray(peak_center_ras, float), neighbours, [] if sphere is None else [sphere],
    )


def measure_sphere(
    image: np.ndarray,
    grid: VoxelGrid,
    site: str,
    center_ras,
    diameter_mm: float,
    parameters: ProtocolParameters = ProtocolParameters(),
    *,
    to_world: Callable = _identity,
) -> SphereResult:
    """Measure a sphere VOI of ``diameter_mm`` centred on a point (voxels whose centres lie inside).

    Raises
    ------
    MeasurementError
        If the sphere holds non-finite voxels or lies outside the body (SUVmean below ``min_body_suv``).
    """
    world = np.asarray(to_world(center_ras), float)
    where = f"{site} point at RAS {_fmt_ras(world)}"
    region = sphere_region(grid, center_ras, diameter_mm / 2.0)
    values = region.values(image)
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise MeasurementError(f"{where}: {bad} of {values.size} voxels in the {diameter_mm:g} mm sphere are not "
                               "finite (NaN/inf) in the PET volume")
    stats = region_statistics(image, grid, region)
    if stats.suv_mean < parameters.min_body_suv:
        raise MeasurementError(
            f"{where} seems to lie outside the body: SUVmean {stats.suv_mean:.2f} in the {diameter_mm:g} mm sphere "
            f"(below {parameters.min_body_suv:g})"
        )
    warnings = []
    if _sphere_leaves_image(grid, center_ras, diameter_mm / 2.0):
        warnings.append(f"the {diameter_mm:g} mm sphere is cut by the image border ({region.voxel_count} voxels)")
    blood_pool = SITES[site].kind == BLOOD_POOL_KIND
    if blood_pool and stats.suv_mean > BLOOD_POOL_SUV_MAX:
        warnings.append(
            f"blood-pool SUVmean {stats.suv_mean:.3g} is above {BLOOD_POOL_SUV_MAX:g}, more than blood holds at the "
            "uptake times of static PET (about 1-3): the SUV scale is likely wrong; check the injected dose and the "
            "weight and their units in the SUV audit (a dose in mCi entered as MBq gives 37 times the SUV)"
        )
    if blood_pool and stats.suv_mean > 0:
        cov = stats.suv_sd / stats.suv_mean
        if cov > parameters.blood_pool_max_cov:
            warnings.append(
                f"blood-pool voxels vary strongly (SD/mean {cov:.2f} > {parameters.blood_pool_max_cov:g}): the "
                "sphere likely touches the vessel wall or a lesion; move the point to the centre of the lumen"
            )
    return SphereResult(site, world, float(diameter_mm), region, stats, warnings)


def _sphere_leaves_image(grid: VoxelGrid, center_ras, radius_mm: float) -> bool:
    """Whether a sphere reaches beyond the outermost voxel centres along any index axis."""
    center_ijk = grid.ras_to_continuous_ijk(center_ras)
    half_ijk = grid.index_radius_ijk(radius_mm)
    last = np.asarray(grid.shape_ijk) - 1
    return bool(np.any(center_ijk - half_ijk < 0) or np.any(center_ijk + half_ijk > last))


def run_protocol(
    image: np.ndarray,
    grid: VoxelGrid,
    points_ras: Mapping[str, object],
    parameters: ProtocolParameters = ProtocolParameters(),
    *,
    allowed: RegionMask | None = None,
    to_world: Callable = _identity,
) -> StudyResult:
    """Measure every site that has a point.

    Parameters
    ----------
    points_ras : mapping
        Site name (``sites.ALL_SITES``) -> point in the image's RAS frame (mm). Absent sites are not measured.
    allowed : RegionMask, optional
        Bounding ROI for the target lesion.

    Returns
    -------
    StudyResult
        A site whose measurement is refused (click outside the body, NaNs, ...) is listed in ``errors`` with the
        reason; the other sites are still measured.
    """
    result = StudyResult(parameters)
    for site, point in points_ras.items():
        outcome = measure_site(image, grid, site, point, parameters, allowed=allowed, to_world=to_world)
        if isinstance(outcome, str):
            result.errors[site] = outcome
        else:
            result.put(site, outcome)
    return result


def measure_site(
    image: np.ndarray,
    grid: VoxelGrid,
    site: str,
    point_ras,
    parameters: ProtocolParameters = ProtocolParameters(),
    *,
    allowed: RegionMask | None = None,
    to_world: Callable = _identity,
) -> LesionResult | SphereResult | str:
    """Measure one site as its entry in the table of sites says (the isocontour of the target lesion, within
    ``allowed``; a sphere of the site's diameter parameter otherwise).

    Returns the result, or the reason the site is refused (any :class:`~..errors.PentixaforQuantError`: a click
    outside the body, NaNs, an unknown site), so one refused site never stops the others. The one per-site
    dispatch of :func:`run_protocol` and the scene Logic.
    """
    try:
        spec = SITES.get(site)
        if spec is None:
            raise MeasurementError(f"unknown site {site!r}")
        if spec.voi == ISOCONTOUR:
            return measure_lesion(image, grid, point_ras, parameters, allowed=allowed, to_world=to_world)
        return measure_sphere(image, grid, site, point_ras, spec.diameter_mm(parameters), parameters,
                              to_world=to_world)
    except PentixaforQuantError as exc:
        return str(exc)
