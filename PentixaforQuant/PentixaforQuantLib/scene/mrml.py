"""MRML adapter: between Slicer nodes and the library's arrays, grids, regions and rows.

Uses only MRML classes that exist both in the Slicer desktop application and in ``slicer-core``; no Qt, no
``slicer.app``. Arrays are views on the node's image data (``[k, j, i]``) where possible, so a whole-body volume is
never copied to be measured.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import PentixaforQuantError, PointsError
from ..geometry import VoxelGrid
from ..measure.sites import canonical_site
from ..measure.regions import RegionMask, box_region
from ..suv.codes import SUV_QUANTITY, project_suv_units, suv_units_code

__all__ = [
    "AUDIT_ATTRIBUTE",
    "add_suv_volume_node",
    "volume_grid",
    "volume_array",
    "volume_suv_units",
    "world_to_volume",
    "volume_to_world",
    "markups_site_points",
    "roi_region",
    "set_segment_from_region",
    "segment_mask",
    "write_table",
    "write_key_value_table",
    "write_rows_table",
    "read_rows_table",
    "results_table_cells",
    "set_suv_units",
    "apply_pet_display",
    "PET_WINDOW_SUV",
    "save_node",
    "save_scene_bundle",
]

#: Node attribute holding the SUV audit (JSON); MRML attributes are saved with the scene.
AUDIT_ATTRIBUTE = "PentixaforQuant.SUVAudit"


def _vtk_matrix(array4x4):
    import vtk

    m = vtk.vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            m.SetElement(r, c, float(array4x4[r][c]))
    return m


def _numpy_matrix(vtk_matrix) -> np.ndarray:
    return np.array([[vtk_matrix.GetElement(r, c) for c in range(4)] for r in range(4)])


#: Arrays whose memory a volume node's image uses (:func:`add_suv_volume_node` with ``copy=False``), by id; each is
#: released when VTK deletes the image's voxel array.
_SHARED_ARRAYS: dict[int, np.ndarray] = {}


def _shared_image_data(suv: np.ndarray):
    """A ``vtkImageData`` whose voxels are the memory of ``suv`` (float32, C order), kept alive exactly as long
    as VTK's voxel array (a DeleteEvent observer lets go of it, so no copy outlives the volume either)."""
    import vtk

    flat = suv.reshape(-1)
    voxels = vtk.vtkFloatArray()
    voxels.SetNumberOfComponents(1)
    voxels.SetVoidArray(flat, flat.size, 1)  # 1: VTK does not free this memory; numpy does, after the release
    key = id(flat)
    _SHARED_ARRAYS[key] = flat
    voxels.AddObserver(vtk.vtkCommand.DeleteEvent, lambda *_, key=key: _SHARED_ARRAYS.pop(key, None))
    image = vtk.vtkImageData()
    image.SetDimensions(suv.shape[2], suv.shape[1], suv.shape[0])
    image.GetPointData().SetScalars(voxels)
    return image


def add_suv_volume_node(scene, suv: np.ndarray, grid: VoxelGrid, *, name: str, units: str, audit: dict | None = None,
                        copy: bool = True):
    """Add a ``vtkMRMLScalarVolumeNode`` holding an SUV image, with its geometry, units and audit.

    The voxel value units follow Slicer's PET convention (UCUM code such as ``{SUVbw}g/ml``), so other Slicer
    modules (Segment Statistics, PET-IndiC) recognise the volume as SUV. With ``copy=False`` the node's image
    uses the memory of ``suv`` (float32, C order, handed over: the caller no longer changes it), so a whole-body
    volume is not held twice while it is added.
    """
    import slicer
    import slicer.util

    if suv.shape != grid.shape_kji:
        raise ValueError(f"image shape {suv.shape} does not match the grid {grid.shape_kji}")
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    node.SetIJKToRASMatrix(_vtk_matrix(grid.ijk_to_ras))
    if copy or suv.dtype != np.float32 or not suv.flags.c_contiguous:
        slicer.util.updateVolumeFromArray(node, np.ascontiguousarray(suv, dtype=np.float32))
    else:
        node.SetAndObserveImageData(_shared_image_data(suv))
    set_suv_units(node, units)
    if audit is not None:
        node.SetAttribute(AUDIT_ATTRIBUTE, json.dumps(audit))
    # The display node gets its fixed window before it observes the volume: the default display node would first
    # compute an automatic window from a histogram of the whole image (about 1 s on a whole-body scan).
    display = scene.AddNewNodeByClass("vtkMRMLScalarVolumeDisplayNode")
    display.AutoWindowLevelOff()
    node.SetAndObserveDisplayNodeID(display.GetID())
    apply_pet_display(node)
    return node


#: SUV window of the reading preset: marrow (SUVmax about 2-5 with Pentixafor) sits mid-grey, the blood pool light,
#: lesions dark; the usual 0-6 reading window of PET.
PET_WINDOW_SUV = (0.0, 6.0)


def apply_pet_display(node, window_suv=PET_WINDOW_SUV) -> None:
    """The Pentixafor reading preset on a PET volume: inverted grey, fixed SUV window (no auto window/level)."""
    if node.GetDisplayNode() is None:
        node.CreateDefaultDisplayNodes()
    display = node.GetDisplayNode()
    display.SetAndObserveColorNodeID("vtkMRMLColorTableNodeInvertedGrey")
    display.AutoWindowLevelOff()
    display.SetWindowLevelMinMax(*window_suv)


def set_suv_units(node, units: str) -> None:
    """Mark a volume as SUV: voxel value quantity DCM 126400 "Standardized Uptake Value" and the UCUM units code,
    as Slicer's PET DICOM extension does, so Segment Statistics and QuantitativeReporting read it as SUV."""
    import slicer

    quantity = slicer.vtkCodedEntry()
    quantity.SetValueSchemeMeaning(*SUV_QUANTITY)  # read by Segment Statistics and QuantitativeReporting
    node.SetVoxelValueQuantity(quantity)
    entry = slicer.vtkCodedEntry()
    entry.SetValueSchemeMeaning(*suv_units_code(units))
    node.SetVoxelValueUnits(entry)
    node.SetAttribute("DICOM.MeasurementUnitsCodeValue", units)  # what Slicer's PET DICOM plugin sets


def volume_suv_units(node) -> str | None:
    """The SUV units of a volume node (``{SUV...}...``), or None if the volume is not in SUV.

    Either spelling is read: ``{SUVbw}g/ml`` (Slicer's PET DICOM plugin, this module) and the CID 85 code
    ``g/ml{SUVbw}`` (a Real World Value Map, e.g. this module's own, loaded by Slicer's RWVM plugin)."""
    entry = node.GetVoxelValueUnits()
    code = entry.GetCodeValue() if entry is not None else None
    code = code or node.GetAttribute("DICOM.MeasurementUnitsCodeValue")
    if code and not code.startswith("{SUV"):
        code = project_suv_units(code)
    return code if code and code.startswith("{SUV") else None


def volume_grid(node) -> VoxelGrid:
    """Geometry of a volume node in its own (untransformed) RAS frame."""
    import vtk

    image = node.GetImageData()
    if image is None:
        raise PentixaforQuantError(f"volume {node.GetName()!r} has no image data")
    m = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(m)
    i, j, k = image.GetDimensions()
    return VoxelGrid(_numpy_matrix(m), (k, j, i))


def volume_array(node) -> np.ndarray:
    """The voxel array ``[k, j, i]`` of a volume node, as a view (no copy)."""
    import slicer.util

    return slicer.util.arrayFromVolume(node)


def _transform_between(from_node, to_node):
    import slicer
    import vtk

    t = vtk.vtkGeneralTransform()
    slicer.vtkMRMLTransformNode.GetTransformBetweenNodes(from_node, to_node, t)
    return t


def world_to_volume(node) -> Callable:
    """Function mapping world RAS points to the volume's own RAS frame (honours parent transforms)."""
    t = _transform_between(None, node.GetParentTransformNode())
    return lambda ras: np.asarray(t.TransformPoint([float(v) for v in ras]), float)


def volume_to_world(node) -> Callable:
    """Function mapping the volume's own RAS frame to world RAS (honours parent transforms)."""
    t = _transform_between(node.GetParentTransformNode(), None)
    return lambda ras: np.asarray(t.TransformPoint([float(v) for v in ras]), float)


def markups_site_points(markups_node) -> dict[str, np.ndarray]:
    """Site -> world RAS of the defined control points of a markups node, named by their labels.

    Raises
    ------
    PointsError
        A label names no site, or a site is placed twice.
    """
    import slicer

    points, first = {}, {}
    for n in range(markups_node.GetNumberOfControlPoints()):
        if markups_node.GetNthControlPointPositionStatus(n) != slicer.vtkMRMLMarkupsNode.PositionDefined:
            continue  # being placed
        label = markups_node.GetNthControlPointLabel(n)
        site = canonical_site(label)
        if site in points:
            first_label, first_n = first[site]
            raise PointsError(f"{first_label!r} (point {first_n + 1}) and {label!r} (point {n + 1}) in "
                              f"{markups_node.GetName()!r} both name site {site!r}; keep one")
        first[site] = (label, n)
        ras = [0.0, 0.0, 0.0]
        markups_node.GetNthControlPointPositionWorld(n, ras)
        points[site] = np.array(ras)
    return points


def roi_region(roi_node, volume_node, grid: VoxelGrid) -> RegionMask:
    """Voxels of the volume whose centres lie inside a (possibly rotated) markups ROI box.

    The ROI's centre and axes are mapped into the volume's own frame through any parent transforms (linearised at
    the ROI centre, exact for linear transforms).
    """
    # The ROI's object frame has its origin at the ROI centre and its axes along the box edges.
    o2w = _numpy_matrix(roi_node.GetObjectToWorldMatrix())
    center_world = o2w[:3, 3]
    to_volume = world_to_volume(volume_node)
    center = to_volume(center_world)
    axes = np.column_stack([to_volume(center_world + o2w[:3, a]) - center for a in range(3)])
    return box_region(grid, center, np.array(roi_node.GetSize(), float) / 2.0, axes)


def set_segment_from_region(segmentation_node, segment_name: str, region: RegionMask, volume_node,
                            color: Sequence[float] = (1.0, 0.0, 0.0)) -> str:
    """Create or replace the segment ``segment_name`` with the voxels of a region (written as its box only)."""
    import slicer
    import vtk
    from vtk.util import numpy_support

    segmentation = segmentation_node.GetSegmentation()
    if segmentation_node.GetNodeReference("referenceImageGeometryRef") is None:
        segmentation_node.SetReferenceImageGeometryParameterFromVolumeNode(volume_node)
    segment_id = segmentation.GetSegmentIdBySegmentName(segment_name)
    if not segment_id:
        segment_id = segmentation.AddEmptySegment(segment_name, segment_name, list(color))
        if not segment_id:
            raise RuntimeError("segmentation converter rules are not registered (no Segmentations logic)")
    k, j, i = region.box
    image = slicer.vtkOrientedImageData()
    image.SetExtent(i.start, i.stop - 1, j.start, j.stop - 1, k.start, k.stop - 1)
    image.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 1)
    numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(region.mask.shape)[:] = region.mask
    ijk_to_ras = vtk.vtkMatrix4x4()
    volume_node.GetIJKToRASMatrix(ijk_to_ras)
    image.SetImageToWorldMatrix(ijk_to_ras)
    # Follow the volume's parent transform so the segment stays on the lesion in world space.
    segmentation_node.SetAndObserveTransformNodeID(volume_node.GetTransformNodeID())
    logic = slicer.vtkSlicerSegmentationsModuleLogic
    if not logic.SetBinaryLabelmapToSegment(image, segmentation_node, segment_id, logic.MODE_REPLACE,
                                            image.GetExtent()):
        raise RuntimeError(f"cannot write segment {segment_name!r}")
    return segment_id


def segment_mask(segmentation_node, segment_name: str, grid: VoxelGrid) -> np.ndarray:
    """Full ``[k, j, i]`` boolean mask of a segment on the PET grid (for checks and exports)."""
    import slicer
    import vtk
    from vtk.util import numpy_support

    segmentation = segmentation_node.GetSegmentation()
    segment_id = segmentation.GetSegmentIdBySegmentName(segment_name)
    if not segment_id:
        raise KeyError(segment_name)
    labelmap = slicer.vtkOrientedImageData()
    segmentation_node.GetBinaryLabelmapRepresentation(segment_id, labelmap)
    out = np.zeros(grid.shape_kji, bool)
    extent = labelmap.GetExtent()
    if extent[1] < extent[0]:
        return out
    m = vtk.vtkMatrix4x4()
    labelmap.GetImageToWorldMatrix(m)
    if not np.allclose(_numpy_matrix(m), grid.ijk_to_ras, atol=1e-4):
        raise ValueError(f"segment {segment_name!r} is not on the PET grid")
    dims = (extent[5] - extent[4] + 1, extent[3] - extent[2] + 1, extent[1] - extent[0] + 1)
    values = numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars()).reshape(dims)
    k0, j0, i0 = extent[4], extent[2], extent[0]
    # Clip the labelmap extent to the image (labelmaps may extend beyond it).
    src = [slice(max(0, -o), min(d, s - o)) for o, d, s in zip((k0, j0, i0), dims, grid.shape_kji)]
    dst = tuple(slice(o + sl.start, o + sl.stop) for o, sl in zip((k0, j0, i0), src))
    out[dst] = values[tuple(src)] != 0  # this call extracts the segment alone (0/1)
    return out


#: Result-row keys (``outputs.results.COLUMNS``) whose values are text; the others are numbers.
_TEXT_KEYS = frozenset({"site", "title", "status", "method", "notes", "details"})


def write_table(table_node, rows: list[dict], columns, *, suv_units: str = "") -> None:
    """Fill a table node: one column per ``columns`` entry (titled, with unit and description), one row per dict."""
    write_rows_table(table_node, [{c.title: row.get(c.key) for c in columns} for row in rows],
                     [c.title for c in columns], text_columns={c.title for c in columns if c.key in _TEXT_KEYS},
                     units={c.title: suv_units if c.unit == "SUV" else c.unit for c in columns},
                     descriptions={c.title: c.description for c in columns})


def write_key_value_table(table_node, items: list[tuple[str, str, str]]) -> None:
    """Fill a table node with (name, value, source) rows: the parameters and the SUV audit of a study."""
    names = ("Name", "Value", "Source")
    write_rows_table(table_node, [dict(zip(names, map(str, item))) for item in items], names, text_columns=names)


def write_rows_table(table_node, rows: list[dict], columns: Sequence[str], *, text_columns=frozenset(),
                     units: Mapping[str, str] | None = None, descriptions: Mapping[str, str] | None = None) -> None:
    """Fill a table node with one column per name in ``columns`` (numbers as doubles, NaN = empty, unless the name
    is in ``text_columns``) and one row per dict; ``units`` and ``descriptions`` (by column name) label the
    columns."""
    import vtk

    table_node.RemoveAllColumns()
    for name in columns:
        text = name in text_columns
        arr = vtk.vtkStringArray() if text else vtk.vtkDoubleArray()
        arr.SetName(name)
        arr.SetNumberOfTuples(len(rows))
        for r, row in enumerate(rows):
            value = row.get(name)
            if text:
                arr.SetValue(r, "" if value is None else str(value))
            else:
                arr.SetValue(r, float("nan") if value is None else float(value))
        table_node.AddColumn(arr)
        if units and units.get(name):
            table_node.SetColumnUnitLabel(name, units[name])
        if descriptions and name in descriptions:
            table_node.SetColumnDescription(name, descriptions[name])
    table_node.SetUseColumnTitleAsColumnHeader(True)
    table_node.Modified()


def read_rows_table(table_node, *, text_columns=frozenset()) -> list[dict]:
    """The rows of a table node as dicts by column name (inverse of :func:`write_rows_table`; NaN -> None)."""
    table = table_node.GetTable()
    names = [table.GetColumn(c).GetName() for c in range(table.GetNumberOfColumns())]
    rows = []
    for r in range(table.GetNumberOfRows()):
        row = {}
        for c, name in enumerate(names):
            cell = table.GetValue(r, c)
            if name in text_columns:
                row[name] = cell.ToString()
            else:
                value = cell.ToDouble() if cell.IsNumeric() else float(cell.ToString() or "nan")
                row[name] = None if value != value else value
        rows.append(row)
    return rows


def results_table_cells(table_node) -> dict[str, dict[str, str]]:
    """The cells of a results table node (:func:`write_table`) as text, by site key (the "Site" column), then
    column title."""
    table = table_node.GetTable()
    titles = [table.GetColumn(c).GetName() for c in range(table.GetNumberOfColumns())]
    rows = {}
    for r in range(table.GetNumberOfRows()):
        row = {t: table.GetValue(r, c).ToString() for c, t in enumerate(titles)}
        rows[row["Site"]] = row
    return rows


def save_node(node, path) -> Path:
    """Write one node with its default storage node class (volume, segmentation, table, markups)."""
    path = Path(path)
    storage = node.CreateDefaultStorageNode()
    if hasattr(storage, "SetCropToMinimumExtent"):  # a segmentation: its VOIs' extent, not the whole image
        storage.SetCropToMinimumExtent(True)
    storage.SetFileName(str(path))
    if not storage.WriteData(node):
        raise OSError(f"cannot write {path}")
    return path


def save_scene_bundle(scene, mrb_path) -> Path:
    """Write the whole scene as a Slicer data bundle (``.mrb``), which opens in Slicer with every node."""
    import tempfile

    mrb_path = Path(mrb_path)
    with tempfile.TemporaryDirectory() as work:
        scene.SetRootDirectory(work)
        if not scene.WriteToMRB(str(mrb_path.resolve())):  # relative paths would resolve against work
            raise OSError(f"cannot write scene bundle {mrb_path}")
    return mrb_path
