"""Scene round trip, strict: save the study as .mrb, reload it headless, and find everything again: the same
numbers (table cells, and measuring again), parameters, SUV audit, units and quantity of the PET, and the table,
parameters table and segments still referencing the PET."""

from __future__ import annotations

import json

import numpy as np
import pytest

from PentixaforQuantLib.measure.sites import SITE_TITLES
from PentixaforQuantLib.scene.headless import HeadlessSlicer
from PentixaforQuantLib.scene.logic import PET_REFERENCE, StudyLogic
from PentixaforQuantLib.scene.mrml import (
    AUDIT_ATTRIBUTE,
    save_scene_bundle,
    segment_mask,
    volume_array,
    volume_grid,
)
from PentixaforQuantLib.outputs.results import study_rows
from PentixaforQuantLib.suv.codes import SUV_QUANTITY, suv_units_code


def _cells(table_node) -> list[list[str]]:
    t = table_node.GetTable()
    return [[t.GetValue(r, c).ToString() for c in range(t.GetNumberOfColumns())] for r in range(t.GetNumberOfRows())]


def _columns(table_node) -> list[tuple[str, str, str]]:
    t = table_node.GetTable()
    names = [t.GetColumn(c).GetName() for c in range(t.GetNumberOfColumns())]
    return [(n, table_node.GetColumnUnitLabel(n), table_node.GetColumnDescription(n)) for n in names]


def _coded(entry) -> tuple[str, str, str]:
    return (entry.GetCodeValue(), entry.GetCodingSchemeDesignator(), entry.GetCodeMeaning())


@pytest.fixture
def reloaded(measured, tmp_path):
    logic, pet, points, study, phantom = measured
    mrb = save_scene_bundle(logic.scene, tmp_path / "study.mrb")
    other = HeadlessSlicer.create(install_globals=False)
    other.open_bundle(mrb, tmp_path / "unpacked")
    yield logic, pet, points, study, other
    other.scene.Clear(1)


def test_pet_keeps_voxels_geometry_units_quantity_and_audit(reloaded):
    logic, pet, points, study, other = reloaded
    pet2 = other.scene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
    np.testing.assert_array_equal(volume_array(pet2), volume_array(pet))
    np.testing.assert_allclose(volume_grid(pet2).ijk_to_ras, volume_grid(pet).ijk_to_ras, atol=1e-9)
    assert _coded(pet2.GetVoxelValueUnits()) == tuple(suv_units_code("{SUVbw}g/ml"))
    assert _coded(pet2.GetVoxelValueQuantity()) == tuple(SUV_QUANTITY)
    assert pet2.GetAttribute("DICOM.MeasurementUnitsCodeValue") == "{SUVbw}g/ml"
    assert json.loads(pet2.GetAttribute(AUDIT_ATTRIBUTE)) == json.loads(pet.GetAttribute(AUDIT_ATTRIBUTE))
    assert pet2.GetAttribute("DICOM.instanceUIDs") == pet.GetAttribute("DICOM.instanceUIDs")


def test_tables_keep_every_cell_unit_parameter_and_their_pet(reloaded):
    logic, pet, points, study, other = reloaded
    nodes = logic.output_nodes(points)
    pet2 = other.scene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
    points2 = other.scene.GetFirstNodeByClass("vtkMRMLMarkupsFiducialNode")
    table2 = points2.GetNodeReference("PentixaforQuant.ResultsTable")
    params2 = points2.GetNodeReference("PentixaforQuant.ParametersTable")
    assert _columns(table2) == _columns(nodes.results_table)
    before, after = _cells(nodes.results_table), _cells(table2)
    assert len(after) == len(before) == 9
    for row_before, row_after in zip(before, after):
        for a, b in zip(row_before, row_after):
            try:
                fa, fb = float(a), float(b)
            except ValueError:
                assert b == a
            else:
                assert fb == pytest.approx(fa, rel=1e-6) or (np.isnan(fa) and np.isnan(fb))
    assert json.loads(table2.GetAttribute("PentixaforQuant.Parameters")) == study.parameters.to_dict()
    assert json.loads(table2.GetAttribute(AUDIT_ATTRIBUTE)) == json.loads(pet.GetAttribute(AUDIT_ATTRIBUTE))
    assert _cells(params2) == _cells(nodes.parameters_table)
    assert table2.GetNodeReference(PET_REFERENCE) is pet2
    assert params2.GetNodeReference(PET_REFERENCE) is pet2


def test_segments_keep_their_voxels_and_their_pet(reloaded):
    logic, pet, points, study, other = reloaded
    seg = logic.output_nodes(points).segmentation
    pet2 = other.scene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
    points2 = other.scene.GetFirstNodeByClass("vtkMRMLMarkupsFiducialNode")
    seg2 = points2.GetNodeReference("PentixaforQuant.Segmentation")
    assert seg2.GetNodeReference(PET_REFERENCE) is pet2
    assert seg2.GetNodeReference("referenceImageGeometryRef") is pet2
    assert seg2.GetSegmentation().GetNumberOfSegments() == 7
    grid = volume_grid(pet2)
    for title in SITE_TITLES.values():
        np.testing.assert_array_equal(segment_mask(seg2, title, grid), segment_mask(seg, title, volume_grid(pet)))


def test_measuring_the_reloaded_scene_gives_the_same_numbers(reloaded):
    logic, pet, points, study, other = reloaded
    pet2 = other.scene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
    points2 = other.scene.GetFirstNodeByClass("vtkMRMLMarkupsFiducialNode")
    parameters = type(study.parameters).from_dict(
        json.loads(points2.GetNodeReference("PentixaforQuant.ResultsTable").GetAttribute("PentixaforQuant.Parameters")))
    study2 = StudyLogic(other.scene).measure(pet2, points2, parameters=parameters)
    numeric = ("suv_max", "suv_mean", "suv_sd", "suv_peak", "volume_ml", "tla", "voxels", "value")
    for r1, r2 in zip(study_rows(study), study_rows(study2)):
        assert r1["method"] == r2["method"]
        for key in numeric:
            assert r2[key] == r1[key], (r1["site"], key)
