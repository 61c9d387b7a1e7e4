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
    from dicom_builders import load_like_slicers_dicom_module

    _, folder = phantom_study
    return load_like_slicers_dicom_module(headless.logics["Volumes"], folder / "dicom")
