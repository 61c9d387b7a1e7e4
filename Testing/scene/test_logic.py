"""The protocol on a real MRML scene (slicer-core): tables, segments, observers, transforms, saved scenes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import slicer
import vtk

from PentixaforQuantLib.errors import SUVError
from PentixaforQuantLib.scene.logic import StudyLogic
from PentixaforQuantLib.scene.mrml import (AUDIT_ATTRIBUTE, results_table_cells, save_scene_bundle, segment_mask,
                                           volume_grid)
from PentixaforQuantLib.phantom import PhantomOptions, add_sphere_lesion, bladder_adjacent_lesion, make_phantom
from PentixaforQuantLib.measure.sites import MARROW_SITES, SITE_TITLES


def test_measure_writes_the_table_with_units_and_the_known_answers(measured):
    logic, pet, points, study, phantom = measured
    expected = phantom.truth.expected
    nodes = logic.output_nodes(points)
    rows = results_table_cells(nodes.results_table)
    assert list(rows) == ["lesion", "aorta", *MARROW_SITES, "TBR", "meanSUVmax"]
    assert float(rows["lesion"]["SUVmax"]) == pytest.approx(expected["lesion"]["suv_max"], abs=2e-3)
    assert int(float(rows["lesion"]["Voxels"])) == expected["lesion"]["voxels"]
    assert float(rows["aorta"]["SUVmean"]) == pytest.approx(expected["blood_pool"]["suv_mean"], abs=2e-3)
    assert float(rows["TBR"]["Value"]) == pytest.approx(expected["tbr"], abs=1e-2)
    assert float(rows["meanSUVmax"]["Value"]) == pytest.approx(expected["mean_suv_max"], abs=2e-3)
    for site in MARROW_SITES:
        assert float(rows[site]["SUVmax"]) == pytest.approx(expected["marrow"][site]["suv_max"], abs=2e-3)
        assert rows[site]["Status"] == "ok"
    table = nodes.results_table
    assert table.GetColumnUnitLabel("SUVmax") == "{SUVbw}g/ml"
    assert table.GetColumnUnitLabel("Volume") == "mL"
    assert "40 % isocontour of SUVmax, 6-connected" in rows["lesion"]["Method"]
    # Every number carries its definition: parameters and SUV audit on the table node and in the parameters table.
    assert json.loads(table.GetAttribute("PentixaforQuant.Parameters"))["isocontour"]["connectivity"] == 6
    assert json.loads(table.GetAttribute(AUDIT_ATTRIBUTE))["units"] == "{SUVbw}g/ml"
    names = [nodes.parameters_table.GetTable().GetValue(r, 0).ToString()
             for r in range(nodes.parameters_table.GetTable().GetNumberOfRows())]
    assert "isocontour.threshold_fraction" in names and any(n.startswith("SUV decision") for n in names)


def test_segments_are_the_measured_voxels(measured):
    logic, pet, points, study, phantom = measured
    seg = logic.output_nodes(points).segmentation
    assert seg.GetSegmentation().GetNumberOfSegments() == 7
    grid = volume_grid(pet)
    lesion = segment_mask(seg, SITE_TITLES["lesion"], grid)
    np.testing.assert_array_equal(lesion, phantom.mask(phantom.truth.target_lesion))
    aorta = segment_mask(seg, SITE_TITLES["aorta"], grid)
    assert aorta.sum() == phantom.truth.expected["blood_pool"]["voxels"]
    assert np.all(phantom.mask("aorta")[aorta])


def test_moving_a_point_recomputes_the_table_and_the_segment(measured):
    logic, pet, points, study, phantom = measured
    logic.observe(pet, points)
    nodes = logic.output_nodes(points)
    other = phantom.truth.structure("lesion_28mm")
    index = [points.GetNthControlPointLabel(n) for n in range(points.GetNumberOfControlPoints())].index("lesion")
    points.SetNthControlPointPositionWorld(index, *other.center_ras)  # fires PointModifiedEvent
    rows = results_table_cells(nodes.results_table)
    assert float(rows["lesion"]["SUVmax"]) == pytest.approx(other.suv, abs=2e-3)
    assert int(float(rows["lesion"]["Voxels"])) == other.voxel_count
    mask = segment_mask(nodes.segmentation, SITE_TITLES["lesion"], volume_grid(pet))
    np.testing.assert_array_equal(mask, phantom.mask("lesion_28mm"))
    # Removing a marrow point: meanSUVmax says how many sites it used.
    points.RemoveNthControlPoint([points.GetNthControlPointLabel(n) for n in
                                  range(points.GetNumberOfControlPoints())].index("C7"))
    rows = results_table_cells(nodes.results_table)
    assert rows["C7"]["Status"] == "missing"
    assert rows["meanSUVmax"]["Name"] == "meanSUVmax (4 sites)"
    used = [s for s in MARROW_SITES if s != "C7"]
    expected = np.mean([phantom.truth.expected["marrow"][s]["suv_max"] for s in used])
    assert float(rows["meanSUVmax"]["Value"]) == pytest.approx(expected, abs=2e-3)
    assert seg_names(nodes.segmentation) == {SITE_TITLES[s] for s in ("lesion", "aorta", *used)}
    logic.stop_observing()


def test_the_parameters_table_is_written_when_its_inputs_change_not_on_every_move(measured):
    from PentixaforQuantLib.measure.protocol import ProtocolParameters

    logic, pet, points, study, phantom = measured
    nodes = logic.output_nodes(points)
    table = nodes.parameters_table

    def parameter_rows():
        t = table.GetTable()
        return {t.GetValue(r, 0).ToString(): t.GetValue(r, 1).ToString() for r in range(t.GetNumberOfRows())}

    written = table.GetMTime()
    moved = {**phantom.truth.seed_points, "aorta": np.asarray(phantom.truth.seed_points["aorta"]) + [1.0, 0, 0]}
    logic.measure(pet, points, points_ras=moved)
    assert logic.last_recomputed == {"aorta"} and table.GetMTime() == written  # a move leaves it as it is
    logic.measure(pet, points, points_ras=moved, parameters=ProtocolParameters(marrow_diameter_mm=12.0))
    assert parameter_rows()["marrow_diameter_mm"] == "12.0"
    assert json.loads(nodes.results_table.GetAttribute("PentixaforQuant.Parameters"))["marrow_diameter_mm"] == 12.0
    table.RemoveAllColumns()  # edited by someone else: written again at the next measurement
    logic.measure(pet, points, points_ras=phantom.truth.seed_points, parameters=ProtocolParameters(
        marrow_diameter_mm=12.0))
    assert parameter_rows()["marrow_diameter_mm"] == "12.0"
    pet.SetName("renamed PET")
    logic.measure(pet, points, points_ras=moved, parameters=ProtocolParameters(marrow_diameter_mm=12.0))
    assert parameter_rows()["PET volume"] == "renamed PET"


def seg_names(seg) -> set[str]:
    s = seg.GetSegmentation()
    return {s.GetNthSegment(n).GetName() for n in range(s.GetNumberOfSegments())}


def test_parent_transform_on_the_volume_is_honoured(headless, phantom_study):
    phantom, folder = phantom_study
    logic = StudyLogic(headless.scene)
    pet = logic.load_dicom(folder / "dicom")
    shift = np.array([12.0, -7.0, 20.0])
    transform = headless.scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    m = vtk.vtkMatrix4x4()
    for a in range(3):
        m.SetElement(a, 3, shift[a])
    transform.SetMatrixTransformToParent(m)
    pet.SetAndObserveTransformNodeID(transform.GetID())
    # The user clicks where the structures are shown: shifted.
    points = logic.new_points_node(points_ras={k: np.asarray(v) + shift for k, v in phantom.truth.seed_points.items()})
    study = logic.measure(pet, points)
    assert study.lesion.stats.voxels == phantom.truth.expected["lesion"]["voxels"]
    # Uniform sphere: every voxel ties at SUVmax and the peak is the lowest-index voxel of the lesion.
    k, j, i = np.argwhere(phantom.mask(phantom.truth.target_lesion))[0]
    np.testing.assert_allclose(study.lesion.peak_ras, phantom.grid.ijk_to_ras_points([i, j, k]) + shift, atol=1e-6)
    assert study.blood_pool.stats.suv_mean == pytest.approx(2.0, abs=2e-3)
    seg = logic.output_nodes(points).segmentation
    assert seg.GetTransformNodeID() == transform.GetID()


def test_scene_bundle_reloads_with_the_same_numbers(measured, tmp_path):
    from PentixaforQuantLib.scene.headless import HeadlessSlicer

    logic, pet, points, study, phantom = measured
    mrb = save_scene_bundle(logic.scene, tmp_path / "study.mrb")
    before = results_table_cells(logic.output_nodes(points).results_table)

    other = HeadlessSlicer.create()
    other.open_bundle(mrb, tmp_path / "unpacked")
    pet2 = other.scene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
    points2 = other.scene.GetFirstNodeByClass("vtkMRMLMarkupsFiducialNode")
    assert json.loads(pet2.GetAttribute(AUDIT_ATTRIBUTE))["units"] == "{SUVbw}g/ml"
    table2 = points2.GetNodeReference("PentixaforQuant.ResultsTable")
    reloaded = results_table_cells(table2)
    assert float(reloaded["lesion"]["SUVmax"]) == pytest.approx(float(before["lesion"]["SUVmax"]), abs=1e-4)
    assert reloaded["lesion"]["Method"] == before["lesion"]["Method"]
    # Recomputing in the reloaded scene gives the same study.
    study2 = StudyLogic(other.scene).measure(pet2, points2)
    assert study2.lesion.stats.voxels == study.lesion.stats.voxels
    assert study2.lesion.peak.suv_peak == pytest.approx(study.lesion.peak.suv_peak, abs=1e-5)
    assert study2.tbr == pytest.approx(study.tbr, abs=1e-5)
    seg2 = points2.GetNodeReference("PentixaforQuant.Segmentation")
    np.testing.assert_array_equal(segment_mask(seg2, SITE_TITLES["lesion"], volume_grid(pet2)),
                                  phantom.mask(phantom.truth.target_lesion))
    other.scene.Clear(1)


def test_volume_loaded_by_slicers_dicom_reader_gets_suv_from_its_files(headless, phantom_study,
                                                                      slicer_dicom_volume):
    """The path of a PET series loaded by Slicer's DICOM module: activity values + DICOM.instanceUIDs."""
    phantom, folder = phantom_study
    activity, by_uid = slicer_dicom_volume
    logic = StudyLogic(headless.scene)
    with pytest.raises(SUVError, match="resolver"):
        logic.suv_volume(activity)
    suv_node = logic.suv_volume(activity, resolver=by_uid.get)
    assert suv_node.GetAttribute("DICOM.MeasurementUnitsCodeValue") == "{SUVbw}g/ml"
    suv = slicer.util.arrayFromVolume(suv_node)
    mask = phantom.mask(phantom.truth.target_lesion)
    assert suv[mask].max() == pytest.approx(12.0, abs=5e-3)
    np.testing.assert_allclose(suv, phantom.suv, atol=5e-3)


def test_volume_already_in_suv_units_is_used_as_is(measured):
    logic, pet, points, study, phantom = measured
    pet.RemoveAttribute(AUDIT_ATTRIBUTE)
    assert logic.suv_volume(pet) is pet
    audit = json.loads(pet.GetAttribute(AUDIT_ATTRIBUTE))
    assert any("as is" in d for d in audit["decisions"])


def test_bladder_leak_is_flagged_and_a_bounding_roi_confines_it(headless):
    lesion = bladder_adjacent_lesion()
    phantom = make_phantom(add_sphere_lesion(PhantomOptions(), lesion.center_ras, lesion.diameter_mm, lesion.suv,
                                             lesion.name))
    from PentixaforQuantLib.scene.mrml import add_suv_volume_node

    logic = StudyLogic(headless.scene)
    pet = add_suv_volume_node(headless.scene, phantom.suv, phantom.grid, name="PET", units="{SUVbw}g/ml")
    points = logic.new_points_node(points_ras={"lesion": lesion.center_ras})
    study = logic.measure(pet, points)
    assert study.lesion.voi.leaked and study.lesion.voi.codes == ["hotter_structure_excluded"]
    row = results_table_cells(logic.output_nodes(points).results_table)["lesion"]
    # The table shows one short line per warning, and its full text (with what to do) in the next column.
    assert row["Status"] == "warning" and row["Notes"] == "; ".join(study.lesion.warnings)
    details = [w.detail for w in study.lesion.warning_records]
    assert row["Warning details"] == " | ".join(details) and "bounding ROI" in details[0]

    roi = headless.scene.AddNewNodeByClass("vtkMRMLMarkupsROINode")
    # A box around the lesion whose lower face stays above the bladder dome (the bladder top is at S = -260).
    r, a, s = lesion.center_ras
    roi.SetCenter(r, a, s + 4.0)
    roi.SetSize(lesion.diameter_mm + 8, lesion.diameter_mm + 8, 20.0)
    study = logic.measure(pet, points, roi_node=roi)
    assert not study.lesion.voi.leaked
    assert study.lesion.stats.suv_max == pytest.approx(lesion.suv, abs=1e-4)
    in_lesion = phantom.mask(lesion.name)
    full = study.lesion.region.full_mask(phantom.grid.shape_kji)
    assert np.all(in_lesion[full])


def test_a_point_in_air_is_an_error_row_not_a_traceback(measured):
    logic, pet, points, study, phantom = measured
    grid = volume_grid(pet)
    corner = grid.ijk_to_ras_points([1, 1, 1])  # outside the body, inside the image
    index = [points.GetNthControlPointLabel(n) for n in range(points.GetNumberOfControlPoints())].index("aorta")
    points.SetNthControlPointPositionWorld(index, *corner)
    study = logic.measure(pet, points)
    assert "outside the body" in study.errors["aorta"]
    rows = results_table_cells(logic.output_nodes(points).results_table)
    assert rows["aorta"]["Status"] == "error" and "outside the body" in rows["aorta"]["Notes"]
    assert rows["TBR"]["Status"] == "missing"
    assert study.lesion is not None  # the other sites are still measured


def test_observe_ignores_preview_and_mid_drag_moves_and_recomputes_the_moved_site_only(measured):
    import slicer

    from PentixaforQuantLib.scene.logic import MOVING_MARKUP_INDEX_ATTRIBUTE

    logic, pet, points, study, phantom = measured
    markups = slicer.vtkMRMLMarkupsNode
    updates = []
    logic.on_update = lambda study, nodes: updates.append(study)
    logic.observe(pet, points)
    labels = [points.GetNthControlPointLabel(n) for n in range(points.GetNumberOfControlPoints())]
    # Hover moves of a point being placed (PositionPreview): PointModifiedEvent only, nothing measured.
    preview = points.AddControlPoint([0.0, 0.0, 0.0], "extra lesion")
    points.UnsetNthControlPointPosition(preview)
    before, n_updates = logic.computations.copy(), len(updates)
    for x in range(8):
        points.SetNthControlPointPosition(preview, float(x), 0.0, 0.0, markups.PositionPreview)
    # A drag of the T12 point: many moves between start and end of the interaction, and Slicer's moving attribute.
    t12 = labels.index("T12")
    start = np.array(phantom.truth.seed_points["T12"])
    points.InvokeEvent(markups.PointStartInteractionEvent)
    points.SetAttribute(MOVING_MARKUP_INDEX_ATTRIBUTE, str(t12))
    for dz in (2.0, 4.0, 6.0, 4.0):
        points.SetNthControlPointPositionWorld(t12, *(start + [0.0, 0.0, dz]))
    assert logic.computations == before and len(updates) == n_updates
    points.RemoveAttribute(MOVING_MARKUP_INDEX_ATTRIBUTE)
    points.InvokeEvent(markups.PointEndInteractionEvent)
    assert logic.computations - before == {"T12": 1} and len(updates) == n_updates + 1
    # One defined move from Python (no interaction): that site only, once.
    before = logic.computations.copy()
    points.SetNthControlPointPositionWorld(t12, *start)
    assert logic.computations - before == {"T12": 1}
    assert logic.last_study.marrow["T12"].stats.suv_max == pytest.approx(
        phantom.truth.expected["marrow"]["T12"]["suv_max"], abs=2e-3)
    logic.stop_observing()
def test_a_refused_recomputation_replaces_the_stale_row_and_segment(measured):
    """Moving the lesion point onto background, or the ROI off the image, shows the error, not the old numbers."""
    logic, pet, points, study, phantom = measured
    logic.observe(pet, points)
    nodes = logic.output_nodes(points)
    rows = results_table_cells(nodes.results_table)
    assert rows["lesion"]["Status"] == "ok" and float(rows["lesion"]["SUVmax"]) > 0
    assert SITE_TITLES["lesion"] in seg_names(nodes.segmentation)
    # A point in plain soft tissue (inside the body, away from any structure): no uptake focus there.
    index = [points.GetNthControlPointLabel(n) for n in range(points.GetNumberOfControlPoints())].index("lesion")
    background = np.asarray(phantom.truth.seed_points["aorta"], float) + [0.0, 60.0, 0.0]
    points.SetNthControlPointPositionWorld(index, *background)  # fires PointModifiedEvent: recomputed
    rows = results_table_cells(nodes.results_table)
    assert rows["lesion"]["Status"] == "error"
    assert rows["lesion"]["Notes"].startswith("no uptake focus at RAS")
    for column in ("SUVmax", "SUVmean", "SUVpeak", "Volume", "Voxels"):
        assert rows["lesion"][column] in ("", "nan"), column
    assert rows["TBR"]["Status"] == "missing"
    assert SITE_TITLES["lesion"] not in seg_names(nodes.segmentation)
    assert rows["aorta"]["Status"] == "ok"  # the other sites keep their numbers
    assert logic.last_study.errors["lesion"].startswith("no uptake focus")
    # Back on the lesion: numbers and segment return.
    points.SetNthControlPointPositionWorld(index, *phantom.truth.seed_points["lesion"])
    rows = results_table_cells(nodes.results_table)
    assert rows["lesion"]["Status"] in ("ok", "warning") and float(rows["lesion"]["SUVmax"]) > 0
    assert SITE_TITLES["lesion"] in seg_names(nodes.segmentation)
    logic.stop_observing()

    # A bounding ROI moved off the image refuses the lesion only (a recomputation, not an exception).
    roi = logic.scene.AddNewNodeByClass("vtkMRMLMarkupsROINode")
    roi.SetCenter(5000.0, 0.0, 0.0)
    roi.SetSize(20.0, 20.0, 20.0)
    study = logic.measure(pet, points, roi_node=roi)
    rows = results_table_cells(nodes.results_table)
    assert rows["lesion"]["Status"] == "error" and "holds no voxel centre" in rows["lesion"]["Notes"]
    assert rows["lesion"]["SUVmax"] in ("", "nan")
    assert SITE_TITLES["lesion"] not in seg_names(nodes.segmentation)
    assert study.blood_pool is not None and rows["aorta"]["Status"] == "ok"
