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

Live update: the controller recomputes when a point is placed, dropped after a drag, cleared or removed, never
on placement-preview or mid-drag moves (:func:`~.logic.observe_point_changes`); only the sites whose point or
parameters changed are measured again.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import PentixaforQuantError, SUVError
from ..measure.protocol import METRIC_LABELS, ProtocolParameters, StudyResult
from ..measure.sites import ALL_SITES, AORTA, LESION, MARROW_SITES, canonical_site
from ..suv import SUVOverrides
from ..suv.overrides import parse_override_datetime
from . import arguments
from .logic import StudyLogic, observe_point_changes
from .mrml import AUDIT_ATTRIBUTE, markups_site_points, read_rows_table, volume_suv_units, write_rows_table
from .panel_parameters import MODULE_NAME, NODE_REFERENCES, OVERRIDE_FIELDS, PARAMETERS, Parameter

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

#: The seven sites in panel (and protocol) order; also the labels of the points.
PANEL_SITES = ALL_SITES
#: Row titles of the panel's Sites section.
PANEL_TITLES = {
    LESION: "Target lesion",
    AORTA: "Aortic arch",
    "C7": "C7",
    "T12": "T12",
    "L5": "L5",
    "right_ilium": "Right ilium",
    "left_ilium": "Left ilium",
}
_MAIN_VALUE = {LESION: "SUVmax", AORTA: "SUVmean", **{s: "SUVmax" for s in MARROW_SITES}}

# Node attribute on an SUV volume saying where it came from, so a new normalisation or override can convert again.
_SOURCE_ATTRIBUTE = "PentixaforQuant.Source"
_POINTS_ATTRIBUTE = "PentixaforQuant.PanelPoints"  # marks the panel's fixed list of seven points
_COHORT_NAME = "PentixaforQuant cohort"


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


def _parse_datetime(text: str, what: str) -> datetime:
    """ISO 8601 with a clock time, by the rule of the command line and the manifest (a date alone is refused, not
    read as midnight), or a DICOM DT ``YYYYMMDDHHMMSS`` as copied from a header."""
    text = text.strip()
    if len(text) == 14 and text.isdigit():
        try:
            return datetime.strptime(text, "%Y%m%d%H%M%S")
        except ValueError:
            pass
    return parse_override_datetime(text, what)


def _parse_number(text: str, what: str) -> float:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise SUVError(f"override {what}: {text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise SUVError(f"override {what}: {text!r} must be a positive number")
    return value


def overrides_from_texts(texts: dict[str, str]) -> SUVOverrides:
    """:class:`SUVOverrides` from the panel's override fields (parameter name -> text; empty = not given).

    Raises
    ------
    SUVError
        One line naming the field whose text cannot be read.
    """
    values = {}
    for name, (attr, words, _) in OVERRIDE_FIELDS.items():
        text = (texts.get(name) or "").strip()
        if not text:
            continue
        if attr in ("injection_datetime", "scan_datetime"):
            values[attr] = _parse_datetime(text, words)
        elif attr == "sex":
            if text.upper() not in ("M", "F", "O"):
                raise SUVError(f"override {words}: {text!r} must be M, F or O")
            values[attr] = text.upper()
        elif attr == "dose_bq":
            values[attr] = _parse_number(text, words) * 1e6
        else:
            values[attr] = _parse_number(text, words)
    return SUVOverrides(**values)


def refusal_field(message: str) -> str | None:
    """The override parameter that would resolve an SUV refusal (by the attribute its message names), or None."""
    for name, (_, words, _) in OVERRIDE_FIELDS.items():
        if f"override {words}" in message:
            return name
    for name, (_, _, keywords) in OVERRIDE_FIELDS.items():
        if any(k.lower() in message.lower() for k in keywords):
            return name
    return None


class PanelController:
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
        """The protocol parameters the panel's fields say."""
        g = self.get_parameter
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

    def load_dicom(self, folder, *, series_uid: str | None = None, progress: Callable | None = None):
        """Load a PET DICOM series (folder or files) as an SUV volume with our reader and make it the input.
        ``progress(fraction, message)`` is called as it goes (fraction 0 to 1, 1 when the volume is in the scene).

        A refusal (e.g. no PatientWeight) is kept in :attr:`suv_refusal` with the field to fill in
        :attr:`refusal_field`, and the source is remembered so :meth:`apply_overrides` can try again; the call
        then returns None instead of raising.
        """
        folder = arguments.source_path(folder, "load_dicom")
        arguments.text_or_none(series_uid, "load_dicom series_uid")
        source = {"kind": "dicom", "path": str(folder), "series_uid": series_uid}
        return self._convert(source, progress=progress)

    def set_pet_volume(self, volume_node, *, resolver: Callable | None = None):
        """Use a volume in the scene: kept if it is in SUV units, else converted to SUV from the DICOM files behind
        its ``DICOM.instanceUIDs`` (``resolver``: SOP Instance UID -> file, inside Slicer
        ``slicer.dicomDatabase.fileForInstance``). Returns the SUV volume, or None after a refusal."""
        arguments.node_or_none(volume_node, "vtkMRMLScalarVolumeNode", "set_pet_volume", self.scene)
        if volume_node is None:
            self._set_reference("petVolume", None)
            self._pet_id = None
            self._input_changed()
            return None
        if volume_suv_units(volume_node):
            self.suv_refusal = self.refusal_field = None
            self._pending_source = None
            self.logic.suv_volume(volume_node)  # adds the audit saying the volume came in SUV
            self._use_pet(volume_node)
            return volume_node
        self._resolver = resolver or self._resolver
        return self._convert({"kind": "volume", "node_id": volume_node.GetID()})

    def load_demo_phantom(self, *, place_points: bool = False):
        """Generate the synthetic Pentixafor phantom locally (no download), write it as PET DICOM in a temporary
        folder and load it with our reader, so the SUV audit is real. ``place_points`` also places the seven
        points at the design's seed points. Returns the SUV volume; the phantom is :attr:`demo_phantom`."""
        from ..phantom import PhantomOptions, make_phantom, write_phantom

        self.demo_phantom = make_phantom(PhantomOptions(radionuclide="Ga-68"))
        self._demo_folder = tempfile.TemporaryDirectory(prefix="pentixaforquant-demo-")
        write_phantom(self.demo_phantom, self._demo_folder.name)
        pet = self.load_dicom(Path(self._demo_folder.name) / "dicom")
        if pet is not None:
            pet.SetName("Pentixafor demo phantom SUVbw")
        if place_points:
            for site, ras in self.demo_phantom.truth.seed_points.items():
                self.place_site(site, ras)
        return pet

    def set_normalization(self, normalization: str) -> None:
        """Convert the PET again with another SUV normalisation (bw, lbm, bsa, ibw) and recompute."""
        self.set_parameter("normalization", normalization)  # -> parameter node modified -> reconvert

    def reconvert(self):
        """Convert the current (or refused) PET source again with the current normalisation and overrides."""
        source = self._pending_source
        pet = self.pet_node
        if source is None and pet is not None:
            text = pet.GetAttribute(_SOURCE_ATTRIBUTE)
            source = json.loads(text) if text else None
        if source is None:
            if pet is not None:
                self._refuse(SUVError(f"volume {pet.GetName()!r} came in SUV units; without its DICOM files its "
                                      "normalisation and SUV inputs cannot be changed"))
            return None
        return self._convert(source, replace=pet)

    def _overrides(self) -> SUVOverrides:
        return overrides_from_texts({name: self.parameter_node.GetParameter(name) for name in OVERRIDE_FIELDS})

    def _convert(self, source: dict, *, replace=None, progress: Callable | None = None):
        normalization = self._converted_normalization = self.get_parameter("normalization")
        try:
            overrides = self._overrides()
            if progress is not None:
                progress(0.0, "reading the PET DICOM headers")
            if source["kind"] == "dicom":
                slices = None if progress is None else (
                    lambda done, total: progress(0.95 * done / total, f"reading slice {done} of {total}"))
                node = self.logic.load_dicom(source["path"], normalization=normalization, overrides=overrides,
                                             series_uid=source.get("series_uid"), progress=slices)
            else:
                original = self.scene.GetNodeByID(source["node_id"])
                if original is None:
                    raise SUVError(f"the PET volume {source['node_id']} is no longer in the scene")
                node = self.logic.suv_volume(original, resolver=self._resolver, normalization=normalization,
                                             overrides=overrides)
        except PentixaforQuantError as exc:
            self._pending_source = source
            self._refuse(exc)
            return None
        if progress is not None:
            progress(1.0, "PET loaded")
        node.SetAttribute(_SOURCE_ATTRIBUTE, json.dumps(source))
        self._pending_source = None
        self.suv_refusal = self.refusal_field = None
        if replace is not None and replace is not node:
            node = self._replace_volume(replace, node)
        self._use_pet(node)
        return node

    def _replace_volume(self, old, new):
        """Move the new SUV image, units and audit into the volume already in use (keeps every reference)."""
        from .mrml import set_suv_units

        old.SetAndObserveImageData(new.GetImageData())
        set_suv_units(old, volume_suv_units(new))
        for attribute in (AUDIT_ATTRIBUTE, _SOURCE_ATTRIBUTE):
            old.SetAttribute(attribute, new.GetAttribute(attribute))
        name = old.GetName()
        self.scene.RemoveNode(new)
        old.SetName(name)
        return old

    def _refuse(self, exc: Exception) -> None:
        self.suv_refusal = str(exc)
        self.refusal_field = refusal_field(self.suv_refusal)
        self._notify()

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
        if site == LESION and self.study is not None and self.study.lesion is not None:
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
        except (PentixaforQuantError, ValueError) as exc:
            self.last_error = str(exc)
            self.study = None  # never the old numbers under refused points or parameters
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
        units = self._units()
        if site == LESION and study.lesion is not None:
            les = study.lesion
            value = les.stats.suv_max
            line = (f"SUVmax {value:.2f}, SUVpeak {les.peak.suv_peak:.2f}, SUVmean {les.stats.suv_mean:.2f} "
                    f"{units}; {les.stats.volume_ml:.2f} mL ({les.stats.voxels} voxels)")
            warnings = les.warnings
        elif site == AORTA and study.blood_pool is not None:
            bp = study.blood_pool
            value = bp.stats.suv_mean
            line = f"SUVmean {value:.2f} {units} (SD {bp.stats.suv_sd:.2f}, {bp.stats.voxels} voxels)"
            warnings = bp.warnings
        elif site in study.marrow:
            sp = study.marrow[site]
            value = sp.stats.suv_max
            line = f"SUVmax {value:.2f} {units} (SUVmean {sp.stats.suv_mean:.2f}, {sp.stats.voxels} voxels)"
            warnings = sp.warnings
        else:
            return SiteStatus(site, title, True, False, "pending", None, name, "placed, not measured yet", ras=ras)
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

    # ------------------------------------------------------------------------------------------------- SUV
    def audit(self) -> dict | None:
        """The SUV audit of the PET volume (inputs with their sources, decisions, factor), or None."""
        pet = self.pet_node
        text = pet.GetAttribute(AUDIT_ATTRIBUTE) if pet is not None else None
        return json.loads(text) if text else None

    def audit_rows(self) -> list[tuple[str, str, str]]:
        """(item, value, source) rows: each SUV input with its DICOM tag or "user override", each decision, the
        factor and units. After a refusal: one row naming the attribute and the field to fill."""
        if self.suv_refusal:
            field_words = OVERRIDE_FIELDS[self.refusal_field][1] if self.refusal_field else "the SUV inputs"
            return [("SUV refused", self.suv_refusal, f"fill in {field_words} and apply")]
        audit = self.audit()
        if not audit:
            return []
        rows = []
        for name, entry in (audit.get("inputs") or {}).items():
            value = entry.get("value") if isinstance(entry, dict) else entry
            source = entry.get("source", "") if isinstance(entry, dict) else ""
            rows.append((name, _text(value), str(source)))
        for n, decision in enumerate(audit.get("decisions") or [], start=1):
            rows.append((f"decision {n}", str(decision), "SUV rules"))
        if "factor" in audit:
            rows.append(("factor", _text(audit["factor"]), "SUV = modality value x factor"))
        elif "factors" in audit:
            values = list(audit["factors"].values())
            rows.append(("factor", f"{min(values):.6g} - {max(values):.6g} (per slice)", "SUV = modality value x factor"))
        rows.append(("units", str(audit.get("units", "")), "SUV normalisation"))
        return rows

    def set_override(self, name: str, text: str) -> None:
        """Fill one override field (text as typed; empty = use the header). Does not convert yet."""
        if name not in OVERRIDE_FIELDS:
            raise KeyError(f"{name!r} is not an override field; use one of {', '.join(OVERRIDE_FIELDS)}")
        self._updating_parameters = True
        try:
            self.parameter_node.SetParameter(name, "" if text is None else str(text))
        finally:
            self._updating_parameters = False

    def apply_overrides(self, **fields) -> object:
        """Set override fields (``overrideWeightKg="72"``, ...) and convert the PET again; recomputes.

        Returns the SUV volume, or None when the conversion is still refused (see :attr:`suv_refusal`).
        """
        for name, text in fields.items():
            self.set_override(name, text)
        return self.reconvert()

    def clear_overrides(self) -> object:
        return self.apply_overrides(**dict.fromkeys(OVERRIDE_FIELDS, ""))

    # ----------------------------------------------------------------------------------------------- output
    def export_csv(self, path) -> Path:
        """Write the results rows (with units in the header) to a CSV file, atomically."""
        from ..outputs.atomic import write_file_atomically
        from ..outputs.results import write_rows_csv

        path = arguments.output_file(path, "export_csv")
        if self.study is None:
            raise PentixaforQuantError("nothing to export: load a PET volume and place points first")
        with tempfile.TemporaryDirectory() as work:
            text = write_rows_csv(self.result_rows(), Path(work) / "sites.csv", units=self._units()).read_bytes()
        with arguments.writing(path, "export_csv"):
            return write_file_atomically(path, text)

    def export_study(self, folder, *, figure: bool = False) -> dict:
        """Write study.json, sites.csv, the segmentation and the scene bundle into ``folder`` (whole or not at
        all, like the command line's ``quantify``). Returns the written paths by kind."""
        from .quantify import write_study_outputs

        folder = arguments.output_folder(folder, "export_study")
        if self.study is None:
            raise PentixaforQuantError("nothing to export: load a PET volume and place points first")
        source = json.loads(self.pet_node.GetAttribute(_SOURCE_ATTRIBUTE) or "{}")
        with arguments.writing(folder, "export_study"):
            return write_study_outputs(self.logic, self.pet_node, self.points_node, self.study, folder,
                                       source=source, figure=figure)

    def export_dicom(self, folder) -> dict:
        """Write the study as DICOM SEG and SR TID 1500 (``seg.dcm``, ``sr.dcm``) into ``folder``, whole or not at
        all, in the PET's DICOM study (see ``StudyLogic.export_dicom``; needs highdicom). Returns the paths."""
        folder = arguments.output_folder(folder, "export_dicom")
        if self.study is None:
            raise PentixaforQuantError("nothing to export: load a PET volume and place points first")
        with arguments.writing(folder, "export_dicom"):
            return self.logic.export_dicom(self.pet_node, self.points_node, folder, study=self.study,
                                           resolver=self._resolver)

    @property
    def cohort_table(self):
        return self.parameter_node.GetNodeReference("cohortTable")

    def add_to_cohort(self, study_id: str | None = None, **fields) -> dict:
        """Add this study as one wide row to the cohort table node (created on first use); a row with the same
        study id is replaced. Fields default to the panel's (``diagnosis``, ``group``, ``uptake``,
        ``activity_mbq``, ``peptide_mass_ug``). Returns the row."""
        from ..outputs.cohort_row import COHORT_COLUMNS, COHORT_TEXT_COLUMNS, cohort_row

        arguments.text_or_none(study_id, "add_to_cohort study_id")
        g = self.get_parameter
        study_id = study_id or g("studyId") or (self.pet_node.GetName() if self.pet_node is not None else "")
        values = {"diagnosis": g("diagnosis"), "group": g("group"), "uptake": g("uptake"),
                  "activity_mbq": g("activityMBq"), "peptide_mass_ug": g("peptideMassUg")}
        values.update(fields)
        try:
            row = cohort_row(self.study, study_id=study_id, error="" if self.study else
                             (self.suv_refusal or self.last_error or "not measured"), **values)
        except ValueError as exc:
            raise PentixaforQuantError(f"cohort row: {exc}") from None
        table = self.cohort_table
        if table is None:
            table = self.scene.AddNewNodeByClass("vtkMRMLTableNode", _COHORT_NAME)
            self._set_reference("cohortTable", table)
            rows = []
        else:
            names = [table.GetTable().GetColumn(c).GetName() for c in range(table.GetNumberOfColumns())]
            if names and names != list(COHORT_COLUMNS):
                raise PentixaforQuantError(f"table {table.GetName()!r} is not a cohort table (its columns are not "
                                           "the cohort columns); choose another table or none")
            rows = read_rows_table(table, text_columns=COHORT_TEXT_COLUMNS)
        rows = [r for r in rows if r.get("study_id") != row["study_id"]] + [row]
        write_rows_table(table, rows, COHORT_COLUMNS, text_columns=COHORT_TEXT_COLUMNS)
        self._notify()
        return row

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


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def _plain(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
