"""The panel controller: everything the Slicer module panel and the web reader do, without any GUI.

A face (the Qt widget of ``PentixaforQuant.py``, the web reader) only turns user actions into calls here and shows
:meth:`PanelController.state`; it holds no state of its own. Everything is stored in the scene (a parameter node,
one markups list, the output nodes), so a saved scene brings the panel back as it was.

API
---
``PanelController(scene=None, parameter_node=None, *, resolver=None)``
    Headless without a scene; inside Slicer pass ``slicer.mrmlScene`` (the parameter node is the module's
    singleton ``vtkMRMLScriptedModuleNode`` "PentixaforQuant", the same node the widget's ``@parameterNodeWrapper``
    wraps; field names and text formats are those of :data:`PARAMETERS`, in ``panel_parameters``). ``resolver``
    maps a SOP Instance UID to its file, for volumes loaded by Slicer's DICOM module.
Listening
    ``add_listener(fn)`` / ``remove_listener(fn)``: ``fn(controller)`` after every change; ``close()``.
Input
    ``load_dicom(folder, progress=None)``, ``set_pet_volume(node, resolver=None)`` (a volume loaded by Slicer's
    DICOM module is converted to SUV), ``load_demo_phantom(place_points=False)`` (generated locally),
    ``set_normalization(name)``, ``pet_node``, ``points_node``, ``roi_node`` / ``set_roi(node)``.
Sites (the "template landmarks" pattern: one fixed list of seven pre-labelled points, :data:`PANEL_SITES`)
    ``next_site`` (the site the next click fills), ``placing_site``, ``start_placing(site=None, place_mode=True)``,
    ``cancel_placing()``, ``place_at(ras)`` (fill ``next_site`` at a world RAS point: the web reader's click),
    ``place_site(site, ras)``, ``clear_site(site)``, ``is_placed(site)``, ``site_ras(site)``,
    ``jump_to_site(site)`` (centres the slice views; the lesion on its SUVmax voxel), ``use_points_node(node)``.
    Refusals (no PET yet, unknown site) raise :class:`~..errors.PentixaforQuantError` with one line.
Results
    ``recompute()``, ``study``, ``site_status(site)`` / ``site_statuses()`` (:class:`SiteStatus`, one line per
    site), ``summary_lines()`` (TBR, meanSUVmax), ``result_rows()``, ``results_table``, ``segmentation``,
    ``last_error``, ``state()`` (everything above as JSON-able data).
Parameters
    ``get_parameter(name)``, ``set_parameter(name, value)`` (checks choices and ranges, recomputes; a node
    reference by name: ``petVolume``, ``pointsNode``, ``roiNode``, ``cohortTable``), ``protocol_parameters()``.
    A change written to the parameter node by anyone (the widget's bindings) has the same effect.
SUV
    ``audit()``, ``audit_rows()`` (input, value, DICOM tag/source; decisions; factor), ``suv_refusal`` (one
    line), ``refusal_field`` (the override field to fill), ``set_override(field, text)``,
    ``apply_overrides(**fields)`` (converts again and recomputes; the audit marks them "user override"),
    ``clear_overrides()``.
Display
    ``apply_display_preset()`` (inverted grey, SUV 0-6, PET in every slice view, VOIs as outlines).
Output
    ``export_csv(path)``, ``export_study(folder)`` (study.json, sites.csv, segmentation, scene bundle),
    ``export_dicom(folder)`` (DICOM SEG and SR TID 1500),
    ``add_to_cohort(study_id=None, ...)`` (one wide row per study, :data:`~..outputs.cohort_row.COHORT_COLUMNS`;
    adding a study again replaces its row), ``cohort_table``.

The controller is put together from one part per job, each readable at once: ``panel_suv.PanelSUV`` (the PET
input, SUV conversion, refusal, overrides and audit), ``panel_sites.PanelSites`` (the seven points, placement,
observing them, each site's status line) and ``panel_exports.PanelExports`` (CSV, study folder, DICOM, the cohort
row); this module holds the parameter node, listening, recomputing and ``state()``.

Live update: the controller recomputes when a point is placed, dropped after a drag, cleared or removed, never
on placement-preview or mid-drag moves (:func:`~.logic.observe_point_changes`); only the sites whose point or
parameters changed are measured again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import PentixaforQuantError
from ..measure.protocol import ProtocolParameters, StudyResult
from . import arguments
from .logic import StudyLogic
from .mrml import markups_site_points, volume_suv_units
from .panel_parameters import MODULE_NAME, NODE_REFERENCES, OVERRIDE_FIELDS, PARAMETERS, Parameter
from .panel_exports import PanelExports
from .panel_sites import PANEL_SITES, PANEL_TITLES, PanelSites, SiteStatus
from .panel_suv import PanelSUV

__all__ = [
    "MODULE_NAME",
    "PANEL_SITES",
    "PANEL_TITLES",
    "PARAMETERS",
    "OVERRIDE_FIELDS",
    "Parameter",
    "SiteStatus",
    "PanelController",
]


class PanelController(PanelSUV, PanelSites, PanelExports):
    """The panel's behaviour on a scene (see the module docstring for the API).

    Parameters
    ----------
    scene : vtkMRMLScene, optional
        Slicer's scene, or a headless one (made here when omitted).
    parameter_node : vtkMRMLScriptedModuleNode, optional
        Defaults to the scene's singleton "PentixaforQuant" parameter node (created if missing).
    resolver : callable, optional
        SOP Instance UID -> file, to convert volumes loaded by Slicer's DICOM module (inside Slicer
        ``slicer.dicomDatabase.fileForInstance``).
    """

    def __init__(self, scene=None, parameter_node=None, *, resolver: Callable | None = None):
        self.logic = StudyLogic(scene)
        self.scene = self.logic.scene
        self.parameter_node = parameter_node or self._singleton_parameter_node()
        self._write_defaults()
        self._listeners: list[Callable] = []
        self._observations: list[tuple[object, int]] = []
        self._parameter_tag = None
        self._updating_parameters = False
        self._last_protocol = None
        self.placing_site: str | None = None
        self.study: StudyResult | None = None
        self.last_error: str | None = None
        self.suv_refusal: str | None = None
        self.refusal_field: str | None = None
        self._pending_source: dict | None = None  # a PET source whose SUV conversion was refused
        self._converted_normalization = self.get_parameter("normalization")
        self._resolver: Callable | None = resolver
        self.demo_phantom = None
        self._demo_folder = None
        self._pet_id = self.parameter_node.GetNodeReferenceID("petVolume")
        self._observe_parameter_node()
        if self.points_node is not None:
            self._observe_points()
        self.recompute()

    # ------------------------------------------------------------------------------------ parameter node
    def _singleton_parameter_node(self):
        node = self.scene.GetSingletonNode(MODULE_NAME, "vtkMRMLScriptedModuleNode")
        if node is None:
            node = self.scene.CreateNodeByClass("vtkMRMLScriptedModuleNode")
            node.UnRegister(None)  # CreateNodeByClass hands over a reference (as Slicer's own logic does)
            node.SetSingletonTag(MODULE_NAME)
            node.SetModuleName(MODULE_NAME)
            node.SetName(self.scene.GenerateUniqueName(MODULE_NAME))
            node = self.scene.AddNode(node)
        return node

    def _write_defaults(self) -> None:
        node = self.parameter_node
        was = node.StartModify()
        for p in PARAMETERS.values():
            if not node.HasParameter(p.name):
                node.SetParameter(p.name, p.to_text(p.default))
        for name in NODE_REFERENCES:
            if not node.HasParameter(name):
                node.SetParameter(name, "")  # what the wrapper writes beside a node reference
        node.EndModify(was)

    def _observe_parameter_node(self) -> None:
        import vtk

        self._parameter_tag = self.parameter_node.AddObserver(vtk.vtkCommand.ModifiedEvent,
                                                              lambda caller, event: self._on_parameters_modified())

    def _on_parameters_modified(self) -> None:
        if self._updating_parameters:
            return
        pet_id = self.parameter_node.GetNodeReferenceID("petVolume")
        if pet_id != self._pet_id:  # e.g. chosen in the panel's PET volume selector
            self._pet_id = pet_id
            self.set_pet_volume(self.pet_node)
            return
        points = self.parameter_node.GetNodeReference("pointsNode")
        if points is not None and not self._observations_for(points):
            self._observe_points()
        normalization = self.get_parameter("normalization")
        if normalization != self._converted_normalization and (self.pet_node or self._pending_source):
            self.reconvert()  # e.g. the normalisation combo box of the panel
            return
        if self.get_parameter("autoUpdate") and self._protocol_key() != self._last_protocol:
            self.recompute()
        else:
            self._notify()

    def get_parameter(self, name: str):
        """The value of a parameter (typed as in :data:`PARAMETERS`) or a referenced node."""
        if name in NODE_REFERENCES:
            return self.parameter_node.GetNodeReference(name)
        p = PARAMETERS[name]
        text = self.parameter_node.GetParameter(name)
        return p.default if text == "" and p.type is not str else p.from_text(text)

    def set_parameter(self, name: str, value) -> None:
        """Set a parameter (or a node reference) and recompute as the panel would."""
        if name in NODE_REFERENCES:
            self._set_reference(name, value)
            self._on_parameters_modified()
            return
        p = PARAMETERS[name]
        self.parameter_node.SetParameter(name, p.to_text(p.check(value)))  # fires ModifiedEvent -> recompute

    def _set_reference(self, name: str, node) -> None:
        self._updating_parameters = True
        try:
            self.parameter_node.SetParameter(name, "")
            self.parameter_node.SetNodeReferenceID(name, node.GetID() if node is not None else None)
        finally:
            self._updating_parameters = False

    def protocol_parameters(self) -> ProtocolParameters:
        """The protocol parameters the panel's fields say; a field outside its range (as a widget binding can
        write it) is refused with :class:`~..errors.ParameterError` in the panel's own units."""
        def g(name):
            return PARAMETERS[name].check(self.get_parameter(name))

        return ProtocolParameters(peak_variant=g("peakVariant"), peak_radius_mm=g("peakRadiusMm"),
                                  blood_pool_diameter_mm=g("bloodPoolDiameterMm"),
                                  marrow_diameter_mm=g("marrowDiameterMm"), tbr_numerator=g("tbrNumerator")
                                  ).with_isocontour(threshold_fraction=g("thresholdPercent") / 100.0,
                                                    method=g("thresholdMethod"), connectivity=g("connectivity"),
                                                    search_radius_mm=g("searchRadiusMm"),
                                                    max_volume_ml=g("maxVolumeMl"))

    def _protocol_key(self):
        texts = tuple(self.parameter_node.GetParameter(p) for p in PARAMETERS if not p.startswith(
            ("override", "study", "diagnosis", "group", "uptake", "activity", "peptide")))
        refs = tuple(self.parameter_node.GetNodeReferenceID(r) for r in ("petVolume", "pointsNode", "roiNode"))
        return texts + refs

    # ------------------------------------------------------------------------------------------ listening
    def add_listener(self, listener: Callable) -> None:
        """Call ``listener(controller)`` after every change of what the panel shows."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener(self)

    def close(self) -> None:
        """Remove every observer this controller added (call when the panel goes away)."""
        self._stop_observing_points()
        if self._parameter_tag is not None:
            self.parameter_node.RemoveObserver(self._parameter_tag)
            self._parameter_tag = None
        self._listeners.clear()

    # ---------------------------------------------------------------------------------------------- input
    @property
    def pet_node(self):
        """The SUV volume being measured (None before one is loaded)."""
        return self.parameter_node.GetNodeReference("petVolume")

    @property
    def points_node(self):
        """The fixed list of seven site points (None before a PET volume is chosen)."""
        return self.parameter_node.GetNodeReference("pointsNode")

    @property
    def roi_node(self):
        return self.parameter_node.GetNodeReference("roiNode")

    def set_roi(self, roi_node) -> None:
        """An optional bounding ROI (``vtkMRMLMarkupsROINode``) limiting the lesion VOI; None removes it."""
        arguments.node_or_none(roi_node, "vtkMRMLMarkupsROINode", "set_roi", self.scene)
        self.set_parameter("roiNode", roi_node)

    def _use_pet(self, pet) -> None:
        self._set_reference("petVolume", pet)
        self._pet_id = pet.GetID()
        if self.points_node is None:
            self._set_reference("pointsNode", self._new_points_node())
            self._observe_points()
        self._input_changed()

    def _input_changed(self) -> None:
        self.study = None
        self.recompute()

    # --------------------------------------------------------------------------------------------- results
    def recompute(self) -> StudyResult | None:
        """Measure the placed sites (only those whose point or parameters changed) and update the outputs."""
        pet, points = self.pet_node, self.points_node
        self._last_protocol = self._protocol_key()
        if pet is None or points is None:
            self.study = None
            self._notify()
            return None
        try:
            # The points are passed explicitly: in the panel, a list with no placed point yet is a valid state.
            self.study = self.logic.measure(pet, points, parameters=self.protocol_parameters(),
                                            roi_node=self.roi_node, points_ras=markups_site_points(points))
            self.last_error = None
            self._style_outputs()
        except PentixaforQuantError as exc:
            self.study = None  # never results under refused points or parameters other than the panel's
            self.last_error = str(exc)
            self.logic.clear_outputs(points, self.last_error)
        self._notify()
        return self.study

    def _style_outputs(self) -> None:
        display = self.segmentation.GetDisplayNode() if self.segmentation is not None else None
        if display is not None:  # VOIs as outlines over the PET in the slice views
            display.SetVisibility2DFill(False)
            display.SetVisibility2DOutline(True)

    @property
    def results_table(self):
        return self.logic.output_nodes(self.points_node).results_table if self.points_node else None

    @property
    def segmentation(self):
        return self.logic.output_nodes(self.points_node).segmentation if self.points_node else None

    def result_rows(self) -> list[dict]:
        """The rows of the results table (sites, TBR, meanSUVmax), as :func:`~..outputs.results.study_rows`."""
        from ..outputs.results import study_rows

        if self.study is None:
            return []
        return study_rows(self.study, self._points())

    def _points(self) -> dict:
        try:
            return markups_site_points(self.points_node) if self.points_node else {}
        except PentixaforQuantError:
            return {}

    def _units(self) -> str:
        return (volume_suv_units(self.pet_node) if self.pet_node is not None else None) or "SUV"

    # --------------------------------------------------------------------------------------------- display
    def apply_display_preset(self) -> None:
        """The Pentixafor reading preset on the PET (inverted grey, SUV 0-6), the PET as background of every slice
        view, the VOIs as outlines, the points visible."""
        from .mrml import apply_pet_display

        pet = self.pet_node
        if pet is None:
            return
        apply_pet_display(pet)
        for n in range(self.scene.GetNumberOfNodesByClass("vtkMRMLSliceCompositeNode")):
            composite = self.scene.GetNthNodeByClass(n, "vtkMRMLSliceCompositeNode")
            composite.SetBackgroundVolumeID(pet.GetID())
            composite.SetForegroundVolumeID(None)
        self._style_outputs()

    # ------------------------------------------------------------------------------------------------ state
    def state(self) -> dict:
        """Everything a face shows, as JSON-able data, in one piece (for the Python console and tests; the faces
        read the parts they show: :meth:`site_statuses`, :meth:`summary_lines`, :meth:`audit_rows`, ...)."""
        pet = self.pet_node
        return {
            "pet_volume": pet.GetName() if pet is not None else None,
            "units": volume_suv_units(pet) if pet is not None else None,
            "next_site": self.next_site,
            "placing_site": self.placing_site,
            "sites": [s.to_dict() for s in self.site_statuses()],
            "summary": self.summary_lines(),
            "rows": [{k: _plain(v) for k, v in row.items()} for row in self.result_rows()],
            "audit": [list(r) for r in self.audit_rows()],
            "suv_refusal": self.suv_refusal,
            "refusal_field": self.refusal_field,
            "last_error": self.last_error,
            "parameters": {name: self.get_parameter(name) for name in PARAMETERS},
        }


def _plain(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
