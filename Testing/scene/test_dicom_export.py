"""DICOM SEG + SR from the Logic on a real MRML scene: the PET files found from the volume node (the files it was
read from, or its DICOM.instanceUIDs through a resolver, as Slicer's DICOM database gives them)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

hd = pytest.importorskip("highdicom")

from dicom_validation import seg_masks_with_pydicom  # noqa: E402

from PentixaforQuantLib.errors import DicomExportError  # noqa: E402
from PentixaforQuantLib.scene.logic import DICOM_FILES_ATTRIBUTE  # noqa: E402
from PentixaforQuantLib.scene.mrml import segment_mask, volume_grid  # noqa: E402
from PentixaforQuantLib.measure.sites import SITE_TITLES  # noqa: E402
from PentixaforQuantLib.suv import read_pet_headers  # noqa: E402


def test_export_dicom_from_the_logic_matches_the_segments_and_the_table(measured, phantom_study, tmp_path):
    logic, pet, points, study, phantom = measured
    folder = phantom_study[1]
    paths = logic.export_dicom(pet, points, tmp_path / "dicom")
    headers = read_pet_headers(folder / "dicom")
    masks = seg_masks_with_pydicom(pydicom.dcmread(paths["seg"]), headers.datasets)
    seg_node = logic.output_nodes(points).segmentation
    for number, site in enumerate(SITE_TITLES, start=1):
        expected = segment_mask(seg_node, SITE_TITLES[site], volume_grid(pet))
        assert (masks[number] == expected).all(), site
    sr = hd.sr.srread(paths["sr"])
    lesion = sr.content.get_volumetric_roi_measurement_groups()[0]
    suv_max = [m for m in lesion.get_measurements() if m.derivation is not None and m.derivation.value == "56851009"]
    assert suv_max[0].value == pytest.approx(study.lesion.stats.suv_max, rel=1e-12)


def test_export_finds_the_files_through_the_instance_uids(measured, phantom_study):
    logic, pet, points, study, phantom = measured
    folder = phantom_study[1]
    by_uid = {str(ds.SOPInstanceUID): str(f) for f, ds in zip(*_files_and_headers(folder))}
    pet.SetAttribute(DICOM_FILES_ATTRIBUTE, "[]")  # as after moving the scene to another machine
    with pytest.raises(DicomExportError, match="PET DICOM files of volume .* are not found"):
        logic.dicom_outputs(pet, points)
    outputs = logic.dicom_outputs(pet, points, resolver=by_uid.get)
    assert outputs.segmentation.StudyInstanceUID == pydicom.dcmread(next(iter(by_uid.values()))).StudyInstanceUID


def test_export_refuses_files_of_another_series(measured, tmp_path):
    from PentixaforQuantLib.phantom import PhantomOptions, make_phantom, write_phantom

    logic, pet, points, study, phantom = measured
    other = write_phantom(make_phantom(PhantomOptions(radionuclide="Ga-68")), tmp_path / "other")
    with pytest.raises(DicomExportError, match="not the PET series of volume"):
        logic.dicom_outputs(pet, points, dicom_source=other / "dicom")


def _files_and_headers(folder):
    h = read_pet_headers(folder / "dicom")
    return h.files, h.datasets


def test_export_from_a_volume_loaded_by_slicers_dicom_reader(headless, phantom_study, slicer_dicom_volume,
                                                             tmp_path):
    """The volume from ITK's reader, the files from the database resolver: the VOIs land on the PET pixels they
    were measured on (a grid whose slices run otherwise is tested in Testing/outputs/test_dicom_outputs.py)."""
    from PentixaforQuantLib.scene.logic import StudyLogic

    phantom, folder = phantom_study
    activity, by_uid = slicer_dicom_volume
    logic = StudyLogic(headless.scene)
    pet = logic.suv_volume(activity, resolver=by_uid.get)
    points = logic.new_points_node(points_ras=phantom.truth.seed_points)
    study = logic.measure(pet, points)
    pet.SetAttribute(DICOM_FILES_ATTRIBUTE, "[]")  # only the database route is left
    paths = logic.export_dicom(pet, points, tmp_path / "dicom", resolver=by_uid.get)
    headers = read_pet_headers(folder / "dicom")
    masks = seg_masks_with_pydicom(pydicom.dcmread(paths["seg"]), headers.datasets)
    np.testing.assert_array_equal(masks[1], phantom.mask(phantom.truth.target_lesion))
    assert masks[1].sum() == study.lesion.stats.voxels
    aorta = masks[2]
    assert aorta.sum() == phantom.truth.expected["blood_pool"]["voxels"] and phantom.mask("aorta")[aorta].all()


@pytest.mark.parametrize("code, expected", [("g/ml{SUVbw}", "{SUVbw}g/ml"), ("{SUVbw}g/ml", "{SUVbw}g/ml"),
                                            ("g/ml{SUVlbm(Janma)}", "{SUVlbm(Janma)}g/ml"), ("Bq/ml", None)])
def test_volume_units_are_read_in_either_spelling(headless, code, expected):
    """A PET loaded through a Real World Value Map (Slicer's RWVM plugin sets the map's CID 85 units code, as in
    this module's own rwvm.dcm) is SUV as much as one with the legacy spelling Slicer's PET plugin sets."""
    import slicer

    from PentixaforQuantLib.scene.mrml import volume_suv_units

    node = headless.scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode")
    entry = slicer.vtkCodedEntry()
    entry.SetValueSchemeMeaning(code, "UCUM", "units")
    node.SetVoxelValueUnits(entry)
    assert volume_suv_units(node) == expected
