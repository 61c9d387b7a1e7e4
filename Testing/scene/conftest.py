"""Fixtures of the scene tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def measured(headless, phantom_study):
    """The noise-free phantom loaded from its DICOM files and measured on a headless scene:
    (logic, pet node, points node, study, phantom)."""
    from PentixaforQuantLib.scene.logic import StudyLogic

    phantom, folder = phantom_study
    logic = StudyLogic(headless.scene)
    pet = logic.load_dicom(folder / "dicom")
    points = logic.new_points_node(points_ras=phantom.truth.seed_points)
    study = logic.measure(pet, points)
    return logic, pet, points, study, phantom


@pytest.fixture
def slicer_dicom_volume(headless, phantom_study):
    """The phantom's PET series loaded as Slicer's DICOM module loads it (ITK reader, activity values, the
    instance UIDs in an attribute): (volume node, SOP Instance UID -> file)."""
    import pydicom
    import vtk

    phantom, folder = phantom_study
    files = sorted((folder / "dicom").glob("*.dcm"))
    by_uid, positions = {}, {}
    for f in files:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        by_uid[ds.SOPInstanceUID] = str(f)
        positions[str(f)] = float(ds.ImagePositionPatient[2])
    ordered = sorted(files, key=lambda f: positions[str(f)])  # what Slicer's DICOM plugin does
    names = vtk.vtkStringArray()
    for f in ordered:
        names.InsertNextValue(str(f))
    activity = headless.logics["Volumes"].AddArchetypeVolume(str(ordered[0]), "PET activity", 0, names)
    assert activity is not None
    activity.SetAttribute("DICOM.instanceUIDs", " ".join(by_uid))  # any order, as in Slicer
    return activity, by_uid
