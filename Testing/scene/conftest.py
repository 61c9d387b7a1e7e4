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
