"""The panel's sites: the fixed list of seven points, which site the next click fills, placing, clearing and
jumping to a site, observing the points, and each site's status line (a part of
:class:`~.panel.PanelController`; see its module for the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import PentixaforQuantError
from ..measure.protocol import METRIC_LABELS
from ..measure.sites import (ALL_SITES, BLOOD_POOL_KIND, ISOCONTOUR, LESION_KIND, MARROW_SITES, SITE_TITLES, SITES,
                             canonical_site)
from . import arguments
from .logic import observe_point_changes
from .panel_text import person_units

__all__ = ["PANEL_SITES", "PANEL_TITLES", "SiteStatus", "PanelSites"]

#: The seven sites in panel (and protocol) order; also the labels of the points.
PANEL_SITES = ALL_SITES
#: Row titles of the panel's Sites section: the sites' titles, as the outputs write them.
PANEL_TITLES = SITE_TITLES
_MAIN_VALUE = {key: METRIC_LABELS[site.main_value] for key, site in SITES.items()}
_POINTS_ATTRIBUTE = "PentixaforQuant.PanelPoints"  # marks the panel's fixed list of seven points


@dataclass
class SiteStatus:
    """What the panel shows for one site.

    ``status``: "missing" (not placed), "placing" (the next click fills it), "ok", "warning", "error" or
    "pending" (placed, not measured: no PET volume yet). ``value`` is the main value (``value_name``: SUVmax, or
    SUVmean for the aortic arch); ``line`` is the status line.
    """

    site: str
    title: str
    placed: bool
    placing: bool
    status: str
    value: float | None
    value_name: str
    line: str
    warnings: list[str] = field(default_factory=list)
    ras: tuple[float, float, float] | None = None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("site", "title", "placed", "placing", "status", "value", "value_name",
                                              "line", "warnings", "ras")}


class PanelSites:
    """The placement and status jobs of the panel controller."""

    # ---------------------------------------------------------------------------------------------- sites
    def _new_points_node(self):
        """The fixed list of seven pre-labelled, unplaced points (Slicer's "template landmarks" pattern)."""
        import vtk

        node = self.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "Pentixafor points")
        node.CreateDefaultDisplayNodes()
        node.SetAttribute(_POINTS_ATTRIBUTE, "1")
        for site in PANEL_SITES:
            index = node.AddControlPoint(vtk.vtkVector3d(0.0, 0.0, 0.0), site)
            node.SetNthControlPointDescription(index, PANEL_TITLES[site])
            node.UnsetNthControlPointPosition(index)
        node.SetFixedNumberOfControlPoints(True)
        return node

    def use_points_node(self, points_node) -> None:
        """Measure the points of an existing list instead (labels name the sites; the list need not be fixed)."""
        arguments.node_or_none(points_node, "vtkMRMLMarkupsFiducialNode", "use_points_node", self.scene)
        self._set_reference("pointsNode", points_node)
        self._observe_points()
        self._input_changed()

    def _index(self, site: str) -> int:
        node = self.points_node
        if node is None:
            raise PentixaforQuantError("load a PET volume first: the site points belong to it")
        if site not in PANEL_SITES:
            raise PentixaforQuantError(f"unknown site {site!r}; use one of {', '.join(PANEL_SITES)}")
        for n in range(node.GetNumberOfControlPoints()):
            try:
                if canonical_site(node.GetNthControlPointLabel(n)) == site:
                    return n
            except PentixaforQuantError:
                continue
        if node.GetFixedNumberOfControlPoints():
            raise PentixaforQuantError(f"the point list {node.GetName()!r} has no point labelled {site!r}")
        import vtk

        index = node.AddControlPoint(vtk.vtkVector3d(0.0, 0.0, 0.0), site)
        node.UnsetNthControlPointPosition(index)
        return index

    def is_placed(self, site: str) -> bool:
        import slicer

        node = self.points_node
        if node is None:
            return False
        try:
            index = self._index(site)
        except PentixaforQuantError:
            return False
        return node.GetNthControlPointPositionStatus(index) == slicer.vtkMRMLMarkupsNode.PositionDefined

    @property
    def next_site(self) -> str | None:
        """The site the next click fills: the one being placed, else the first unplaced site (None: all placed)."""
        if self.placing_site is not None:
            return self.placing_site
        return next((s for s in PANEL_SITES if not self.is_placed(s)), None) if self.points_node else None

    def start_placing(self, site: str | None = None, *, place_mode: bool = True) -> str | None:
        """Make the next click fill ``site`` (default: the first unplaced one). A placed site is cleared first,
        so its point can be placed again. With ``place_mode`` the scene's interaction node enters single-point
        place mode on the points list (Slicer's views then place the point themselves); a face that turns clicks
        into :meth:`place_at` calls passes False."""
        site = site or next((s for s in PANEL_SITES if not self.is_placed(s)), None)
        if site is None:
            return None
        index = self._index(site)
        node = self.points_node
        if self.is_placed(site):
            node.UnsetNthControlPointPosition(index)  # fires PointPositionUndefinedEvent -> recompute
        node.SetControlPointPlacementStartIndex(index)
        self.placing_site = site
        if place_mode:
            self._enter_place_mode(node)
        self._notify()
        return site

    def cancel_placing(self) -> None:
        self.placing_site = None
        self._leave_place_mode()
        self._notify()

    def _enter_place_mode(self, node) -> None:
        selection = self.scene.GetNodeByID("vtkMRMLSelectionNodeSingleton")
        interaction = self.scene.GetNodeByID("vtkMRMLInteractionNodeSingleton")
        if selection is None or interaction is None:
            return
        selection.SetReferenceActivePlaceNodeClassName(node.GetClassName())
        selection.SetActivePlaceNodeID(node.GetID())
        interaction.SetPlaceModePersistence(0)
        interaction.SetCurrentInteractionMode(interaction.Place)

    def _leave_place_mode(self) -> None:
        interaction = self.scene.GetNodeByID("vtkMRMLInteractionNodeSingleton")
        if interaction is not None and interaction.GetCurrentInteractionMode() == interaction.Place:
            interaction.SetCurrentInteractionMode(interaction.ViewTransform)

    def place_site(self, site: str, ras) -> None:
        """Place (or move) the point of ``site`` at world RAS ``ras`` (mm); recomputes that site."""
        r, a, s = arguments.ras_point(ras, "place_site")
        index = self._index(site)
        if self.placing_site == site:
            self.placing_site = None
            self._leave_place_mode()
        self.points_node.SetNthControlPointPositionWorld(index, r, a, s)  # -> PointPositionDefinedEvent

    def place_at(self, ras) -> str | None:
        """A click at world RAS ``ras``: fills :attr:`next_site` and returns it (None when all are placed)."""
        ras = arguments.ras_point(ras, "place_at")
        if self.points_node is None:
            raise PentixaforQuantError("load a PET volume first: the site points belong to it")
        site = self.next_site
        if site is not None:
            self.place_site(site, ras)
        return site

    def clear_site(self, site: str) -> None:
        """Remove the placement of ``site`` (its row shows "not placed"; its segment is removed)."""
        index = self._index(site)
        if self.placing_site == site:
            self.placing_site = None
        if self.is_placed(site):
            self.points_node.UnsetNthControlPointPosition(index)  # -> PointPositionUndefinedEvent -> recompute
        else:
            self._notify()

    def site_ras(self, site: str) -> tuple[float, float, float] | None:
        """World RAS of the site's point, or None when it is not placed."""
        if not self.is_placed(site):
            return None
        ras = [0.0, 0.0, 0.0]
        self.points_node.GetNthControlPointPositionWorld(self._index(site), ras)
        return tuple(ras)

    def jump_to_site(self, site: str) -> tuple[float, float, float] | None:
        """Centre the slice views on the site (the lesion: on its SUVmax voxel); returns that RAS point."""
        import slicer

        ras = self.site_ras(site)
        if SITES[site].voi == ISOCONTOUR and self.study is not None and self.study.lesion is not None:
            ras = tuple(float(v) for v in self.study.lesion.peak_ras)
        if ras is not None:
            slicer.vtkMRMLSliceNode.JumpAllSlices(self.scene, *ras, slicer.vtkMRMLSliceNode.CenteredJumpSlice)
        return ras

    # ------------------------------------------------------------------------------------------ observing
    def _observations_for(self, node) -> bool:
        return any(n is node for n, _ in self._observations)

    def _observe_points(self) -> None:
        self._stop_observing_points()
        node = self.points_node
        if node is not None:
            self._observations = observe_point_changes(node, self._on_point_change)

    def _stop_observing_points(self) -> None:
        for node, tag in self._observations:
            node.RemoveObserver(tag)
        self._observations = []

    def _on_point_change(self, reason: str, index: int | None) -> None:
        if reason == "defined" and self.placing_site is not None:
            try:
                if index is None or index == self._index(self.placing_site):
                    self.placing_site = None  # the click filled the site being placed
            except PentixaforQuantError:
                self.placing_site = None
        if self.get_parameter("autoUpdate"):
            self.recompute()
        else:
            self._notify()

    def site_status(self, site: str) -> SiteStatus:
        """The row of one site: placed or not, its main value and its status line."""
        arguments.site_name(site, "site_status", PANEL_SITES)
        title = PANEL_TITLES[site]
        placing = self.placing_site == site
        placed = self.is_placed(site)
        ras = self.site_ras(site)
        name = _MAIN_VALUE[site]
        if placing:
            return SiteStatus(site, title, placed, True, "placing", None, name,
                              "placing: click on the site in a slice view", ras=ras)
        if not placed:
            return SiteStatus(site, title, False, False, "missing", None, name, "not placed")
        study = self.study
        if study is None:
            why = self.suv_refusal or self.last_error or "no PET volume"
            return SiteStatus(site, title, True, False, "pending", None, name, f"placed, not measured ({why})",
                              ras=ras)
        if site in study.errors:
            return SiteStatus(site, title, True, False, "error", None, name, f"error: {study.errors[site]}", ras=ras)
        units = person_units(self._units())  # SUVbw for the reader; the UCUM code stays in the data
        result, kind = study.site_result(site), SITES[site].kind
        if result is None:
            return SiteStatus(site, title, True, False, "pending", None, name, "placed, not measured yet", ras=ras)
        value = getattr(result.stats, SITES[site].main_value)
        if kind == LESION_KIND:
            line = (f"SUVmax {value:.2f}, SUVpeak {result.peak.suv_peak:.2f}, SUVmean {result.stats.suv_mean:.2f} "
                    f"{units}; {result.stats.volume_ml:.2f} mL ({result.stats.voxels} voxels)")
        elif kind == BLOOD_POOL_KIND:
            line = f"SUVmean {value:.2f} {units} (SD {result.stats.suv_sd:.2f}, {result.stats.voxels} voxels)"
        else:
            line = f"SUVmax {value:.2f} {units} (SUVmean {result.stats.suv_mean:.2f}, {result.stats.voxels} voxels)"
        warnings = result.warnings
        if warnings:
            line += " - warning: " + "; ".join(warnings)
        return SiteStatus(site, title, True, False, "warning" if warnings else "ok", float(value), name, line,
                          list(warnings), ras)

    def site_statuses(self) -> list[SiteStatus]:
        return [self.site_status(site) for site in PANEL_SITES]

    def summary_lines(self) -> list[str]:
        """TBR and meanSUVmax, each with what it needs when missing."""
        study = self.study
        if study is None:
            return ["TBR: needs a PET volume", "meanSUVmax: needs a PET volume"]
        numerator = METRIC_LABELS[study.parameters.tbr_numerator]
        tbr = study.tbr
        lines = [f"TBR ({numerator} lesion / SUVmean blood pool): {tbr:.2f}" if tbr is not None
                 else "TBR: needs the target lesion and the aortic arch"]
        used = study.marrow_sites_used
        lines.append(f"meanSUVmax ({len(used)} of {len(MARROW_SITES)} sites): {study.mean_suv_max:.2f}"
                     if study.mean_suv_max is not None else "meanSUVmax: needs at least one marrow site")
        return lines
