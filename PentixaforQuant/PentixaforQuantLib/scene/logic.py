"""The protocol on a Slicer scene: GUI-free, the same in the desktop panel, the Python console and headless.

Typical use (Slicer Python console, or headless with ``slicer-core``)::

    from PentixaforQuantLib.logic import StudyLogic
    logic = StudyLogic()                               # Slicer's scene, or a new headless one
    pet = logic.load_dicom("/path/to/pet/series")        # SUVbw volume node with the SUV audit
    points = logic.new_points_node()                     # label points: lesion, aorta, C7, T12, L5, ...
    study = logic.measure(pet, points)                   # table + segmentation in the scene
    logic.observe(pet, points)                           # recompute when a point moves
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..suv.series_reader import read_pet_headers, read_pet_volume
from ..errors import PentixaforQuantError, SUVError
from .mrml import (
    AUDIT_ATTRIBUTE,
    add_suv_volume_node,
    markups_site_points,
    roi_region,
    set_segment_from_region,
    volume_array,
    volume_grid,
    volume_suv_units,
    volume_to_world,
    world_to_volume,
    write_key_value_table,
    write_table,
)
from ..measure.protocol import LesionResult, ProtocolParameters, SphereResult, StudyResult, measure_lesion, measure_sphere
from ..outputs.results import COLUMNS, study_rows
from ..measure.sites import AORTA, LESION, SITE_TITLES
from ..suv.conversion import compute_suv_conversion, suv_conversion_for_suv_volume

__all__ = ["StudyLogic", "StudyNodes", "SEGMENT_COLORS"]

#: Segment colours per site (RGB 0-1).
SEGMENT_COLORS = {
    LESION: (0.95, 0.15, 0.10),
    AORTA: (0.20, 0.45, 0.95),
    "C7": (0.95, 0.75, 0.10),
    "T12": (0.55, 0.85, 0.20),
    "L5": (0.10, 0.75, 0.65),
    "right_ilium": (0.70, 0.35, 0.85),
    "left_ilium": (0.95, 0.45, 0.70),
}

# Node references from the points node to its outputs: the association is saved with the scene.
_REF_RESULTS = "PentixaforQuant.ResultsTable"
_REF_PARAMETERS = "PentixaforQuant.ParametersTable"
_REF_SEGMENTATION = "PentixaforQuant.Segmentation"


@dataclass
class StudyNodes:
    """The scene nodes that hold one study's results."""

    results_table: object
    parameters_table: object
    segmentation: object


@dataclass
class _Cache:
    """Last measurement per site, so moving one point recomputes one site."""

    keys: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)


class StudyLogic:
    """The Pentixafor protocol on an MRML scene.

    Parameters
    ----------
    scene : vtkMRMLScene, optional
        Defaults to Slicer's scene in the desktop application, else a new headless scene.
    """

    def __init__(self, scene=None):
        self.headless = None  # headless only: keeps the module logics of the scene alive
        if scene is None:
            from .headless import new_scene

            scene, self.headless = new_scene()
        self.scene = scene
        self._caches: dict[str, _Cache] = {}
        self._observations: list[tuple[object, int]] = []
        self.last_study: StudyResult | None = None
        #: Called with (study, nodes) after every automatic recomputation (e.g. to refresh a view).
        self.on_update: Callable | None = None
        #: The refusal of the last automatic recomputation, if any (shown by the panel instead of a traceback).
        self.last_error: str | None = None

    # ----------------------------------------------------------------------------------------------- inputs
    def load_dicom(self, source, *, normalization: str = "bw", overrides=None, series_uid: str | None = None,
                   name: str | None = None):
        """Read a PET DICOM series (folder or files), convert to SUV and add it as a volume node.

        The SUV audit is stored on the node (attribute ``PentixaforQuant.SUVAudit``) and saved with the scene.
        """
        pet = read_pet_volume(source, series_uid=series_uid, normalization=normalization, overrides=overrides)
        ds = pet.headers.datasets[0]
        default_name = str(getattr(ds, "SeriesDescription", "") or "PET") + f" {pet.conversion.units.split('}')[0][1:]}"
        return add_suv_volume_node(self.scene, pet.suv, pet.grid, name=name or default_name,
                                   units=pet.conversion.units, audit=pet.conversion.to_dict())

    def suv_volume(self, volume_node, *, resolver: Callable | None = None, normalization: str = "bw",
                   overrides=None):
        """An SUV volume node for a PET volume already in the scene.

        - A volume already in SUV units (e.g. from Slicer's PET DICOM plugin) is used as is; the audit says so.
        - A volume loaded by Slicer's DICOM module in activity units is converted with the factors computed from
          the files behind its ``DICOM.instanceUIDs`` attribute; ``resolver`` maps a SOP Instance UID to a file
          (inside Slicer: ``slicer.dicomDatabase.fileForInstance``). A new SUV volume node is returned.

        Raises
        ------
        SUVError
            The volume is neither in SUV units nor traceable to its DICOM files.
        """
        units = volume_suv_units(volume_node)
        if units:
            if volume_node.GetAttribute(AUDIT_ATTRIBUTE) is None:
                volume_node.SetAttribute(AUDIT_ATTRIBUTE, json.dumps(suv_conversion_for_suv_volume(units).to_dict()))
            return volume_node
        uids = (volume_node.GetAttribute("DICOM.instanceUIDs") or "").split()
        if not uids:
            raise SUVError(
                f"volume {volume_node.GetName()!r} is not in SUV units and has no DICOM.instanceUIDs attribute: "
                "load the PET series with PentixaforQuant's DICOM loader or Slicer's DICOM module"
            )
        if resolver is None:
            raise SUVError("a resolver from SOP Instance UID to file is needed (slicer.dicomDatabase.fileForInstance)")
        files = [resolver(uid) for uid in uids]
        missing = [uid for uid, f in zip(uids, files) if not f]
        if missing:
            raise SUVError(f"{len(missing)} DICOM instances of {volume_node.GetName()!r} are not in the database "
                           f"(first: {missing[0]})")
        headers = read_pet_headers(files)
        conversion = compute_suv_conversion(headers.datasets, normalization=normalization, overrides=overrides)
        grid = volume_grid(volume_node)
        values = volume_array(volume_node)
        if len(headers.datasets) != grid.shape_kji[0]:
            raise SUVError(f"volume {volume_node.GetName()!r} has {grid.shape_kji[0]} slices but "
                           f"{len(headers.datasets)} DICOM instances")
        # Match each instance to its slice by position (the volume's slice order need not be the file order).
        k_of_instance = np.rint(grid.ras_to_continuous_ijk(headers.grid.ijk_to_ras_points(
            np.column_stack([np.zeros(len(headers.datasets)), np.zeros(len(headers.datasets)),
                             np.arange(len(headers.datasets))])))[:, 2]).astype(int)
        if sorted(k_of_instance.tolist()) != list(range(grid.shape_kji[0])):
            raise SUVError(f"the DICOM instances do not match the slices of {volume_node.GetName()!r}")
        factors = np.empty(grid.shape_kji[0], np.float32)
        factors[k_of_instance] = conversion.factors
        suv = values.astype(np.float32) * factors[:, None, None]
        node = add_suv_volume_node(self.scene, suv, grid, name=f"{volume_node.GetName()} {conversion.units}",
                                   units=conversion.units, audit=conversion.to_dict())
        node.SetAndObserveTransformNodeID(volume_node.GetTransformNodeID())
        return node

    def new_points_node(self, name: str = "Pentixafor points", points_ras: dict | None = None):
        """A markups point list for the sites; optionally filled with site -> world RAS points."""
        node = self.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", name)
        node.CreateDefaultDisplayNodes()
        for site, ras in (points_ras or {}).items():
            node.AddControlPoint([float(v) for v in ras], site)
        return node

    # ------------------------------------------------------------------------------------------ measuring
    def output_nodes(self, points_node) -> StudyNodes:
        """The results table, parameters table and segmentation of the study placed with ``points_node``
        (created on first use and referenced from the points node)."""
        base = points_node.GetName()

        def get(role, cls, suffix):
            node = points_node.GetNodeReference(role)
            if node is None:
                node = self.scene.AddNewNodeByClass(cls, f"{base} {suffix}")
                points_node.SetNodeReferenceID(role, node.GetID())
            return node

        seg = get(_REF_SEGMENTATION, "vtkMRMLSegmentationNode", "VOIs")
        if seg.GetDisplayNode() is None:
            seg.CreateDefaultDisplayNodes()
        return StudyNodes(get(_REF_RESULTS, "vtkMRMLTableNode", "results"),
                          get(_REF_PARAMETERS, "vtkMRMLTableNode", "parameters"), seg)

    def measure(self, pet_node, points_node, *, parameters: ProtocolParameters | None = None, roi_node=None,
                points_ras: dict | None = None) -> StudyResult:
        """Measure every placed site and write the table, parameters table and segments.

        Only sites whose point, parameters or bounding ROI changed since the last call are recomputed.
        Sites that cannot be measured are listed in ``StudyResult.errors`` and in the table (status "error").
        """
        parameters = parameters or ProtocolParameters()
        points = markups_site_points(points_node) if points_ras is None else points_ras
        units = volume_suv_units(pet_node)
        if units is None:
            raise SUVError(f"volume {pet_node.GetName()!r} is not in SUV units: convert it first (suv_volume)")
        image = volume_array(pet_node)
        grid = volume_grid(pet_node)
        to_local = world_to_volume(pet_node)
        to_world = volume_to_world(pet_node)
        allowed, roi_error = None, None
        if roi_node is not None:
            try:
                allowed = roi_region(roi_node, pet_node, grid)
            except PentixaforQuantError as exc:  # e.g. the ROI moved off the image: the lesion row says so
                roi_error = f"bounding ROI {roi_node.GetName()!r}: {exc}"
        roi_key = None if roi_node is None else (roi_node.GetID(), roi_node.GetMTime())
        cache = self._caches.setdefault(points_node.GetID() or str(id(points_node)), _Cache())
        transform_key = pet_node.GetParentTransformNode().GetMTime() if pet_node.GetParentTransformNode() else None
        study = StudyResult(parameters)
        changed = set()
        for site, ras_world in points.items():
            key = (tuple(np.round(ras_world, 6)), parameters, pet_node.GetID(), pet_node.GetImageData().GetMTime(),
                   transform_key, roi_key if site == LESION else None)
            if cache.keys.get(site) == key:
                outcome = cache.results[site]
            else:
                changed.add(site)
                if site == LESION and roi_error is not None:
                    outcome = roi_error
                else:
                    outcome = self._measure_site(site, image, grid, to_local(ras_world), parameters, allowed,
                                                 to_world)
                # A refusal replaces the earlier result: the row shows the error and no numbers, and the site's
                # segment is removed (it is not in the study's regions any more).
                cache.keys[site], cache.results[site] = key, outcome
            if isinstance(outcome, str):
                study.errors[site] = outcome
            elif site == LESION:
                study.lesion = outcome
            elif site == AORTA:
                study.blood_pool = outcome
            else:
                study.marrow[site] = outcome
        for site in [s for s in cache.keys if s not in points]:
            del cache.keys[site], cache.results[site]
            changed.add(site)
        nodes = self.output_nodes(points_node)
        self._write_outputs(study, nodes, pet_node, points, units, changed)
        self.last_study = study
        return study

    @staticmethod
    def _measure_site(site, image, grid, ras_local, parameters, allowed, to_world) -> LesionResult | SphereResult | str:
        try:
            if site == LESION:
                return measure_lesion(image, grid, ras_local, parameters, allowed=allowed, to_world=to_world)
            diameter = parameters.blood_pool_diameter_mm if site == AORTA else parameters.marrow_diameter_mm
            return measure_sphere(image, grid, site, ras_local, diameter, parameters, to_world=to_world)
        except PentixaforQuantError as exc:  # any refusal of this site, never a traceback or a stale row
            return str(exc)

    def _write_outputs(self, study: StudyResult, nodes: StudyNodes, pet_node, points, units, changed) -> None:
        write_table(nodes.results_table, study_rows(study, points), COLUMNS, suv_units=units)
        nodes.results_table.SetAttribute("PentixaforQuant.Parameters", json.dumps(study.parameters.to_dict()))
        audit_json = pet_node.GetAttribute(AUDIT_ATTRIBUTE)
        if audit_json:
            nodes.results_table.SetAttribute(AUDIT_ATTRIBUTE, audit_json)
        write_key_value_table(nodes.parameters_table, _parameter_items(study.parameters, audit_json, pet_node))
        seg = nodes.segmentation
        segmentation = seg.GetSegmentation()
        regions = {}
        if study.lesion is not None:
            regions[LESION] = study.lesion.region
        if study.blood_pool is not None:
            regions[AORTA] = study.blood_pool.region
        for site, sp in study.marrow.items():
            regions[site] = sp.region
        for site in SITE_TITLES:
            name = SITE_TITLES[site]
            if site in regions:
                if site in changed or not segmentation.GetSegmentIdBySegmentName(name):
                    set_segment_from_region(seg, name, regions[site], pet_node, SEGMENT_COLORS[site])
            else:
                segment_id = segmentation.GetSegmentIdBySegmentName(name)
                if segment_id:
                    segmentation.RemoveSegment(segment_id)

    # ------------------------------------------------------------------------------------------ observing
    def observe(self, pet_node, points_node, *, parameters: ProtocolParameters | None = None, roi_node=None) -> None:
        """Recompute whenever a point is placed, moved, renamed or removed (or the ROI changes)."""
        import slicer

        self.stop_observing()

        def update(caller=None, event=None):
            study = self.measure(pet_node, points_node, parameters=parameters, roi_node=roi_node)
            if self.on_update is not None:
                self.on_update(study, self.output_nodes(points_node))

        def guarded(caller, event):
            from ..errors import PentixaforQuantError

            try:
                update()
            except PentixaforQuantError as exc:  # e.g. a label that names no site while the user types it
                self.last_error = str(exc)

        events = (slicer.vtkMRMLMarkupsNode.PointModifiedEvent, slicer.vtkMRMLMarkupsNode.PointPositionDefinedEvent,
                  slicer.vtkMRMLMarkupsNode.PointRemovedEvent)
        for event in events:
            self._observations.append((points_node, points_node.AddObserver(event, guarded)))
        if roi_node is not None:
            import vtk

            self._observations.append((roi_node, roi_node.AddObserver(vtk.vtkCommand.ModifiedEvent, guarded)))
        self.last_error = None
        update()

    def stop_observing(self) -> None:
        for node, tag in self._observations:
            node.RemoveObserver(tag)
        self._observations.clear()


def _parameter_items(parameters: ProtocolParameters, audit_json: str | None, pet_node) -> list[tuple[str, str, str]]:
    """Rows (name, value, source) for the parameters table: protocol parameters then the SUV audit."""
    items = [("PET volume", pet_node.GetName(), "scene"), ("SUV units", volume_suv_units(pet_node) or "", "volume")]

    def flatten(prefix, obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                flatten(f"{prefix}.{k}" if prefix else k, v)
        else:
            items.append((prefix, json.dumps(obj) if not isinstance(obj, str) else obj, "protocol parameter"))

    flatten("", parameters.to_dict())
    if audit_json:
        audit = json.loads(audit_json)
        for name, entry in (audit.get("inputs") or {}).items():
            if isinstance(entry, dict):
                items.append((f"SUV input: {name}", json.dumps(entry.get("value")), str(entry.get("source", ""))))
            else:
                items.append((f"SUV input: {name}", json.dumps(entry), "SUV audit"))
        for n, decision in enumerate(audit.get("decisions") or [], start=1):
            items.append((f"SUV decision {n}", str(decision), "SUV audit"))
        for key in ("factor", "units", "suv_type", "decay_correction", "scan_datetime", "injection_datetime"):
            if key in audit and audit[key] is not None:
                items.append((f"SUV {key}", json.dumps(audit[key]) if not isinstance(audit[key], str) else audit[key],
                              "SUV audit"))
    return items
