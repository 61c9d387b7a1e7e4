"""DICOM SEG and SR TID 1500 of a study: read back with highdicom and with pydicom, checked against the StudyResult
value by value and reference by reference, and validated with dciodvfy (dicom3tools)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pydicom
import pytest

hd = pytest.importorskip("highdicom")

from dicom_validation import assert_valid_dicom, seg_masks_with_pydicom  # noqa: E402

from PentixaforQuantLib.errors import DicomExportError  # noqa: E402
from PentixaforQuantLib.measure.protocol import ProtocolParameters, run_protocol  # noqa: E402
from PentixaforQuantLib.measure.sites import AORTA, LESION, MARROW_SITES, SITE_TITLES  # noqa: E402
from PentixaforQuantLib.outputs.dicom_codes import (  # noqa: E402
    DERIVATIONS,
    INTEGRATED_INTENSITY,
    LOCAL_SCHEME,
    SITE_CODES,
    TBR,
    TBR_BACKGROUND,
    UNITS_ML,
    VOLUME,
)
from PentixaforQuantLib.outputs.dicom_export import (  # noqa: E402
    build_dicom_outputs,
    write_dicom_outputs,
)
from PentixaforQuantLib.suv import read_pet_volume  # noqa: E402
from PentixaforQuantLib.suv.codes import SUV_QUANTITY  # noqa: E402

SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
ALL_MEASURED = (LESION, AORTA, *MARROW_SITES)


def _build(pet, study):
    h = pet.headers
    return build_dicom_outputs(study, pet.grid, h.datasets, h.grid, h.series_uid, units=pet.conversion.units,
                               suv_audit=pet.conversion.to_dict(), pet_files=h.files)


@pytest.fixture(scope="module")
def exported(phantom_study, tmp_path_factory):
    phantom, folder = phantom_study
    pet = read_pet_volume(folder / "dicom")
    study = run_protocol(pet.suv, pet.grid, phantom.truth.seed_points)
    assert not study.errors
    paths = write_dicom_outputs(_build(pet, study), tmp_path_factory.mktemp("dicom") / "out")
    return pet, study, paths


def _code(item) -> tuple[str, str, str]:
    return (str(item.CodeValue), str(item.CodingSchemeDesignator), str(item.CodeMeaning))


# ------------------------------------------------------------------------------------------------- SEG


def test_seg_copies_patient_and_study_and_references_the_pet_series(exported):
    pet, study, paths = exported
    seg = pydicom.dcmread(paths["seg"])
    first = pet.headers.datasets[0]
    assert seg.SOPClassUID == SEG_STORAGE
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyID",
                    "FrameOfReferenceUID"):
        assert seg.get(keyword) == first.get(keyword), keyword
    assert seg.SeriesInstanceUID != first.SeriesInstanceUID
    assert seg.SOPInstanceUID not in {str(ds.SOPInstanceUID) for ds in pet.headers.datasets}
    assert seg.SpecificCharacterSet == "ISO_IR 192"
    referenced = seg.ReferencedSeriesSequence[0]
    assert referenced.SeriesInstanceUID == pet.headers.series_uid
    # The source images are exactly the PET frames a VOI touches.
    touched = sorted({int(k) for r in study.regions.values() for k in r.indices_kji()[:, 0]})
    expected = {str(pet.headers.datasets[k].SOPInstanceUID) for k in touched}
    assert {str(i.ReferencedSOPInstanceUID) for i in referenced.ReferencedInstanceSequence} == expected


def test_seg_has_one_coded_segment_per_site(exported):
    pet, study, paths = exported
    seg = pydicom.dcmread(paths["seg"])
    assert [int(s.SegmentNumber) for s in seg.SegmentSequence] == list(range(1, 8))
    for item, site in zip(seg.SegmentSequence, ALL_MEASURED):
        c = SITE_CODES[site]
        assert item.SegmentLabel == SITE_TITLES[site]
        assert _code(item.SegmentedPropertyCategoryCodeSequence[0]) == tuple(c.category)
        assert _code(item.SegmentedPropertyTypeCodeSequence[0]) == tuple(c.property_type)
        assert item.SegmentAlgorithmType == "SEMIAUTOMATIC"
        if c.anatomic_region is None:
            assert "AnatomicRegionSequence" not in item
        else:
            region = item.AnatomicRegionSequence[0]
            assert _code(region) == tuple(c.anatomic_region)
            if c.laterality is None:
                assert "AnatomicRegionModifierSequence" not in region
            else:
                assert _code(region.AnatomicRegionModifierSequence[0]) == tuple(c.laterality)
    regions = {_code(s.AnatomicRegionSequence[0])[2]: s for s in seg.SegmentSequence if "AnatomicRegionSequence" in s}
    assert {"C7 vertebra", "T12 vertebra", "L5 vertebra", "Ilium", "Aortic arch"} == set(regions)
    ilia = [s for s in seg.SegmentSequence if "ilium" in s.SegmentLabel]
    assert [_code(s.AnatomicRegionSequence[0].AnatomicRegionModifierSequence[0])[2] for s in ilia] == ["Right", "Left"]


def test_seg_pixels_are_the_voi_voxels_read_with_pydicom_and_highdicom(exported):
    pet, study, paths = exported
    regions = study.regions
    shape = pet.grid.shape_kji
    # pydicom alone: frames located through the PET instance each one derives from.
    masks = seg_masks_with_pydicom(pydicom.dcmread(paths["seg"]), pet.headers.datasets)
    for number, site in enumerate(ALL_MEASURED, start=1):
        np.testing.assert_array_equal(masks[number], regions[site].full_mask(shape), err_msg=site)
    # highdicom: the same voxels by source instance, in slice order.
    seg = hd.seg.segread(paths["seg"])
    uids = [str(ds.SOPInstanceUID) for ds in pet.headers.datasets]
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=list(range(1, 8)), assert_missing_frames_are_empty=True,
        ignore_spatial_locations=True)
    for number, site in enumerate(ALL_MEASURED, start=1):
        np.testing.assert_array_equal(pixels[..., number - 1] != 0, regions[site].full_mask(shape), err_msg=site)
    # The lesion VOI is the phantom's 40 % isocontour: the voxel count is the known answer.
    assert masks[1].sum() == study.lesion.stats.voxels


# ------------------------------------------------------------------------------------------------- SR


def _measurement(group, name_code, derivation=None):
    found = [m for m in group.get_measurements()
             if m.name.value == name_code.value and m.name.scheme_designator == name_code.scheme
             and ((m.derivation is None and derivation is None)
                  or (derivation is not None and m.derivation is not None and m.derivation.value == derivation.value))]
    assert len(found) == 1, f"{name_code.meaning} / {derivation}"
    return found[0]


def test_sr_is_a_tid1500_report_referencing_the_pet_and_the_seg(exported):
    pet, study, paths = exported
    sr = pydicom.dcmread(paths["sr"])
    seg = pydicom.dcmread(paths["seg"])
    first = pet.headers.datasets[0]
    assert sr.SOPClassUID == COMPREHENSIVE_3D_SR
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert _code(sr.ConceptNameCodeSequence[0]) == ("126000", "DCM", "Imaging Measurement Report")
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "StudyID"):
        assert sr.get(keyword) == first.get(keyword), keyword
    assert sr.SeriesInstanceUID not in (first.SeriesInstanceUID, seg.SeriesInstanceUID)
    assert sr.CompletionFlag == "COMPLETE"
    evidence = {str(s.SeriesInstanceUID): {str(i.ReferencedSOPInstanceUID) for i in s.ReferencedSOPSequence}
                for st in sr.CurrentRequestedProcedureEvidenceSequence for s in st.ReferencedSeriesSequence}
    assert evidence[pet.headers.series_uid] == {str(ds.SOPInstanceUID) for ds in pet.headers.datasets}
    assert evidence[str(seg.SeriesInstanceUID)] == {str(seg.SOPInstanceUID)}
    assert [s.CodingSchemeDesignator for s in sr.CodingSchemeIdentificationSequence] == [LOCAL_SCHEME]


def test_sr_groups_carry_every_measured_value_with_codes_and_units(exported):
    pet, study, paths = exported
    sr = hd.sr.srread(paths["sr"])
    seg = pydicom.dcmread(paths["seg"])
    units = "g/ml{SUVbw}"  # the CID 85 code of the volume's {SUVbw}g/ml
    assert pet.conversion.units == "{SUVbw}g/ml"
    groups = sr.content.get_volumetric_roi_measurement_groups()
    assert [g.tracking_identifier for g in groups] == [SITE_TITLES[s] for s in ALL_MEASURED]
    seg_tracking = {int(s.SegmentNumber): str(s.TrackingUID) for s in seg.SegmentSequence}
    for number, (group, site) in enumerate(zip(groups, ALL_MEASURED), start=1):
        c = SITE_CODES[site]
        ref = group.referenced_segment
        assert ref.referenced_sop_instance_uid == seg.SOPInstanceUID
        assert ref.referenced_sop_class_uid == SEG_STORAGE
        assert ref.referenced_segment_numbers == [number]
        assert ref.source_series_for_segmentation.UID == pet.headers.series_uid
        assert group.tracking_uid == seg_tracking[number]  # the SR group and the SEG segment are one finding
        assert group.finding_type.value == c.property_type.value
        if c.anatomic_region is not None:
            (site_item,) = group.finding_sites
            assert site_item.value.value == c.anatomic_region.value
            if c.laterality is not None:
                assert site_item.laterality.value == c.laterality.value
        result = study.lesion if site == LESION else study.blood_pool if site == AORTA else study.marrow[site]
        stats = result.stats
        for key in ("suv_max", "suv_mean", "suv_sd"):
            m = _measurement(group, SUV_QUANTITY, DERIVATIONS[key])
            assert m.value == pytest.approx(getattr(stats, key), rel=1e-12, abs=1e-12), (site, key)
            assert (m.unit.value, m.unit.scheme_designator) == (units, "UCUM")
        volume = _measurement(group, VOLUME)
        assert volume.value == pytest.approx(stats.volume_ml, rel=1e-12)
        assert volume.unit.value == UNITS_ML.value
        if site == LESION:
            peak = _measurement(group, SUV_QUANTITY, DERIVATIONS["suv_peak"])
            assert (peak.derivation.value, peak.derivation.meaning) == ("126031", "Peak Value Within ROI")
            assert peak.value == pytest.approx(result.peak.suv_peak, rel=1e-12)
            tbr = _measurement(group, TBR)
            assert tbr.value == pytest.approx(study.tbr, rel=1e-12)
            assert tbr.unit.value == "{ratio}"
            background = _measurement(group, TBR_BACKGROUND)
            assert background.value == study.blood_pool.stats.suv_mean and background.unit.value == units
            tla = _measurement(group, INTEGRATED_INTENSITY)
            assert tla.value == pytest.approx(stats.tla, rel=1e-12) and tla.unit.value == "g/ml{SUVbw}.ml"
            assert len(group.get_measurements()) == 8
        else:
            assert len(group.get_measurements()) == 4
        # One order in every group: SUVmax, SUVmean, SD, volume first.
        names = [(m.name.value, m.derivation.value if m.derivation else None) for m in group.get_measurements()]
        assert names[:4] == [("126400", "56851009"), ("126400", "373098007"), ("126400", "386136009"),
                             ("118565006", None)]
        # No group-level Measurement Method (its slot holds response criteria, CID 6147).
        assert group.method is None
    # meanSUVmax has no segment: no measurement group of its own, but a derived measurement (TID 1420).
    assert sr.content.get_image_measurement_groups() == []
    assert len(groups) == 7


def test_mean_suv_max_is_a_derived_measurement_of_the_report(exported):
    pet, study, paths = exported
    sr = pydicom.dcmread(paths["sr"])
    containers = [i for i in sr.ContentSequence if i.ValueType == "CONTAINER"]
    assert [_code(c.ConceptNameCodeSequence[0]) for c in containers] == [
        ("126010", "DCM", "Imaging Measurements"), ("126011", "DCM", "Derived Imaging Measurements")]
    (num,) = containers[1].ContentSequence
    assert num.ValueType == "NUM" and num.RelationshipType == "CONTAINS"
    assert _code(num.ConceptNameCodeSequence[0]) == ("373098007", "SCT", "Mean Value of population")
    value = num.MeasuredValueSequence[0]
    assert float(value.FloatingPointValue) == study.mean_suv_max
    assert value.MeasurementUnitsCodeSequence[0].CodeValue == "g/ml{SUVbw}"
    texts = [str(i.TextValue) for i in num.ContentSequence if i.ValueType == "TEXT"]
    assert any(t.startswith("meanSUVmax: mean of the marrow-site SUVmax (5 of 5 sites)") for t in texts)


def _content_items(ds):
    for item in ds.get("ContentSequence", []):
        yield item
        yield from _content_items(item)


def test_sr_values_and_parameters_read_with_pydicom_alone(exported):
    """Independent of highdicom's reader: every NUM item, and the method and parameters as text."""
    pet, study, paths = exported
    sr = pydicom.dcmread(paths["sr"])
    items = list(_content_items(sr))
    measured = [i.MeasuredValueSequence[0] for i in items if i.ValueType == "NUM"]
    expected = []
    for site in ALL_MEASURED:
        r = study.lesion if site == LESION else study.blood_pool if site == AORTA else study.marrow[site]
        expected += [r.stats.suv_max, r.stats.suv_mean, r.stats.suv_sd, r.stats.volume_ml]
        if site == LESION:
            expected += [r.peak.suv_peak, r.stats.tla, study.blood_pool.stats.suv_mean, study.tbr]
    expected.append(study.mean_suv_max)
    assert len(measured) == len(expected)
    assert [float(m.FloatingPointValue) for m in measured] == [float(v) for v in expected]  # the exact doubles
    np.testing.assert_allclose([float(m.NumericValue) for m in measured], expected, rtol=1e-9, atol=1e-12)
    texts = [str(i.TextValue) for i in items if i.ValueType == "TEXT"]
    params = [t for t in texts if t.startswith("parameters ")]
    assert params and json.loads(params[0].removeprefix("parameters ")) == json.loads(
        json.dumps(study.parameters.to_dict()))
    assert any("40 % isocontour of SUVmax, 6-connected" in t for t in texts)
    assert any(t.startswith("SUVpeak global, sphere radius 6.2035 mm") for t in texts)
    assert any("SUVmax(target lesion) / SUVmean(blood pool)" in t for t in texts)
    assert any(t == f"SUV units {pet.conversion.units}" for t in texts)
    # The VOI method comes first among a group's parameters (dcmqi keeps only the first).
    first_params = [str(g.ContentSequence[n].TextValue) for g in _content_items(sr)
                    if g.ValueType == "CONTAINER" and g.ConceptNameCodeSequence[0].CodeValue == "125007"
                    for n, i in enumerate(g.ContentSequence)
                    if i.ConceptNameCodeSequence[0].CodeValue == "111002"][:1]
    assert first_params and "isocontour of SUVmax" in first_params[0]
    audit = json.loads(next(t for t in texts if t.startswith("SUV conversion ")).removeprefix("SUV conversion "))
    assert audit["factor"] == pet.conversion.to_dict()["factor"] and audit["source_units"] == "BQML"
    assert audit["decisions"] == pet.conversion.to_dict()["decisions"]


def test_dciodvfy_reports_no_errors_on_seg_sr_and_rwvm(exported):
    pet, study, paths = exported
    assert set(paths) == {"seg", "sr", "rwvm"}
    assert_valid_dicom(paths["seg"])
    assert_valid_dicom(paths["sr"])
    assert_valid_dicom(paths["rwvm"])


def test_seg_colours_are_the_scene_colours_and_the_algorithm_says_the_voi_method(exported):
    from PentixaforQuantLib.outputs.dicom_codes import SITE_DISPLAY_RGB
    from PentixaforQuantLib.scene.logic import SEGMENT_COLORS

    assert SITE_DISPLAY_RGB == SEGMENT_COLORS  # one colour per site, in the scene and in the SEG
    pet, study, paths = exported
    seg = hd.seg.segread(paths["seg"])
    colours = set()
    for number, site in enumerate(ALL_MEASURED, start=1):
        description = seg.get_segment_description(number)
        rgb = hd.color.CIELabColor.from_dicom_value(description.RecommendedDisplayCIELabValue).to_rgb()
        assert np.allclose(rgb, [255 * v for v in SITE_DISPLAY_RGB[site]], atol=1.5), site
        colours.add(rgb)
        algorithm = description.algorithm_identification
        family = algorithm[0].AlgorithmFamilyCodeSequence[0].CodeValue
        assert family == ("123101" if site == LESION else "123109")  # Neighborhood Analysis / Manual Processing
        parameters = algorithm.parameters
        assert list(parameters) == ["VOI"]
        assert ("isocontour of SUVmax" in parameters["VOI"]) if site == LESION else \
            parameters["VOI"].startswith("sphere ")
    assert len(colours) == 7


# ------------------------------------------------------------------------------------------------- robust


def _rewrite_series(folder, change):
    files = sorted(folder.glob("*.dcm"))
    for f in files:
        ds = pydicom.dcmread(f)
        change(ds)
        ds.save_as(f)
    return files


@pytest.fixture
def phantom_copy(phantom_study, tmp_path):
    import shutil

    phantom, folder = phantom_study
    dst = tmp_path / "pet"
    shutil.copytree(folder / "dicom", dst)
    return phantom, dst


@pytest.mark.parametrize("charset, name, description", [
    ("ISO_IR 192", "Ærø-Müller^Zoë Ωμέγα 山田", "Pentixafor PET – étude ПЭТ"),  # UTF-8, several scripts
    ("ISO_IR 100", "Müller^Jörg", "Étude TEP"),  # Latin-1, re-encoded as UTF-8
])
def test_non_ascii_identifiers_give_valid_objects(charset, name, description, phantom_copy, tmp_path):
    phantom, folder = phantom_copy

    def change(ds):
        ds.SpecificCharacterSet = charset
        ds.PatientName = name
        ds.StudyDescription = description

    _rewrite_series(folder, change)
    pet = read_pet_volume(folder)
    study = run_protocol(pet.suv, pet.grid, phantom.truth.seed_points)
    paths = write_dicom_outputs(_build(pet, study), tmp_path / "out")
    for path in paths.values():
        ds = pydicom.dcmread(path)
        assert str(ds.PatientName) == name
        assert ds.StudyDescription == description and ds.SpecificCharacterSet == "ISO_IR 192"
        assert_valid_dicom(path)


@pytest.mark.parametrize("keyword, tag, value, vr", [
    ("PatientID", "(0010,0020)", "X" * 70, "LO"),  # LO allows 64 characters
    ("StudyID", "(0020,0010)", "IBSI_1_STS_001_PET", "SH"),  # SH allows 16: the 51 real IBSI STS PETs have this
    ("AccessionNumber", "(0008,0050)", "A" * 17, "SH"),
])
def test_overlong_identifier_is_copied_unchanged_and_said(keyword, tag, value, vr, phantom_copy, tmp_path):
    """An identifier only longer than its VR allows is never shortened (a shortened PatientID could name another
    patient): the objects carry it as the PET does, and a warning names the attribute, the VR and the file."""
    phantom, folder = phantom_copy

    def change(ds):
        setattr(ds, keyword, value)

    with pytest.warns(UserWarning, match="exceeds the maximum length"):  # pydicom, writing the bad test input
        files = _rewrite_series(folder, change)
    pet = read_pet_volume(folder)
    study = run_protocol(pet.suv, pet.grid, phantom.truth.seed_points)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pydicom and highdicom say the same about the value
        outputs = _build(pet, study)
        paths = write_dicom_outputs(outputs, tmp_path / "out")
    (message,) = outputs.warnings
    assert f"{keyword} {tag}" in message and f"DICOM {vr}" in message and "copied unchanged" in message
    assert any(f.name in message for f in files) and "\n" not in message
    for path in paths.values():
        assert pydicom.dcmread(path).get(keyword) == value
        assert_valid_dicom(path, inherited=files[0])  # dciodvfy says of the objects what it says of the PET


def test_overlong_patient_name_component_is_copied_unchanged(phantom_copy, tmp_path):
    phantom, folder = phantom_copy
    name = "A" * 70 + "^B"
    _rewrite_series(folder, lambda ds: setattr(ds, "PatientName", name))
    pet = read_pet_volume(folder)
    study = run_protocol(pet.suv, pet.grid, phantom.truth.seed_points)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        outputs = _build(pet, study)
    assert str(outputs.segmentation.PatientName) == name and str(outputs.report.PatientName) == name
    assert len(outputs.warnings) == 1 and "PatientName (0010,0010)" in outputs.warnings[0]


def test_pet_without_frame_of_reference_is_refused(phantom_copy, tmp_path):
    phantom, folder = phantom_copy
    _rewrite_series(folder, lambda ds: ds.pop("FrameOfReferenceUID"))
    pet = read_pet_volume(folder)
    study = run_protocol(pet.suv, pet.grid, phantom.truth.seed_points)
    with pytest.raises(DicomExportError, match=r"no Frame of Reference UID \(0020,0052\)"):
        _build(pet, study)


def test_one_voxel_vois_give_valid_objects(phantom_study, tmp_path):
    """Spheres of 1 mm diameter hold one voxel each; a lesion of one hot voxel gives a one-voxel isocontour."""
    phantom, folder = phantom_study
    pet = read_pet_volume(folder / "dicom")
    image = pet.suv.copy()
    k, j, i = pet.grid.nearest_kji(phantom.truth.seed_points[LESION])
    image[k - 3:k + 4, j - 3:j + 4, i - 3:i + 4] = 1.0
    image[k, j, i] = 30.0  # the neighbours (1.0) are below 40 % of 30
    params = ProtocolParameters(blood_pool_diameter_mm=1.0, marrow_diameter_mm=1.0)
    study = run_protocol(image, pet.grid, phantom.truth.seed_points, params)
    assert not study.errors
    regions = study.regions
    assert {site: r.voxel_count for site, r in regions.items()} == dict.fromkeys(ALL_MEASURED, 1)
    outputs = _build(pet, study)
    paths = write_dicom_outputs(outputs, tmp_path / "out")
    masks = seg_masks_with_pydicom(pydicom.dcmread(paths["seg"]), pet.headers.datasets)
    assert [int(m.sum()) for _, m in sorted(masks.items())] == [1] * 7
    assert masks[1][k, j, i]
    sr = hd.sr.srread(paths["sr"])
    lesion = sr.content.get_volumetric_roi_measurement_groups()[0]
    assert _measurement(lesion, SUV_QUANTITY, DERIVATIONS["suv_sd"]).value == 0.0
    assert _measurement(lesion, VOLUME).value == pytest.approx(pet.grid.voxel_volume_ml)
    # SUVpeak of a one-voxel VOI: the mean of the 1 mL ball around it (here 30 and 18 of 1.0 on the 4 mm grid).
    ball = pet.grid.ball_offsets_kji(6.2035) + np.array([k, j, i])
    expected_peak = image[tuple(ball.T)].mean()
    assert _measurement(lesion, SUV_QUANTITY, DERIVATIONS["suv_peak"]).value == pytest.approx(expected_peak)
    for path in paths.values():
        assert_valid_dicom(path)


def test_no_measured_site_is_refused(phantom_study):
    phantom, folder = phantom_study
    pet = read_pet_volume(folder / "dicom")
    study = run_protocol(pet.suv, pet.grid, {})
    with pytest.raises(DicomExportError, match="no site was measured"):
        _build(pet, study)


def test_vois_on_a_reordered_volume_land_on_the_right_pet_frames(phantom_study, tmp_path):
    """A volume whose k axis runs the other way than the files (as another loader may build it): the VOIs map
    through patient coordinates to the same PET pixels."""
    from PentixaforQuantLib.geometry import VoxelGrid

    phantom, folder = phantom_study
    pet = read_pet_volume(folder / "dicom")
    m = np.array(pet.grid.ijk_to_ras, float)
    nk = pet.grid.shape_kji[0]
    flipped = m.copy()
    flipped[:3, 3] = m[:3, 3] + m[:3, 2] * (nk - 1)
    flipped[:3, 2] = -m[:3, 2]
    grid = VoxelGrid(flipped, pet.grid.shape_kji)
    image = pet.suv[::-1].copy()
    seeds = phantom.truth.seed_points
    study = run_protocol(image, grid, seeds)
    h = pet.headers
    outputs = build_dicom_outputs(study, grid, h.datasets, h.grid, h.series_uid, units=pet.conversion.units)
    paths = write_dicom_outputs(outputs, tmp_path / "out")
    masks = seg_masks_with_pydicom(pydicom.dcmread(paths["seg"]), h.datasets)
    reference = run_protocol(pet.suv, pet.grid, seeds)
    for number, site in enumerate(ALL_MEASURED, start=1):
        np.testing.assert_array_equal(masks[number], reference.regions[site].full_mask(pet.grid.shape_kji))


def test_site_codes_cover_every_site():
    from PentixaforQuantLib.measure.sites import ALL_SITES

    assert set(SITE_CODES) == set(ALL_SITES)
    assert all(len(c.label) <= 64 for c in SITE_CODES.values())  # Segment Label is LO


def test_missing_highdicom_is_one_clear_refusal(monkeypatch, phantom_study):
    import sys

    monkeypatch.setitem(sys.modules, "highdicom", None)  # what "import highdicom" meets when it is not installed
    phantom, folder = phantom_study
    pet = read_pet_volume(folder / "dicom")
    study = run_protocol(pet.suv, pet.grid, phantom.truth.seed_points)
    with pytest.raises(DicomExportError, match=r"needs the optional package highdicom: pip install "
                                               r"'pentixaforquant\[dicom\]'"):
        _build(pet, study)


def test_site_warnings_travel_into_the_report(phantom_study, tmp_path):
    """A warning carried with a number is in the SR beside it (here the blood-pool variation warning, forced by a
    limit below zero), so the number never travels without it."""
    phantom, folder = phantom_study
    pet = read_pet_volume(folder / "dicom")
    study = run_protocol(pet.suv, pet.grid, phantom.truth.seed_points, ProtocolParameters(blood_pool_max_cov=-1.0))
    assert study.blood_pool.warnings
    sr = pydicom.dcmread(write_dicom_outputs(_build(pet, study), tmp_path / "out")["sr"])
    texts = [str(i.TextValue) for i in _content_items(sr) if i.ValueType == "TEXT"]
    assert f"warning: {study.blood_pool.warnings[0]}" in texts


def test_the_dicom_extra_is_the_requirement_the_module_installs():
    """pyproject's ``dicom`` extra, the test extra and what Slicer is offered to install name the same version."""
    import re
    from pathlib import Path

    from PentixaforQuantLib.outputs.dicom_seg import HIGHDICOM_REQUIREMENT

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^dicom = \["(.+?)"\]', pyproject, re.M).group(1) == HIGHDICOM_REQUIREMENT
    assert f'"{HIGHDICOM_REQUIREMENT}",' in pyproject.split("[project.optional-dependencies]")[1].split("bench")[0]


def test_no_value_map_for_a_volume_that_was_already_suv(phantom_study):
    """A volume already in SUV (Slicer's PET plugin) has the audit factor 1 of its own values: it says nothing of
    the PET files' Bq/ml, so no RWVM is made (an RWVM with slope 1 would load the PET wrongly)."""
    from PentixaforQuantLib.outputs.dicom_rwvm import suv_factors_by_instance
    from PentixaforQuantLib.suv.conversion import suv_conversion_for_suv_volume

    phantom, folder = phantom_study
    pet = read_pet_volume(folder / "dicom")
    datasets = pet.headers.datasets
    assert suv_factors_by_instance(datasets, suv_conversion_for_suv_volume("{SUVbw}g/ml").to_dict()) is None
    assert suv_factors_by_instance(datasets, None) is None
    factors = suv_factors_by_instance(datasets, pet.conversion.to_dict())
    assert set(factors) == {str(ds.SOPInstanceUID) for ds in datasets}
    assert set(factors.values()) == {pet.conversion.to_dict()["factor"]}
    study = run_protocol(pet.suv, pet.grid, phantom.truth.seed_points)
    h = pet.headers
    outputs = build_dicom_outputs(study, pet.grid, h.datasets, h.grid, h.series_uid, units="{SUVbw}g/ml",
                                  suv_audit=suv_conversion_for_suv_volume("{SUVbw}g/ml").to_dict())
    assert outputs.value_map is None
    refs = [i for i in _content_items(outputs.report) if i.ValueType == "COMPOSITE"]
    assert refs == []
