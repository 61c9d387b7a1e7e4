"""The panel controller on a real MRML scene (slicer-core), driven the way the Slicer panel and the web reader
drive it: markups events included, answers checked against the phantom's design values."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pydicom
import pytest
import slicer

from dicom_builders import load_like_slicers_dicom_module
from PentixaforQuantLib.measure.sites import MARROW_SITES, SITE_TITLES
from PentixaforQuantLib.outputs.cohort_row import COHORT_COLUMNS
from PentixaforQuantLib.scene.headless import HeadlessSlicer
from PentixaforQuantLib.scene.logic import MOVING_MARKUP_INDEX_ATTRIBUTE
from PentixaforQuantLib.scene.mrml import AUDIT_ATTRIBUTE, read_rows_table, save_scene_bundle
from PentixaforQuantLib.scene.panel import PANEL_SITES, PARAMETERS, PanelController

M = slicer.vtkMRMLMarkupsNode


@pytest.fixture
def panel(headless, phantom_study):
    """A controller with the phantom's PET loaded through our reader; no point placed yet."""
    phantom, folder = phantom_study
    controller = PanelController(headless.scene)
    assert controller.load_dicom(folder / "dicom") is not None
    yield controller, phantom
    controller.close()


@pytest.fixture
def placed(panel):
    controller, phantom = panel
    for site in PANEL_SITES:
        assert controller.place_at(phantom.truth.seed_points[site]) == site
    return controller, phantom


def _index(controller, site):
    points = controller.points_node
    return [points.GetNthControlPointLabel(n) for n in range(points.GetNumberOfControlPoints())].index(site)


def test_one_fixed_list_of_seven_prelabelled_unplaced_points(panel):
    controller, _ = panel
    points = controller.points_node
    assert points.GetNumberOfControlPoints() == 7
    assert points.GetFixedNumberOfControlPoints()
    assert [points.GetNthControlPointLabel(n) for n in range(7)] == list(PANEL_SITES)
    assert points.GetNthControlPointDescription(1) == SITE_TITLES["aorta"] == "Blood pool (aortic arch)"  # as the outputs
    assert all(points.GetNthControlPointPositionStatus(n) == M.PositionUndefined for n in range(7))
    assert controller.next_site == "lesion"
    assert [s.line for s in controller.site_statuses()] == ["not placed"] * 7
    assert controller.summary_lines() == ["TBR: needs the target lesion and the aortic arch",
                                          "meanSUVmax: needs at least one marrow site"]


def test_clicks_fill_the_sites_in_order_with_the_design_values(placed):
    controller, phantom = placed
    expected = phantom.truth.expected
    assert controller.next_site is None
    statuses = {s.site: s for s in controller.site_statuses()}
    assert statuses["lesion"].value == pytest.approx(expected["lesion"]["suv_max"], abs=2e-3)
    assert f"({expected['lesion']['voxels']} voxels)" in statuses["lesion"].line
    assert statuses["aorta"].value_name == "SUVmean"
    assert statuses["aorta"].value == pytest.approx(expected["blood_pool"]["suv_mean"], abs=2e-3)
    for site in MARROW_SITES:
        assert statuses[site].status == "ok"
        assert statuses[site].value == pytest.approx(expected["marrow"][site]["suv_max"], abs=2e-3)
    assert controller.study.tbr == pytest.approx(expected["tbr"], abs=1e-2)
    assert controller.summary_lines()[1] == f"meanSUVmax (5 of 5 sites): {expected['mean_suv_max']:.2f}"
    rows = {r["site"]: r for r in controller.result_rows()}
    assert rows["meanSUVmax"]["value"] == pytest.approx(expected["mean_suv_max"], abs=2e-3)
    assert controller.results_table.GetNumberOfRows() == 9
    assert controller.segmentation.GetSegmentation().GetNumberOfSegments() == 7
    # VOIs are shown as outlines over the PET.
    display = controller.segmentation.GetDisplayNode()
    assert display.GetVisibility2DOutline() and not display.GetVisibility2DFill()
    # Each click measured its own site once; nothing was measured twice.
    assert controller.logic.computations == dict.fromkeys(PANEL_SITES, 1)


def test_placement_preview_moves_do_not_recompute_and_the_click_measures_that_site_only(placed):
    controller, phantom = placed
    logic = controller.logic
    assert controller.start_placing("L5") == "L5"  # re-place: the site is cleared first
    assert not controller.is_placed("L5") and controller.next_site == "L5"
    assert controller.site_status("L5").status == "placing"
    assert "L5" not in controller.study.marrow
    assert controller.points_node.GetControlPointPlacementStartIndex() == _index(controller, "L5")
    before = logic.computations.copy()
    index = _index(controller, "L5")
    target = np.array(phantom.truth.seed_points["L5"])
    for step in range(5):  # the point follows the mouse in preview: PointModifiedEvent each time
        controller.points_node.SetNthControlPointPosition(index, *(target + [step, 0.0, 0.0]), M.PositionPreview)
    assert logic.computations == before
    # The click: preview -> defined at the last position (PointPositionDefinedEvent).
    controller.points_node.SetNthControlPointPosition(index, *target, M.PositionDefined)
    assert logic.computations - before == {"L5": 1}
    assert controller.placing_site is None and controller.next_site is None
    assert controller.site_status("L5").value == pytest.approx(phantom.truth.expected["marrow"]["L5"]["suv_max"],
                                                               abs=2e-3)


def test_a_drag_recomputes_once_at_its_end_for_the_dragged_site(placed):
    controller, phantom = placed
    logic, points = controller.logic, controller.points_node
    index = _index(controller, "lesion")
    other = phantom.truth.structure("lesion_28mm")
    before = logic.computations.copy()
    points.InvokeEvent(M.PointStartInteractionEvent)
    points.SetAttribute(MOVING_MARKUP_INDEX_ATTRIBUTE, str(index))
    start = np.array(phantom.truth.seed_points["lesion"])
    for t in np.linspace(0.0, 1.0, 6):
        points.SetNthControlPointPositionWorld(index, *(start + t * (np.array(other.center_ras) - start)))
    assert logic.computations == before  # mid-drag: nothing measured
    points.RemoveAttribute(MOVING_MARKUP_INDEX_ATTRIBUTE)
    points.InvokeEvent(M.PointEndInteractionEvent)
    assert logic.computations - before == {"lesion": 1}
    assert controller.study.lesion.stats.voxels == other.voxel_count
    assert controller.study.lesion.stats.suv_max == pytest.approx(other.suv, abs=2e-3)


def test_clearing_a_site_removes_its_row_value_and_segment(placed):
    controller, phantom = placed
    controller.clear_site("C7")
    status = controller.site_status("C7")
    assert (status.placed, status.status, status.line) == (False, "missing", "not placed")
    used = [s for s in MARROW_SITES if s != "C7"]
    mean = np.mean([phantom.truth.expected["marrow"][s]["suv_max"] for s in used])
    assert controller.study.mean_suv_max == pytest.approx(mean, abs=2e-3)
    assert controller.summary_lines()[1].startswith("meanSUVmax (4 of 5 sites)")
    seg = controller.segmentation.GetSegmentation()
    assert not seg.GetSegmentIdBySegmentName(SITE_TITLES["C7"])
    assert controller.next_site == "C7"


def test_a_parameter_change_recomputes_with_the_new_definition(placed):
    controller, phantom = placed
    voxels_15 = controller.study.marrow["T12"].stats.voxels
    controller.set_parameter("marrowDiameterMm", 9.0)
    assert controller.study.parameters.marrow_diameter_mm == 9.0
    assert controller.study.marrow["T12"].stats.voxels < voxels_15
    assert controller.parameter_node.GetParameter("marrowDiameterMm") == "9.0"  # the wrapper's text format
    # A change written straight to the parameter node (what the widget's binding does) also recomputes.
    controller.parameter_node.SetParameter("tbrNumerator", "suv_mean")
    assert controller.summary_lines()[0].startswith("TBR (SUVmean lesion / SUVmean blood pool)")
    with pytest.raises(ValueError, match="connectivity must be one of 6, 18, 26"):
        controller.set_parameter("connectivity", 8)


def test_a_refusal_names_the_attribute_and_the_field_and_an_override_recomputes(headless, phantom_study, tmp_path):
    phantom, folder = phantom_study
    shutil.copytree(folder / "dicom", tmp_path / "dicom")
    for path in (tmp_path / "dicom").iterdir():
        ds = pydicom.dcmread(path)
        del ds.PatientWeight
        ds.save_as(path)
    controller = PanelController(headless.scene)
    assert controller.load_dicom(tmp_path / "dicom") is None
    assert "PatientWeight (0010,1030)" in controller.suv_refusal
    assert controller.refusal_field == "overrideWeightKg"
    (row,) = controller.audit_rows()
    assert row[0] == "SUV refused" and row[2] == "fill in weight (kg) and apply"
    pet = controller.apply_overrides(overrideWeightKg="70")
    assert pet is not None and controller.suv_refusal is None
    inputs = json.loads(pet.GetAttribute(AUDIT_ATTRIBUTE))["inputs"]
    assert inputs["weight_kg"] == {"value": 70.0, "source": "user override"}
    controller.place_at(phantom.truth.seed_points["lesion"])
    assert controller.study.lesion.stats.suv_max == pytest.approx(phantom.truth.expected["lesion"]["suv_max"],
                                                                  abs=2e-3)
    # Another weight converts the same volume node again and recomputes: SUVbw scales with the weight.
    same = controller.apply_overrides(overrideWeightKg="140")
    assert same is pet and controller.pet_node is pet
    assert controller.study.lesion.stats.suv_max == pytest.approx(2 * phantom.truth.expected["lesion"]["suv_max"],
                                                                  rel=1e-4)
    assert any(r[0] == "weight_kg" and r[2] == "user override" for r in controller.audit_rows())
    controller.close()


def test_an_override_that_cannot_be_read_is_refused_in_one_line(panel):
    controller, _ = panel
    assert controller.apply_overrides(overrideDoseMBq="lots") is None
    assert controller.suv_refusal == "override injected activity (MBq): 'lots' is not a number"
    assert controller.refusal_field == "overrideDoseMBq"


def test_a_date_without_a_clock_time_is_refused_not_read_as_midnight(panel):
    controller, _ = panel
    assert controller.apply_overrides(overrideInjectionDateTime="2025-01-01") is None
    assert "has a date but no time of day" in controller.suv_refusal
    assert controller.refusal_field == "overrideInjectionDateTime"


def test_the_normalisation_converts_again(placed):
    controller, _ = placed
    bw = controller.study.lesion.stats.suv_max
    controller.set_normalization("lbm")
    assert controller.state()["units"] == "{SUVlbm(Janma)}g/ml"
    assert controller.results_table.GetColumnUnitLabel("SUVmax") == "{SUVlbm(Janma)}g/ml"
    assert controller.study.lesion.stats.suv_max < bw  # lean body mass < body weight


def test_the_volume_is_marked_as_suv_for_other_slicer_modules(panel):
    controller, _ = panel
    pet = controller.pet_node
    quantity, units = pet.GetVoxelValueQuantity(), pet.GetVoxelValueUnits()
    assert (quantity.GetCodeValue(), quantity.GetCodingSchemeDesignator(), quantity.GetCodeMeaning()) == (
        "126400", "DCM", "Standardized Uptake Value")
    assert (units.GetCodeValue(), units.GetCodingSchemeDesignator(), units.GetCodeMeaning()) == (
        "{SUVbw}g/ml", "UCUM", "Standardized Uptake Value body weight")


def test_export_csv_and_cohort_rows(placed, tmp_path):
    controller, phantom = placed
    path = controller.export_csv(tmp_path / "sites.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][3] == "SUVmax [{SUVbw}g/ml]" and len(rows) == 10
    assert float(rows[1][3]) == pytest.approx(phantom.truth.expected["lesion"]["suv_max"], abs=1e-3)

    controller.set_parameter("diagnosis", "MM")
    controller.add_to_cohort("S1", uptake="yes", activity_mbq="150", peptide_mass_ug="3")
    controller.add_to_cohort("S1", uptake="yes", activity_mbq="160", peptide_mass_ug="4")  # replaces S1
    controller.clear_site("C7")
    controller.add_to_cohort("S2", uptake="no")
    table = controller.cohort_table
    assert [table.GetTable().GetColumn(c).GetName() for c in range(table.GetNumberOfColumns())] == list(COHORT_COLUMNS)
    rows = read_rows_table(table, text_columns={"study_id", "diagnosis", "group", "uptake", "warnings", "error"})
    assert [r["study_id"] for r in rows] == ["S1", "S2"]
    s1, s2 = rows
    assert s1["diagnosis"] == "MM" and s1["activity_mbq"] == 160.0 and s1["specific_activity_mbq_per_ug"] == 40.0
    assert s1["suv_max"] == pytest.approx(phantom.truth.expected["lesion"]["suv_max"], abs=2e-3)
    assert s1["C7"] == pytest.approx(phantom.truth.expected["marrow"]["C7"]["suv_max"], abs=2e-3)
    assert s1["marrow_sites_used"] == 5 and s2["marrow_sites_used"] == 4 and s2["C7"] is None
    assert s2["activity_mbq"] is None and s2["uptake"] == "no"


def test_export_study_writes_the_command_line_outputs(placed, tmp_path):
    controller, phantom = placed
    paths = controller.export_study(tmp_path / "out")
    assert {p.name for p in paths.values()} == {"study.json", "sites.csv", "vois.seg.nrrd", "study.mrb"}
    doc = json.loads(paths["study.json"].read_text(encoding="utf-8"))
    assert doc["tbr"] == pytest.approx(phantom.truth.expected["tbr"], abs=1e-2)
    assert doc["suv"]["units"] == "{SUVbw}g/ml" and doc["source"]["kind"] == "dicom"


def test_export_dicom_writes_seg_and_sr_of_the_panels_study(placed, phantom_study, tmp_path):
    pytest.importorskip("highdicom")
    controller, phantom = placed
    paths = controller.export_dicom(tmp_path / "dicom")
    seg, sr = pydicom.dcmread(paths["seg"]), pydicom.dcmread(paths["sr"])
    pet = pydicom.dcmread(next((phantom_study[1] / "dicom").glob("*.dcm")), stop_before_pixels=True)
    assert seg.Modality == "SEG" and sr.Modality == "SR"
    assert len(seg.SegmentSequence) == len(PANEL_SITES)
    assert seg.StudyInstanceUID == sr.StudyInstanceUID == pet.StudyInstanceUID

    def numbers(item):  # every NUM content item of the SR tree: (concept meaning, value)
        for child in getattr(item, "ContentSequence", []):
            if child.ValueType == "NUM":
                yield child.ConceptNameCodeSequence[0].CodeMeaning, float(child.MeasuredValueSequence[0].NumericValue)
            yield from numbers(child)

    found = list(numbers(sr))
    study = controller.study
    assert sum(meaning == "Volume" for meaning, _ in found) == len(PANEL_SITES)  # one measurement group per site
    values = [value for _, value in found]
    for expected in (study.lesion.stats.suv_max, study.blood_pool.stats.suv_mean, study.tbr, study.mean_suv_max):
        assert any(v == pytest.approx(expected, rel=1e-12) for v in values), expected  # DS keeps 16 characters
    assert study.lesion.stats.suv_max == pytest.approx(phantom.truth.expected["lesion"]["suv_max"], abs=2e-3)


def test_the_scene_brings_the_panel_back(placed, tmp_path):
    controller, phantom = placed
    controller.set_parameter("marrowDiameterMm", 11.0)
    controller.add_to_cohort("S1")
    before = [s.to_dict() for s in controller.site_statuses()]
    mrb = save_scene_bundle(controller.scene, tmp_path / "study.mrb")

    other = HeadlessSlicer.create()
    other.open_bundle(mrb, tmp_path / "unpacked")
    again = PanelController(other.scene)
    assert again.parameter_node.GetParameter("marrowDiameterMm") == "11.0"
    assert again.pet_node.GetName() == controller.pet_node.GetName()
    assert again.points_node.GetFixedNumberOfControlPoints()
    after = [s.to_dict() for s in again.site_statuses()]
    assert [(s["status"], s["line"]) for s in after] == [(s["status"], s["line"]) for s in before]
    assert [s["value"] for s in after] == pytest.approx([s["value"] for s in before], abs=1e-6)
    assert again.cohort_table.GetNumberOfRows() == 1
    assert again.segmentation.GetSegmentation().GetNumberOfSegments() == 7
    # It is live again: a click re-places a site in the reloaded scene.
    again.start_placing("lesion")
    assert again.place_at(phantom.truth.structure("lesion_28mm").center_ras) == "lesion"
    assert again.study.lesion.stats.voxels == phantom.truth.structure("lesion_28mm").voxel_count
    again.close()


def test_demo_phantom_is_generated_locally_with_its_design_answers(headless):
    controller = PanelController(headless.scene)
    pet = controller.load_demo_phantom(place_points=True)
    expected = controller.demo_phantom.truth.expected
    assert pet.GetName() == "Pentixafor demo phantom SUVbw"
    assert controller.study.lesion.stats.voxels == expected["lesion"]["voxels"]
    assert controller.study.mean_suv_max == pytest.approx(expected["mean_suv_max"], abs=2e-3)
    controller.close()


def test_listeners_hear_every_change_and_state_is_plain_json(panel):
    controller, phantom = panel
    heard = []
    controller.add_listener(lambda c: heard.append(c.next_site))
    controller.place_at(phantom.truth.seed_points["lesion"])
    assert heard and heard[-1] == "aorta"
    state = json.loads(json.dumps(controller.state()))
    assert state["sites"][0]["status"] == "ok" and state["next_site"] == "aorta"
    assert set(state["parameters"]) == set(PARAMETERS)


def test_a_volume_already_in_suv_is_used_as_is_and_says_so(headless, phantom_study):
    from PentixaforQuantLib.scene.mrml import add_suv_volume_node

    phantom, _ = phantom_study
    node = add_suv_volume_node(headless.scene, phantom.suv, phantom.grid, name="from PETDICOM", units="{SUVbw}g/ml")
    controller = PanelController(headless.scene)
    assert controller.set_pet_volume(node) is node
    assert controller.audit_rows()[-1] == ("units", "{SUVbw}g/ml", "SUV normalisation")
    controller.set_normalization("lbm")
    assert "came in SUV units" in controller.suv_refusal


def test_a_volume_chosen_in_the_selector_from_slicers_dicom_module_is_converted(headless, phantom_study):
    phantom, folder = phantom_study
    activity, by_uid = load_like_slicers_dicom_module(headless.logics["Volumes"], folder / "dicom")
    controller = PanelController(headless.scene, resolver=by_uid.get)
    # What the widget's parameter-node binding of the PET selector writes:
    controller.parameter_node.SetParameter("petVolume", "")
    controller.parameter_node.SetNodeReferenceID("petVolume", activity.GetID())
    pet = controller.pet_node
    assert pet is not activity and pet.GetAttribute("DICOM.MeasurementUnitsCodeValue") == "{SUVbw}g/ml"
    assert json.loads(pet.GetAttribute("PentixaforQuant.Source")) == {"kind": "volume", "node_id": activity.GetID()}
    controller.place_at(phantom.truth.seed_points["lesion"])
    assert controller.study.lesion.stats.voxels == phantom.truth.expected["lesion"]["voxels"]
    # A weight override converts the activity volume again, into the same SUV node.
    assert controller.apply_overrides(overrideWeightKg="35") is pet
    assert controller.study.lesion.stats.suv_max == pytest.approx(6.0, abs=5e-3)
    controller.close()


def test_the_module_self_test_scenario_passes_headless(headless):
    from PentixaforQuantLib.scene.panel_selftest import run_panel_self_test

    controller = PanelController(headless.scene)
    steps = []
    rows = run_panel_self_test(controller, log=steps.append)
    assert len(steps) == 3
    assert float(rows["lesion"]["SUVmax"]) == pytest.approx(controller.demo_phantom.truth.structure("lesion_28mm").suv,
                                                            abs=2e-3)
    assert controller.pet_node.GetDisplayNode().GetColorNodeID() == "vtkMRMLColorTableNodeInvertedGrey"
    controller.close()


def test_the_self_test_fails_loudly_when_a_value_is_wrong(headless):
    from PentixaforQuantLib.scene import panel_selftest

    controller = PanelController(headless.scene)
    controller.set_parameter("bloodPoolDiameterMm", 40.0)  # the sphere then reaches beyond the aortic lumen
    with pytest.raises(AssertionError, match="blood-pool SUVmean: table says"):
        panel_selftest.run_panel_self_test(controller)
    controller.close()


def test_jump_and_display_preset_drive_the_slice_views(placed):
    controller, phantom = placed
    scene = controller.scene
    red = slicer.vtkMRMLSliceNode()
    red.SetLayoutName("Red")
    scene.AddNode(red)
    composite = slicer.vtkMRMLSliceCompositeNode()
    composite.SetLayoutName("Red")
    scene.AddNode(composite)
    controller.apply_display_preset()
    assert composite.GetBackgroundVolumeID() == controller.pet_node.GetID()
    display = controller.pet_node.GetDisplayNode()
    assert (display.GetWindowLevelMin(), display.GetWindowLevelMax()) == (0.0, 6.0)
    assert controller.jump_to_site("C7") == pytest.approx(phantom.truth.seed_points["C7"])
    centre = [red.GetSliceToRAS().GetElement(a, 3) for a in range(3)]
    assert centre == pytest.approx(phantom.truth.seed_points["C7"])
    # The lesion: its SUVmax voxel, not the click.
    assert controller.jump_to_site("lesion") == pytest.approx(controller.study.lesion.peak_ras)
    controller.clear_site("T12")
    assert controller.jump_to_site("T12") is None


def test_place_mode_is_entered_only_when_asked(panel):
    controller, phantom = panel
    interaction = controller.scene.GetNodeByID("vtkMRMLInteractionNodeSingleton")
    controller.start_placing("aorta", place_mode=False)
    assert interaction.GetCurrentInteractionMode() != interaction.Place
    assert controller.next_site == "aorta"
    controller.start_placing("aorta")
    assert interaction.GetCurrentInteractionMode() == interaction.Place
    selection = controller.scene.GetNodeByID("vtkMRMLSelectionNodeSingleton")
    assert selection.GetActivePlaceNodeID() == controller.points_node.GetID()
    assert controller.place_at(phantom.truth.seed_points["aorta"]) == "aorta"
    assert interaction.GetCurrentInteractionMode() != interaction.Place  # one point, then back
    assert controller.next_site == "lesion"


def test_a_click_before_any_pet_is_refused_in_one_line(headless):
    from PentixaforQuantLib.errors import PentixaforQuantError

    controller = PanelController(headless.scene)
    with pytest.raises(PentixaforQuantError, match="load a PET volume first"):
        controller.place_at([0.0, 0.0, 0.0])
    assert controller.site_status("lesion").line == "not placed"
    controller.close()


def test_a_warning_is_shown_in_its_site_row(placed):
    controller, _ = placed
    controller.set_parameter("bloodPoolDiameterMm", 40.0)  # reaches beyond the aortic lumen
    status = controller.site_status("aorta")
    assert status.status == "warning" and status.warnings
    assert status.line.endswith("warning: " + "; ".join(status.warnings))
    assert controller.state()["sites"][1]["warnings"] == status.warnings


def test_a_table_that_is_not_a_cohort_table_is_never_overwritten(placed):
    from PentixaforQuantLib.errors import PentixaforQuantError

    controller, _ = placed
    other = controller.scene.AddNewNodeByClass("vtkMRMLTableNode", "my notes")
    other.AddColumn().SetName("note")
    controller.set_parameter("cohortTable", other)
    with pytest.raises(PentixaforQuantError, match="'my notes' is not a cohort table"):
        controller.add_to_cohort("S1")
    assert other.GetNumberOfColumns() == 1
    controller.set_parameter("cohortTable", None)
    with pytest.raises(PentixaforQuantError, match="uptake must be 'yes', 'no' or empty"):
        controller.add_to_cohort("S1", uptake="maybe")
    assert controller.cohort_table is None


def test_loading_reports_its_progress_slice_by_slice(headless, phantom_study):
    phantom, folder = phantom_study
    controller = PanelController(headless.scene)
    reports = []
    assert controller.load_dicom(folder / "dicom", progress=lambda f, m: reports.append((f, m))) is not None
    fractions = [f for f, _ in reports]
    slices = phantom.grid.shape_kji[0]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert len(reports) == slices + 2
    assert reports[-2][1] == f"reading slice {slices} of {slices}"
    controller.close()
