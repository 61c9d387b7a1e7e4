"""Misuse of the Logic API on a real MRML scene: each case is a PentixaforQuantError subclass with one clear line,
never an AttributeError or TypeError from deep inside."""

from __future__ import annotations

import numpy as np
import pytest

from PentixaforQuantLib.errors import NodeError, ParameterError, PentixaforQuantError, PointsError, SUVError
from PentixaforQuantLib.measure.protocol import ProtocolParameters
from PentixaforQuantLib.scene.logic import StudyLogic


@pytest.fixture(scope="module")
def study(phantom_study):
    phantom, folder = phantom_study
    logic = StudyLogic()
    pet = logic.load_dicom(folder / "dicom")
    points = logic.new_points_node(points_ras=phantom.truth.seed_points)
    empty = logic.new_points_node("empty")
    unplaced = logic.new_points_node("unplaced")
    unplaced.AddControlPoint([0.0, 0.0, 0.0], "lesion")
    unplaced.UnsetNthControlPointPosition(0)  # listed but never placed
    twice = logic.new_points_node("twice")
    twice.AddControlPoint([0.0, 0.0, 0.0], "C7")
    twice.AddControlPoint([1.0, 2.0, 3.0], "Lesion")
    twice.AddControlPoint([4.0, 5.0, 6.0], "target lesion")
    plain = logic.scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "no image")
    activity = logic.scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "activity")
    activity.SetAndObserveImageData(pet.GetImageData())  # the same voxels without SUV units
    labels = logic.scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "labels")
    labels.SetAndObserveImageData(pet.GetImageData())
    other = StudyLogic()
    foreign = other.load_dicom(folder / "dicom")
    return {"logic": logic, "pet": pet, "points": points, "empty": empty, "unplaced": unplaced, "twice": twice,
            "plain": plain, "activity": activity, "labels": labels, "foreign": foreign, "other": other, "folder": folder}


# (id, call on the fixture's nodes, error class, message substring)
CASES = [
    ("pet-none", lambda s: s["logic"].measure(None, s["points"]), NodeError,
     "PET volume: no node given (None); pass a vtkMRMLScalarVolumeNode"),
    ("pet-is-points", lambda s: s["logic"].measure(s["points"], s["points"]), NodeError,
     "PET volume: expected a vtkMRMLScalarVolumeNode, got vtkMRMLMarkupsFiducialNode"),
    ("pet-is-text", lambda s: s["logic"].measure("pet.nrrd", s["points"]), NodeError,
     "PET volume: expected a vtkMRMLScalarVolumeNode, got str"),
    ("pet-without-image", lambda s: s["logic"].measure(s["plain"], s["points"]), NodeError,
     "PET volume 'no image' has no image data"),
    ("pet-not-suv", lambda s: s["logic"].measure(s["activity"], s["points"]), SUVError,
     "volume 'activity' is not in SUV units"),
    ("pet-label-map", lambda s: s["logic"].measure(s["labels"], s["points"]), NodeError,
     "PET volume 'labels' is a label map"),
    ("pet-other-scene", lambda s: s["logic"].measure(s["foreign"], s["points"]), NodeError,
     "is not in this logic's scene"),
    ("points-none", lambda s: s["logic"].measure(s["pet"], None), NodeError, "points node: no node given (None)"),
    ("points-is-volume", lambda s: s["logic"].measure(s["pet"], s["pet"]), NodeError,
     "points node: expected a vtkMRMLMarkupsFiducialNode, got vtkMRMLScalarVolumeNode"),
    ("points-empty", lambda s: s["logic"].measure(s["pet"], s["empty"]), PointsError,
     "points node 'empty' holds no placed points"),
    ("points-unplaced", lambda s: s["logic"].measure(s["pet"], s["unplaced"]), PointsError,
     "points node 'unplaced' holds no placed points"),
    ("points-twice", lambda s: s["logic"].measure(s["pet"], s["twice"]), PointsError,
     "'Lesion' (point 2) and 'target lesion' (point 3) in 'twice' both name site 'lesion'"),
    ("parameters-dict", lambda s: s["logic"].measure(s["pet"], s["points"], parameters={"threshold": 0.4}),
     ParameterError, "parameters: expected ProtocolParameters (or None for the defaults), got dict"),
    ("roi-is-volume", lambda s: s["logic"].measure(s["pet"], s["points"], roi_node=s["pet"]), NodeError,
     "bounding ROI: expected a vtkMRMLMarkupsROINode"),
    ("points-ras-unknown-site", lambda s: s["logic"].measure(s["pet"], s["points"], points_ras={"spleen": [0, 0, 0]}),
     PointsError, "'spleen' is not a site"),
    ("points-ras-nan", lambda s: s["logic"].measure(s["pet"], s["points"], points_ras={"lesion": [np.nan, 0, 0]}),
     PointsError, "point 'lesion' is not three finite numbers"),
    ("new-points-none-position", lambda s: s["logic"].new_points_node(points_ras={"lesion": None}), PointsError,
     "point 'lesion' is not three finite numbers"),
    ("new-points-not-a-mapping", lambda s: s["logic"].new_points_node(points_ras=[1.0, 2.0, 3.0]), PointsError,
     "expected a mapping of site -> RAS point, got list"),
    ("suv-volume-none", lambda s: s["logic"].suv_volume(None), NodeError, "volume: no node given (None)"),
    ("suv-volume-text", lambda s: s["logic"].suv_volume("PET"), NodeError, "got str"),
    ("suv-volume-resolver", lambda s: s["logic"].suv_volume(s["activity"], resolver="db"), NodeError,
     "resolver: expected a function"),
    ("load-overrides-dict", lambda s: s["logic"].load_dicom(s["folder"] / "dicom", overrides={"weight_kg": 70}),
     ParameterError, "overrides: expected SUVOverrides (or None), got dict"),
    ("output-nodes-none", lambda s: s["logic"].output_nodes(None), NodeError, "points node: no node given"),
    ("observe-none", lambda s: s["logic"].observe(None, s["points"]), NodeError, "PET volume: no node given"),
    ("observe-points-is-volume", lambda s: s["logic"].observe(s["pet"], s["pet"]), NodeError,
     "points node: expected a vtkMRMLMarkupsFiducialNode"),
    ("parameters-out-of-range", lambda s: ProtocolParameters(peak_radius_mm=500.0), ParameterError,
     "peak_radius_mm 500: must be above 0 and at most 15 mm"),
    ("parameters-background-without-a50",
     lambda s: ProtocolParameters().with_isocontour(background_suv=1.0), ParameterError,
     "background_suv 1 is used only by the A50 method"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_misuse_is_a_clear_refusal(study, call, error, message):
    with pytest.raises(error) as info:
        call(study)
    assert isinstance(info.value, PentixaforQuantError)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_parameter_errors_are_still_value_errors_for_existing_callers():
    with pytest.raises(ValueError):
        ProtocolParameters(marrow_diameter_mm=float("inf"))


def test_observing_an_empty_list_is_allowed_and_placing_a_point_measures_it(study, phantom_study):
    phantom, _ = phantom_study
    logic, pet = study["logic"], study["pet"]
    points = logic.new_points_node("observed")
    logic.observe(pet, points)  # nothing placed yet: no refusal, an empty study
    assert logic.last_error is None and logic.last_study.lesion is None
    points.AddControlPoint([float(v) for v in phantom.truth.seed_points["lesion"]], "lesion")
    logic.stop_observing()
    assert logic.last_study.lesion is not None
    assert logic.last_study.lesion.stats.voxels == phantom.truth.expected["lesion"]["voxels"]
