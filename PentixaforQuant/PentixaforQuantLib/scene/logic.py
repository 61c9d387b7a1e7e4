"""The protocol on a Slicer scene: GUI-free, the same in the desktop panel, the Python console and headless.

Typical use (Slicer Python console, or headless with ``slicer-core``)::

    from PentixaforQuantLib.scene.logic import StudyLogic
    logic = StudyLogic()                               # Slicer's scene, or a new headless one
    pet = logic.load_dicom("/path/to/pet/series")        # SUVbw volume node with the SUV audit
    points = logic.new_points_node()                     # label points: lesion, aorta, C7, T12, L5, ...
    study = logic.measure(pet, points)                   # table + segmentation in the scene
    logic.observe(pet, points)                           # recompute when a point moves
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DicomExportError, NodeError, ParameterError, PentixaforQuantError, PointsError, SUVError
from ..measure.protocol import ProtocolParameters, StudyResult, measure_site
from ..measure.sites import ALL_SITES, ISOCONTOUR, SITE_TITLES, SITES
from ..outputs.dicom_export import build_dicom_outputs, check_dicom_export, write_dicom_outputs
from ..outputs.results import COLUMNS, study_rows
from ..suv import SUVOverrides, suv_conversion_for_suv_volume
from ..suv.audit import AuditRecord
from ..suv.series_reader import read_pet_headers, read_pet_volume, suv_of_loaded_volume
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

__all__ = ["StudyLogic", "StudyNodes", "SEGMENT_COLORS", "PET_REFERENCE", "DICOM_FILES_ATTRIBUTE",
           "observe_point_changes", "MOVING_MARKUP_INDEX_ATTRIBUTE", "REFUSAL_ATTRIBUTE"]

#: Segment colours per site (RGB 0-1).
SEGMENT_COLORS = {key: site.colour for key, site in SITES.items()}  # the table of sites' display colours

# Node references from the points node to its outputs: the association is saved with the scene.
_REF_RESULTS = "PentixaforQuant.ResultsTable"
_REF_PARAMETERS = "PentixaforQuant.ParametersTable"
_REF_SEGMENTATION = "PentixaforQuant.Segmentation"
#: Results table attribute: the protocol parameters of its numbers (JSON).
_PARAMETERS_ATTRIBUTE = "PentixaforQuant.Parameters"
#: Node reference from the results table, parameters table and segmentation to the PET volume they measure.
PET_REFERENCE = "PentixaforQuant.PETVolume"
#: Volume attribute: the PET DICOM files (JSON list) a volume was read from, for the DICOM SEG/SR export.
DICOM_FILES_ATTRIBUTE = "PentixaforQuant.DicomFiles"


# ------------------------------------------------------------------------------------ checks at the entry points
# Misuse of the Logic (None, a node of the wrong kind or from another scene, a points node without points, options
# of the wrong type) is refused here with a PentixaforQuantError subclass naming the argument, not left to fail as
# an AttributeError deep inside.


def _node_text(node) -> str:
    name = node.GetName() if hasattr(node, "GetName") else None
    kind = node.GetClassName() if hasattr(node, "GetClassName") else type(node).__name__
    return f"{kind} {name!r}" if name else kind


def _require_node(node, class_name: str, role: str, scene) -> None:
    """Refuse None, an object that is not an MRML node of ``class_name``, or a node outside ``scene``."""
    if node is None:
        raise NodeError(f"{role}: no node given (None); pass a {class_name}")
    is_a = getattr(node, "IsA", None)
    if not callable(is_a) or not is_a(class_name):
        raise NodeError(f"{role}: expected a {class_name}, got {_node_text(node)}")
    if node.GetScene() is not scene:
        raise NodeError(f"{role} {node.GetName()!r} is not in this logic's scene: add it to that scene first")


def _require_volume(node, role: str, scene) -> None:
    """A scalar volume node with one value per voxel (not a label map, not a vector volume), with image data."""
    _require_node(node, "vtkMRMLScalarVolumeNode", role, scene)
    if node.IsA("vtkMRMLLabelMapVolumeNode"):
        raise NodeError(f"{role} {node.GetName()!r} is a label map, not a PET volume")
    image = node.GetImageData()
    if image is None or image.GetNumberOfPoints() == 0:
        raise NodeError(f"{role} {node.GetName()!r} has no image data")
    if image.GetNumberOfScalarComponents() != 1:
        raise NodeError(f"{role} {node.GetName()!r} has {image.GetNumberOfScalarComponents()} values per voxel; "
                        "a PET volume has one")


def _require_parameters(parameters) -> None:
    if parameters is not None and not isinstance(parameters, ProtocolParameters):
        raise ParameterError(f"parameters: expected ProtocolParameters (or None for the defaults), got "
                             f"{type(parameters).__name__}")


def _require_overrides(overrides) -> None:
    if overrides is not None and not isinstance(overrides, SUVOverrides):
        raise ParameterError(f"overrides: expected SUVOverrides (or None), got {type(overrides).__name__}")


def _require_ras_points(points, role: str, *, sites_only: bool) -> None:
    """A mapping label -> three finite numbers (RAS, mm); with ``sites_only`` every key must be a site name."""
    if not isinstance(points, Mapping):
        raise PointsError(f"{role}: expected a mapping of site -> RAS point, got {type(points).__name__}")
    for label, ras in points.items():
        if sites_only and label not in ALL_SITES:
            raise PointsError(f"{role}: {str(label)[:40]!r} is not a site; use one of: {', '.join(ALL_SITES)}")
        try:
            values = np.asarray(ras, dtype=float)
        except (TypeError, ValueError):
            values = None
        if values is None or values.shape != (3,) or not np.all(np.isfinite(values)):
            raise PointsError(f"{role}: point {str(label)[:40]!r} is not three finite numbers (RAS, mm): "
                              f"{str(ras)[:60]}")


def _placed_point_count(points_node) -> int:
    import slicer

    defined = slicer.vtkMRMLMarkupsNode.PositionDefined
    return sum(points_node.GetNthControlPointPositionStatus(n) == defined
               for n in range(points_node.GetNumberOfControlPoints()))


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
    written: tuple | None = None  # (table, segmentation) IDs the cached results were last written to
    parameters_written: tuple | None = None  # what the parameters table and attributes were last written from


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
        #: Sites whose VOI the last :meth:`measure` computed (the others came from the cache).
        self.last_recomputed: set[str] = set()
        #: Site -> number of times its VOI was computed since this logic was made (each cache miss counts one).
        self.computations: Counter = Counter()

    # ----------------------------------------------------------------------------------------------- inputs
    def load_dicom(self, source, *, normalization: str = "bw", overrides=None, series_uid: str | None = None,
                   name: str | None = None, progress: Callable | None = None):
        """Read a PET DICOM series (folder or files), convert to SUV and add it as a volume node.

        The SUV audit is stored on the node (attribute ``PentixaforQuant.SUVAudit``) and saved with the scene.
        ``progress(slices_read, slices)`` is called as the pixel data is read.
        """
        _require_overrides(overrides)
        pet = read_pet_volume(source, series_uid=series_uid, normalization=normalization, overrides=overrides,
                              progress=progress)
        ds = pet.headers.datasets[0]
        default_name = str(getattr(ds, "SeriesDescription", "") or "PET") + f" {pet.conversion.units.split('}')[0][1:]}"
        node = add_suv_volume_node(self.scene, pet.suv, pet.grid, name=name or default_name,
                                   units=pet.conversion.units, audit=pet.conversion.to_dict(), copy=False)
        _remember_dicom_source(node, pet.headers.datasets, pet.headers.files)
        return node

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
        NodeError
            ``volume_node`` is not a scalar volume with image data in this logic's scene.
        """
        _require_volume(volume_node, "volume", self.scene)
        _require_overrides(overrides)
        if resolver is not None and not callable(resolver):
            raise NodeError(f"resolver: expected a function from SOP Instance UID to file, got "
                            f"{type(resolver).__name__}")
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
        pet = suv_of_loaded_volume(files, volume_array(volume_node), volume_grid(volume_node),
                                   name=f"volume {volume_node.GetName()!r}", normalization=normalization,
                                   overrides=overrides)
        conversion = pet.conversion
        node = add_suv_volume_node(self.scene, pet.suv, pet.grid, name=f"{volume_node.GetName()} {conversion.units}",
                                   units=conversion.units, audit=conversion.to_dict())
        node.SetAndObserveTransformNodeID(volume_node.GetTransformNodeID())
        _remember_dicom_source(node, pet.headers.datasets, pet.headers.files)
        return node

    def new_points_node(self, name: str = "Pentixafor points", points_ras: dict | None = None):
        """A markups point list for the sites; optionally filled with site -> world RAS points."""
        if not isinstance(name, str):
            raise NodeError(f"name: expected text, got {type(name).__name__}")
        if points_ras is not None:
            _require_ras_points(points_ras, "points_ras", sites_only=False)
        node = self.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", name)
        node.CreateDefaultDisplayNodes()
        for site, ras in (points_ras or {}).items():
            node.AddControlPoint([float(v) for v in ras], site)
        return node

    # ------------------------------------------------------------------------------------------ measuring
    def clear_outputs(self, points_node, reason: str | None = None) -> None:
        """Empty the results table and remove the VOI segments of the study placed with ``points_node`` (when
        they exist), and forget its cached sites and :attr:`last_study`: no numbers stay under points or
        parameters that were refused. ``reason`` (the refusal) is kept in the table's :data:`REFUSAL_ATTRIBUTE`;
        the next measurement writes the outputs anew."""
        _require_node(points_node, "vtkMRMLMarkupsFiducialNode", "points node", self.scene)
        results = points_node.GetNodeReference(_REF_RESULTS)
        if results is not None:
            write_table(results, [], COLUMNS)
            if reason is not None:
                results.SetAttribute(REFUSAL_ATTRIBUTE, str(reason))
        seg = points_node.GetNodeReference(_REF_SEGMENTATION)
        if seg is not None:
            seg.GetSegmentation().RemoveAllSegments()
        self._caches.pop(points_node.GetID() or str(id(points_node)), None)
        self.last_study = None

    def output_nodes(self, points_node) -> StudyNodes:
        """The results table, parameters table and segmentation of the study placed with ``points_node``
        (created on first use and referenced from the points node)."""
        _require_node(points_node, "vtkMRMLMarkupsFiducialNode", "points node", self.scene)
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

        Raises
        ------
        NodeError, PointsError, ParameterError, SUVError
            Arguments that are not what this method measures (see :meth:`_check_inputs`); a points node without any
            placed point (unless ``points_ras`` is given); a PET volume not in SUV units.
        """
        self._check_inputs(pet_node, points_node, parameters, roi_node, points_ras)
        if points_ras is None and _placed_point_count(points_node) == 0:
            raise PointsError(f"points node {points_node.GetName()!r} holds no placed points: place points labelled "
                              f"{', '.join(ALL_SITES)}")
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
        computed = set()
        for site, ras_world in points.items():
            bounded = SITES[site].voi == ISOCONTOUR  # the bounding ROI confines the isocontour growth only
            key = (tuple(np.round(ras_world, 6)), parameters, pet_node.GetID(), pet_node.GetImageData().GetMTime(),
                   transform_key, roi_key if bounded else None)
            if cache.keys.get(site) == key:
                outcome = cache.results[site]
            else:
                changed.add(site)
                computed.add(site)
                if bounded and roi_error is not None:
                    outcome = roi_error
                else:
                    outcome = measure_site(image, grid, site, to_local(ras_world), parameters, allowed=allowed,
                                           to_world=to_world)
                # A refusal replaces the earlier result: the row shows the error and no numbers, and the site's
                # segment is removed (it is not in the study's regions any more).
                cache.keys[site], cache.results[site] = key, outcome
            if isinstance(outcome, str):
                study.errors[site] = outcome
            else:
                study.put(site, outcome)
        for site in [s for s in cache.keys if s not in points]:
            del cache.keys[site], cache.results[site]
            changed.add(site)
        nodes = self.output_nodes(points_node)
        written = (nodes.results_table.GetID(), nodes.segmentation.GetID(), pet_node.GetID())
        if changed or cache.written != written:  # the same points again (e.g. two events for one click): no work
            self._write_outputs(study, nodes, pet_node, points, units, changed, cache)
            cache.written = written
        self.last_recomputed = computed
        self.computations.update(computed)
        self.last_study = study
        return study

    def _check_inputs(self, pet_node, points_node, parameters, roi_node, points_ras=None) -> None:
        """The arguments of :meth:`measure` and :meth:`observe`: nodes of the right kind in this scene, etc."""
        _require_volume(pet_node, "PET volume", self.scene)
        _require_node(points_node, "vtkMRMLMarkupsFiducialNode", "points node", self.scene)
        _require_parameters(parameters)
        if roi_node is not None:
            _require_node(roi_node, "vtkMRMLMarkupsROINode", "bounding ROI", self.scene)
        if points_ras is not None:
            _require_ras_points(points_ras, "points_ras", sites_only=True)

    def _write_outputs(self, study: StudyResult, nodes: StudyNodes, pet_node, points, units, changed,
                       cache: _Cache) -> None:
        write_table(nodes.results_table, study_rows(study, points), COLUMNS, suv_units=units)
        nodes.results_table.RemoveAttribute(REFUSAL_ATTRIBUTE)
        # The outputs name the PET they were measured on (saved with the scene).
        for node in (nodes.results_table, nodes.parameters_table, nodes.segmentation):
            node.SetNodeReferenceID(PET_REFERENCE, pet_node.GetID())
        audit_json = pet_node.GetAttribute(AUDIT_ATTRIBUTE)

        def parameters_key():  # what the parameters table and the results table's attributes are written from
            return (study.parameters, audit_json, pet_node.GetName(), units, nodes.parameters_table.GetMTime(),
                    nodes.results_table.GetAttribute(_PARAMETERS_ATTRIBUTE))

        # They do not change when a point moves: written again only when they do (or the nodes are new or edited).
        if cache.parameters_written != parameters_key():
            nodes.results_table.SetAttribute(_PARAMETERS_ATTRIBUTE, json.dumps(study.parameters.to_dict()))
            if audit_json:
                nodes.results_table.SetAttribute(AUDIT_ATTRIBUTE, audit_json)
            write_key_value_table(nodes.parameters_table, _parameter_items(study.parameters, audit_json, pet_node))
            cache.parameters_written = parameters_key()
        seg = nodes.segmentation
        segmentation = seg.GetSegmentation()
        regions = study.regions
        for site in SITE_TITLES:
            name = SITE_TITLES[site]
            if site in regions:
                if site in changed or not segmentation.GetSegmentIdBySegmentName(name):
                    set_segment_from_region(seg, name, regions[site], pet_node, SEGMENT_COLORS[site])
            else:
                segment_id = segmentation.GetSegmentIdBySegmentName(name)
                if segment_id:
                    segmentation.RemoveSegment(segment_id)

    # ------------------------------------------------------------------------------------------ DICOM
    def dicom_headers(self, pet_node, *, dicom_source=None, resolver: Callable | None = None,
                      observer_name: str | None = None):
        """The PET series headers of a volume, checked for the DICOM export (:func:`check_dicom_export`) before
        anything is measured: whether the export can be made is known from the headers alone.

        Raises
        ------
        DicomExportError
            No PET files for the volume, files of another series, highdicom missing, or an unfit PET header.
        """
        headers = read_pet_headers(_dicom_files(pet_node, dicom_source, resolver))
        expected = set((pet_node.GetAttribute("DICOM.instanceUIDs") or "").split())
        found = {str(ds.get("SOPInstanceUID", "")) for ds in headers.datasets}
        if expected and found != expected:
            raise DicomExportError(f"the DICOM files found are not the PET series of volume {pet_node.GetName()!r} "
                                   f"({len(found & expected)} of {len(expected)} instances match)")
        check_dicom_export(headers.datasets, headers.files, observer_name=observer_name)
        return headers

    def dicom_outputs(self, pet_node, points_node, *, study: StudyResult | None = None,
                      parameters: ProtocolParameters | None = None, roi_node=None, dicom_source=None,
                      resolver: Callable | None = None, observer_name: str | None = None, replaces=None):
        """The study as DICOM SEG + SR TID 1500 + RWVM (built and checked, not written): see
        ``outputs.dicom_export``.

        The PET instances are found from ``dicom_source`` (folder or files), else from the files this Logic read
        the volume from, else from the volume's ``DICOM.instanceUIDs`` through ``resolver`` (inside Slicer:
        ``slicer.dicomDatabase.fileForInstance``). ``study`` defaults to measuring the placed points now (after the
        PET headers were checked). ``observer_name`` names the reader who placed the points; ``replaces`` is the
        DICOM folder the export will replace (its report becomes the new one's predecessor).

        Raises
        ------
        DicomExportError
            No PET files for the volume, files of another series, highdicom missing, or an unfit PET header.
        """
        units = volume_suv_units(pet_node)
        if units is None:
            raise SUVError(f"volume {pet_node.GetName()!r} is not in SUV units: convert it first (suv_volume)")
        headers = self.dicom_headers(pet_node, dicom_source=dicom_source, resolver=resolver,
                                     observer_name=observer_name)
        if study is None:
            study = self.measure(pet_node, points_node, parameters=parameters, roi_node=roi_node)
        audit_json = pet_node.GetAttribute(AUDIT_ATTRIBUTE)
        return build_dicom_outputs(study, volume_grid(pet_node), headers.datasets, headers.grid, headers.series_uid,
                                   units=units, suv_audit=json.loads(audit_json) if audit_json else None,
                                   pet_files=headers.files, observer_name=observer_name, replaces=replaces)

    def export_dicom(self, pet_node, points_node, out_dir, **options) -> dict:
        """Write ``seg.dcm``, ``sr.dcm`` and ``rwvm.dcm`` of the study into ``out_dir`` (atomically); options as
        :meth:`dicom_outputs`; a report written there before becomes the new one's predecessor. Returns
        {"seg": path, "sr": path, "rwvm": path}."""
        options.setdefault("replaces", out_dir)
        return write_dicom_outputs(self.dicom_outputs(pet_node, points_node, **options), out_dir)

    # ------------------------------------------------------------------------------------------ observing
    def observe(self, pet_node, points_node, *, parameters: ProtocolParameters | None = None, roi_node=None) -> None:
        """Recompute when a point is placed, dropped after a drag, moved programmatically, cleared or removed (or
        the ROI changes); never on placement-preview or mid-drag moves (see :func:`observe_point_changes`)."""
        self._check_inputs(pet_node, points_node, parameters, roi_node)
        self.stop_observing()

        def update(reason=None, index=None):
            try:
                # The points are passed explicitly: while observing, a list without placed points is a valid state.
                study = self.measure(pet_node, points_node, parameters=parameters, roi_node=roi_node,
                                     points_ras=markups_site_points(points_node))
            except PentixaforQuantError as exc:  # e.g. a label that names no site while the user types it
                self.last_error = str(exc)
                self.clear_outputs(points_node, self.last_error)  # never the old numbers under the new points
                if self.on_update is not None:
                    self.on_update(None, self.output_nodes(points_node))
                return
            self.last_error = None
            if self.on_update is not None:
                self.on_update(study, self.output_nodes(points_node))

        self._observations += observe_point_changes(points_node, update)
        if roi_node is not None:
            import vtk

            self._observations.append((roi_node, roi_node.AddObserver(vtk.vtkCommand.ModifiedEvent,
                                                                      lambda caller, event: update("roi"))))
        self.last_error = None
        update("observe")

    def stop_observing(self) -> None:
        for node, tag in self._observations:
            node.RemoveObserver(tag)
        self._observations.clear()


#: On a results table whose points were refused (emptied by :meth:`StudyLogic.clear_outputs`): why.
REFUSAL_ATTRIBUTE = "PentixaforQuant.Refusal"

#: Set on a markups node by Slicer while the user drags one of its points (the index, as text).
MOVING_MARKUP_INDEX_ATTRIBUTE = "Markups.MovingMarkupIndex"


def observe_point_changes(points_node, on_change: Callable) -> list[tuple[object, int]]:
    """Call ``on_change(reason, index)`` when a point's measured position can have changed; return the
    ``(node, observer tag)`` pairs to remove later.

    Reasons: ``"defined"`` (``PointPositionDefinedEvent``: a click placed the point), ``"undefined"`` (cleared),
    ``"removed"``, ``"end-interaction"`` (``PointEndInteractionEvent``: a drag ended), ``"moved"`` (a
    ``PointModifiedEvent`` for a *defined* point outside any interaction: a move from Python or a label edit).

    Not reported: ``PointModifiedEvent`` while the point is previewed under the mouse during placement (status
    ``PositionPreview``) or while it is dragged (between ``PointStartInteractionEvent`` and
    ``PointEndInteractionEvent``, or while Slicer sets ``Markups.MovingMarkupIndex`` on the node). Slicer fires
    those on every mouse move; measuring on each would redo the VOI many times a second.
    """
    import slicer
    import vtk

    markups = slicer.vtkMRMLMarkupsNode
    dragging = set()  # indices between start and end of an interaction

    def index_of(calldata):
        return None if calldata is None else int(calldata)

    def make(reason):
        @vtk.calldata_type(vtk.VTK_INT)
        def callback(caller, event, calldata=None):
            index = index_of(calldata)
            if reason == "start-interaction":
                dragging.add(index)
                return
            if reason == "end-interaction":
                dragging.clear()
            if reason == "moved":
                if dragging or points_node.GetAttribute(MOVING_MARKUP_INDEX_ATTRIBUTE):
                    return
                if index is None or not (0 <= index < points_node.GetNumberOfControlPoints()):
                    return
                if points_node.GetNthControlPointPositionStatus(index) != markups.PositionDefined:
                    return  # placement preview (or an undefined point): nothing to measure yet
            on_change(reason, index)

        return callback

    events = (
        (markups.PointPositionDefinedEvent, "defined"),
        (markups.PointPositionUndefinedEvent, "undefined"),
        (markups.PointRemovedEvent, "removed"),
        (markups.PointStartInteractionEvent, "start-interaction"),
        (markups.PointEndInteractionEvent, "end-interaction"),
        (markups.PointModifiedEvent, "moved"),
    )
    return [(points_node, points_node.AddObserver(event, make(reason))) for event, reason in events]


def _remember_dicom_source(node, datasets, files) -> None:
    """Record which DICOM instances (and files) a volume came from, for the DICOM SEG/SR export."""
    node.SetAttribute("DICOM.instanceUIDs", " ".join(str(ds.get("SOPInstanceUID", "")) for ds in datasets))
    node.SetAttribute(DICOM_FILES_ATTRIBUTE, json.dumps([str(Path(f).resolve()) for f in files]))


def _dicom_files(pet_node, dicom_source, resolver) -> list:
    """The PET DICOM files of a volume (see :meth:`StudyLogic.dicom_outputs`)."""
    if dicom_source is not None:
        return dicom_source
    files = json.loads(pet_node.GetAttribute(DICOM_FILES_ATTRIBUTE) or "[]")
    if files and all(Path(f).is_file() for f in files):
        return files
    uids = (pet_node.GetAttribute("DICOM.instanceUIDs") or "").split()
    if uids and resolver is not None:
        resolved = [resolver(uid) for uid in uids]
        if all(resolved):
            return resolved
    raise DicomExportError(f"the PET DICOM files of volume {pet_node.GetName()!r} are not found (moved, or not "
                           "in the DICOM database): give the PET series folder")


def _parameter_items(parameters: ProtocolParameters, audit_json: str | None, pet_node) -> list[tuple[str, str, str]]:
    """Rows (name, value, source) for the parameters table: protocol parameters then the SUV audit."""
    items = [("PET volume", pet_node.GetName(), "scene"), ("SUV units", volume_suv_units(pet_node) or "", "volume")]

    def flatten(prefix, obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                flatten(f"{prefix}.{k}" if prefix else k, v)
        else:
            items.append((prefix, _json_text(obj), "protocol parameter"))

    flatten("", parameters.to_dict())
    if audit_json:
        audit = AuditRecord.from_dict(json.loads(audit_json))
        for entry in audit.inputs:
            if entry.source is not None:
                # Strings as they are: the table file (TSV) would drop JSON's quotes when the scene is reloaded.
                items.append((f"SUV input: {entry.name}", _json_text(entry.value), entry.source))
            else:
                items.append((f"SUV input: {entry.name}", json.dumps(entry.value), "SUV audit"))
        for n, decision in enumerate(audit.decisions, start=1):
            items.append((f"SUV decision {n}", decision, "SUV audit"))
        for key, value in audit.header.items():
            items.append((f"SUV {key}", _json_text(value), "SUV audit"))
    return items


def _json_text(value) -> str:
    """A table cell: text as it is (the TSV would drop JSON's quotes on reload), anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)
