"""The DICOM SEG, SR and RWVM as the field reads them: dcmqi (the reader behind Slicer's QuantitativeReporting),
QuantitativeReporting's pairing of groups, segments and table columns (replayed on dcmqi's output), PixelMed's SR
template validator and dciodvfy; on the demo phantom, the 17 IBSI-SUV DROs and a PET stripped to its type 1
attributes."""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest

hd = pytest.importorskip("highdicom")

from dicom_validation import (  # noqa: E402
    assert_valid_dicom,
    dcmqi_read_seg,
    dcmqi_read_sr,
    pixelmed_sr_validation,
    seg_masks_with_pydicom,
)

from PentixaforQuantLib.measure.protocol import run_protocol  # noqa: E402
from PentixaforQuantLib.measure.sites import AORTA, LESION, SITE_TITLES  # noqa: E402
from PentixaforQuantLib.outputs.dicom_codes import SITE_DISPLAY_RGB  # noqa: E402
from PentixaforQuantLib.outputs.dicom_export import build_dicom_outputs, write_dicom_outputs  # noqa: E402
from PentixaforQuantLib.outputs.dicom_rwvm import RWVM_STORAGE  # noqa: E402
from PentixaforQuantLib.suv import SUVOverrides, read_pet_volume  # noqa: E402

DROS = [
    "DRO_0_0", "DRO_1_0", "DRO_2_0", "DRO_2_1", "DRO_2_2", "DRO_2_3", "DRO_2_4", "DRO_2_5", "DRO_3_0",
    "DRO_3_1", "DRO_3_2", "DRO_3_3", "DRO_3_4", "DRO_4_0", "DRO_4_1", "DRO_4_2", "DRO_5_0",
]
#: Points on the DROs, voxel (k, j, i): the lesion on the hot sphere (SUV 4.00, data README), the other sites in
#: the uniform SUV 1.00 body, away from both spheres.
DRO_POINTS_KJI = {"lesion": (10, 128, 158), "aorta": (10, 90, 128), "C7": (5, 160, 128), "T12": (14, 160, 128),
                  "L5": (10, 160, 90), "right_ilium": (5, 90, 90), "left_ilium": (14, 90, 160)}
READER = "Reader^Test"


def _export(pet, points, out, **options):
    study = run_protocol(pet.suv, pet.grid, points)
    assert not study.errors, study.errors
    h = pet.headers
    outputs = build_dicom_outputs(study, pet.grid, h.datasets, h.grid, h.series_uid, units=pet.conversion.units,
                                  suv_audit=pet.conversion.to_dict(), pet_files=h.files, **options)
    return study, write_dicom_outputs(outputs, out)


def _dro_points(pet):
    return {site: pet.grid.ijk_to_ras_points(np.array([kji[::-1]], float))[0] for site, kji in DRO_POINTS_KJI.items()}


def _site_result(study, site):
    return study.lesion if site == LESION else study.blood_pool if site == AORTA else study.marrow[site]


def expected_items(study, site) -> list[tuple[str, str | None, float, str]]:
    """(quantity meaning, derivation meaning, value, units) of a site's group, in the order every group uses."""
    r = _site_result(study, site)
    s = r.stats
    suv = "g/ml{SUVbw}"
    items = [("Standardized Uptake Value", "Maximum", s.suv_max, suv),
             ("Standardized Uptake Value", "Mean", s.suv_mean, suv),
             ("Standardized Uptake Value", "Standard Deviation", s.suv_sd, suv),
             ("Volume", None, s.volume_ml, "ml")]
    if site == LESION:
        items += [("Standardized Uptake Value", "Peak Value Within ROI", r.peak.suv_peak, suv),
                  ("Integrated Intensity", None, s.tla, "g/ml{SUVbw}.ml"),
                  ("Background for Lesion to Background SUV Ratio", None, study.blood_pool.stats.suv_mean, suv),
                  ("Lesion to Background SUV Ratio", None, study.tbr, "{ratio}")]
    return items


def assert_dcmqi_reads_every_group_and_number(study, paths, workdir):
    """dcmqi's tid1500reader gives every group, in segment order, with every number, code and unit."""
    seg = pydicom.dcmread(paths["seg"])
    data = dcmqi_read_sr(paths["sr"], workdir)
    groups = data["Measurements"]
    sites = list(study.regions)
    assert [g["TrackingIdentifier"] for g in groups] == [SITE_TITLES[s] for s in sites]
    tracking = {int(s.SegmentNumber): str(s.TrackingUID) for s in seg.SegmentSequence}
    for number, (group, site) in enumerate(zip(groups, sites), start=1):
        assert group["ReferencedSegment"] == number
        assert group["TrackingUniqueIdentifier"] == tracking[number]
        assert group["segmentationSOPInstanceUID"] == seg.SOPInstanceUID
        # dcmqi keeps only the first algorithm parameter: it is the VOI method.
        first = group["measurementAlgorithmIdentification"]["AlgorithmParameters"][0]
        assert ("isocontour" in first) if site == LESION else first.startswith("sphere ")
        got = [(m["quantity"]["CodeMeaning"], m.get("derivationModifier", {}).get("CodeMeaning"), float(m["value"]),
                m["units"]["CodeValue"]) for m in group["measurementItems"]]
        want = expected_items(study, site)
        assert [g[:2] + g[3:] for g in got] == [w[:2] + w[3:] for w in want], site
        np.testing.assert_allclose([g[2] for g in got], [w[2] for w in want], rtol=1e-12, atol=1e-12,
                                   err_msg=site)
    rwvm = pydicom.dcmread(paths["rwvm"])
    assert set(data["compositeContext"]) == {seg.SOPInstanceUID, rwvm.SOPInstanceUID}
    return data


def assert_rwvm_maps_the_pet_to_its_suv(pet, path):
    """Each mapping item, applied as QuantitativeReporting applies it (slope x the rescaled values), gives the SUV
    volume the numbers were measured on, on an instance it lists."""
    rwvm = pydicom.dcmread(path)
    k_of = {str(ds.SOPInstanceUID): k for k, ds in enumerate(pet.headers.datasets)}
    listed = set()
    for item in rwvm.ReferencedImageRealWorldValueMappingSequence:
        uids = [str(r.ReferencedSOPInstanceUID) for r in item.ReferencedImageSequence]
        listed.update(uids)
        k = k_of[uids[len(uids) // 2]]
        ds = pydicom.dcmread(pet.headers.files[k])
        bqml = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        slope = float(item.RealWorldValueMappingSequence[0].RealWorldValueSlope)
        np.testing.assert_allclose(bqml * slope, pet.suv[k], rtol=1e-5, atol=1e-6)
    assert listed == set(k_of)
    return rwvm


def replay_quantitative_reporting(data, seg_meta):
    """QuantitativeReporting's DICOMTID1500Plugin on dcmqi's output: each group gets the segment at its index
    (``assignTrackingUniqueIdentifier``), and the table takes its columns from the first group and fills the
    other rows by position (``metadata2vtkTableNode``). Returns the table: header and rows."""
    segments = [attrs[0] for attrs in seg_meta["segmentAttributes"]]

    def key(item):
        if "derivationModifier" in item:
            return item["derivationModifier"]["CodeMeaning"]
        return f"{item['quantity']['CodeMeaning']} {item['units']['CodeValue']}"

    columns = [key(item) for item in data["Measurements"][0]["measurementItems"]]
    rows = []
    for idx, group in enumerate(data["Measurements"]):
        segment = segments[idx]  # an IndexError here is the loader's failure
        assert segment["TrackingIdentifier"] == group["TrackingIdentifier"]
        assert int(segment["labelID"]) == group["ReferencedSegment"]
        items = group["measurementItems"]
        assert len(items) <= len(columns)
        for column, item in zip(columns, items):
            assert key(item) == column, f"{group['TrackingIdentifier']}: {key(item)} under {column}"
        rows.append([group["TrackingIdentifier"], *(item["value"] for item in items)])
    return ["Segment", *columns], rows


# ------------------------------------------------------------------------------------------------- demo


@pytest.fixture(scope="module")
def demo(phantom_study, tmp_path_factory):
    phantom, folder = phantom_study
    pet = read_pet_volume(folder / "dicom")
    out = tmp_path_factory.mktemp("interop")
    study, paths = _export(pet, phantom.truth.seed_points, out / "dicom", observer_name=READER)
    return pet, study, paths, out


def test_dcmqi_reads_every_group_number_and_segment_of_the_demo(demo):
    pet, study, paths, out = demo
    data = assert_dcmqi_reads_every_group_and_number(study, paths, out)
    assert data["observerContext"] == {"ObserverType": "PERSON", "PersonObserverName": READER}
    meta, files = dcmqi_read_seg(paths["seg"], out)
    sites = list(study.regions)
    colours = set()
    for n, site in enumerate(sites, start=1):
        (attrs,) = meta["segmentAttributes"][n - 1]
        assert attrs["SegmentLabel"] == SITE_TITLES[site] and int(attrs["labelID"]) == n
        rgb = attrs["recommendedDisplayRGBValue"]
        assert np.allclose(rgb, [255 * v for v in SITE_DISPLAY_RGB[site]], atol=1.5), site
        colours.add(tuple(rgb))
        category = attrs["SegmentedPropertyCategoryCodeSequence"]["CodeValue"]
        if site == AORTA:  # the TBR's reference region, by QIICR's convention
            assert (category, attrs["SegmentedPropertyTypeCodeSequence"]["CodeValue"]) == ("309825002", "C94970")
    assert len(colours) == len(sites)
    # The voxels dcmqi writes are the VOIs (a NRRD per segment, read with VTK's reader; the masks read with pydicom
    # alone agree with them).
    masks = seg_masks_with_pydicom(pydicom.dcmread(paths["seg"]), pet.headers.datasets)
    for n, site in enumerate(sites, start=1):
        assert _nrrd_voxels(files[n]) == int(masks[n].sum()) == study.regions[site].voxel_count, site


def _nrrd_voxels(path) -> int:
    """Number of non-zero voxels of a NRRD file (VTK's reader)."""
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    reader = vtk.vtkNrrdReader()
    reader.SetFileName(str(path))
    reader.Update()
    return int(np.count_nonzero(vtk_to_numpy(reader.GetOutput().GetPointData().GetScalars())))


def test_quantitative_reporting_pairs_every_group_with_its_segment_and_column(demo):
    pet, study, paths, out = demo
    data = dcmqi_read_sr(paths["sr"], out / "qr")
    meta, _ = dcmqi_read_seg(paths["seg"], out / "qr")
    header, rows = replay_quantitative_reporting(data, meta)
    assert header[:5] == ["Segment", "Maximum", "Mean", "Standard Deviation", "Volume ml"]
    assert header[5:] == ["Peak Value Within ROI", "Integrated Intensity g/ml{SUVbw}.ml",
                          "Background for Lesion to Background SUV Ratio g/ml{SUVbw}",
                          "Lesion to Background SUV Ratio {ratio}"]
    assert len(set(header)) == len(header)  # no two columns of one name
    assert len(rows) == len(study.regions) == 7
    blood = rows[1]
    assert blood[0] == SITE_TITLES[AORTA] and float(blood[4]) == pytest.approx(study.blood_pool.stats.volume_ml)


def test_pixelmed_finds_no_template_error_in_the_report(demo):
    pet, study, paths, out = demo
    assert pixelmed_sr_validation(paths["sr"]) == {str(paths["sr"]): []}


def test_rwvm_maps_the_pet_to_the_suv_of_the_report(demo):
    """Slope x the PET's Bq/ml gives the SUV volume the numbers were measured on; the RWVM references the PET
    series (as QuantitativeReporting checks) and every group references the RWVM."""
    pet, study, paths, out = demo
    rwvm = pydicom.dcmread(paths["rwvm"])
    sr = pydicom.dcmread(paths["sr"])
    assert rwvm.SOPClassUID == RWVM_STORAGE and rwvm.Modality == "RWV"
    assert rwvm.StudyInstanceUID == pet.headers.datasets[0].StudyInstanceUID
    assert rwvm.ReferencedSeriesSequence[0].SeriesInstanceUID == pet.headers.series_uid
    (item,) = rwvm.ReferencedImageRealWorldValueMappingSequence
    mapping = item.RealWorldValueMappingSequence[0]
    assert float(mapping.RealWorldValueSlope) == pet.conversion.to_dict()["factor"]
    assert float(mapping.RealWorldValueIntercept) == 0.0
    units = mapping.MeasurementUnitsCodeSequence[0]
    assert (units.CodeValue, units.CodingSchemeDesignator) == ("g/ml{SUVbw}", "UCUM")
    quantity = {q.ConceptNameCodeSequence[0].CodeValue: q.ConceptCodeSequence[0].CodeValue
                for q in mapping.QuantityDefinitionSequence}
    assert quantity == {"246205007": "126400", "370129005": "126410"}
    assert {str(r.ReferencedSOPInstanceUID) for r in item.ReferencedImageSequence} == {
        str(ds.SOPInstanceUID) for ds in pet.headers.datasets}
    # The mapping applied to one PET instance's Bq/ml gives the SUV volume's slice.
    k = int(study.lesion.region.indices_kji()[0, 0])
    ds = pydicom.dcmread(pet.headers.files[k])
    bqml = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(bqml * float(mapping.RealWorldValueSlope), pet.suv[k], rtol=1e-6, atol=1e-6)
    # Every measurement group references it (TID 1411 row 14), and it is in the evidence.
    refs = [i for i in _items(sr) if i.ValueType == "COMPOSITE"
            and i.ConceptNameCodeSequence[0].CodeValue == "126100"]
    assert len(refs) == len(study.regions)
    assert {r.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for r in refs} == {rwvm.SOPInstanceUID}
    evidence = {str(i.ReferencedSOPInstanceUID) for st in sr.CurrentRequestedProcedureEvidenceSequence
                for s in st.ReferencedSeriesSequence for i in s.ReferencedSOPSequence}
    assert rwvm.SOPInstanceUID in evidence
    assert_valid_dicom(paths["rwvm"])


def _items(ds):
    for item in ds.get("ContentSequence", []):
        yield item
        yield from _items(item)


def test_person_observer_series_time_and_content_creator(demo):
    pet, study, paths, out = demo
    seg = pydicom.dcmread(paths["seg"])
    sr = pydicom.dcmread(paths["sr"])
    assert str(seg.ContentCreatorName) == READER
    for ds in (seg, sr, pydicom.dcmread(paths["rwvm"])):
        assert ds.SeriesDate and ds.SeriesTime and ds.SeriesDate == ds.ContentDate
    observers = [(i.ConceptNameCodeSequence[0].CodeValue, i.get("PersonName") or i.get("ConceptCodeSequence"))
                 for i in sr.ContentSequence if i.RelationshipType == "HAS OBS CONTEXT"]
    assert ("121008", READER) in [(c, str(v)) for c, v in observers]  # Person Observer Name


def test_a_re_export_names_the_report_it_replaces(demo, tmp_path):
    pet, study, paths, out = demo
    folder = tmp_path / "dicom"
    shutil.copytree(paths["sr"].parent, folder)
    old = pydicom.dcmread(folder / "sr.dcm")
    _, again = _export(pet, _points_of(study), folder, replaces=folder)
    new = pydicom.dcmread(again["sr"])
    (pre,) = new.PredecessorDocumentsSequence
    assert pre.StudyInstanceUID == old.StudyInstanceUID
    ref = pre.ReferencedSeriesSequence[0]
    assert ref.SeriesInstanceUID == old.SeriesInstanceUID
    assert ref.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == old.SOPInstanceUID
    assert new.SOPInstanceUID != old.SOPInstanceUID
    assert_valid_dicom(again["sr"])
    # A first export has none.
    assert "PredecessorDocumentsSequence" not in pydicom.dcmread(paths["sr"])


def _points_of(study):
    points = {LESION: study.lesion.click_ras, AORTA: study.blood_pool.center_ras}
    points.update({site: r.center_ras for site, r in study.marrow.items()})
    return points


# ------------------------------------------------------------------------------------------------- DROs


@pytest.fixture(scope="module")
def dro_exports(ibsi_dro_root, tmp_path_factory):
    """The SEG, SR and RWVM of each of the 17 IBSI-SUV DROs (points on the hot sphere and the SUV 1 body)."""
    out = tmp_path_factory.mktemp("dro_dicom")
    exports = {}
    for name in DROS:
        pet = read_pet_volume(ibsi_dro_root / name / "PT")
        study, paths = _export(pet, _dro_points(pet), out / name)
        exports[name] = (pet, study, paths)
    return exports, out


@pytest.mark.parametrize("name", DROS)
def test_every_dro_exports_a_report_dcmqi_reads_with_every_number(name, dro_exports):
    exports, out = dro_exports
    pet, study, paths = exports[name]
    # The known answers: the lesion is the SUV 4 sphere, every other site lies in the SUV 1 body.
    assert study.lesion.stats.suv_max == pytest.approx(4.0, abs=0.03)
    assert study.blood_pool.stats.suv_mean == pytest.approx(1.0, abs=0.03)
    assert study.tbr == pytest.approx(4.0, abs=0.1)
    data = assert_dcmqi_reads_every_group_and_number(study, paths, out / name)
    meta, _ = dcmqi_read_seg(paths["seg"], out / name)
    replay_quantitative_reporting(data, meta)
    assert_rwvm_maps_the_pet_to_its_suv(pet, paths["rwvm"])
    for key in ("seg", "sr", "rwvm"):
        assert_valid_dicom(paths[key], inherited=pet.headers.files[0])


def test_pixelmed_finds_no_template_error_in_any_dro_report(dro_exports):
    exports, out = dro_exports
    # PixelMed takes about 15 s a report: the DRO without Accession Number (the demo's report is checked above);
    # the 17 reports are built by the same code from the same tree, each checked by dcmqi and dciodvfy above.
    results = pixelmed_sr_validation(exports["DRO_5_0"][2]["sr"])
    assert all(errors == [] for errors in results.values()), results


# ------------------------------------------------------------------------------------------------- stripped PET

#: The type 1 attributes of the PET Image IOD (SOP Common, General Study/Series, PET Series, Frame of Reference,
#: Image Plane, Image Pixel, PET Image), plus Corrected Image (type 2), which the reader needs to know the
#: image is decay corrected. Everything else, type 2 or 3, is removed.
TYPE1_KEPT = {
    "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesDate", "SeriesTime",
    "Units", "CountsSource", "SeriesType", "DecayCorrection", "NumberOfSlices", "FrameOfReferenceUID",
    "PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient", "SamplesPerPixel", "PhotometricInterpretation",
    "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "PixelData", "ImageType",
    "RescaleIntercept", "RescaleSlope", "FrameReferenceTime", "ImageIndex", "SpecificCharacterSet", "CorrectedImage",
}


def test_a_pet_stripped_to_its_type1_attributes_exports_cleanly(phantom_study, tmp_path):
    """No Accession Number, birth date, Study ID, referring physician, patient name or ID, study date, slice
    thickness...: the objects are made with those type 2 attributes empty, and read by dcmqi with every number."""
    phantom, folder = phantom_study
    stripped = tmp_path / "pet"
    stripped.mkdir()
    for f in sorted((folder / "dicom").glob("*.dcm")):
        ds = pydicom.dcmread(f)
        for elem in list(ds):
            if elem.keyword not in TYPE1_KEPT:
                del ds[elem.tag]
        ds.save_as(stripped / f.name, enforce_file_format=True)
    first = pydicom.dcmread(next(stripped.glob("*.dcm")), stop_before_pixels=True)
    for keyword in ("AccessionNumber", "PatientBirthDate", "StudyID", "ReferringPhysicianName", "PatientID",
                    "PatientName", "StudyDate", "SliceThickness", "RadiopharmaceuticalInformationSequence"):
        assert keyword not in first
    overrides = SUVOverrides(weight_kg=70.0, dose_bq=150e6, injection_datetime="2024-03-14T10:00",
                             half_life_s=4057.7)
    pet = read_pet_volume(stripped, overrides=overrides)
    reference = read_pet_volume(folder / "dicom")
    np.testing.assert_allclose(pet.suv, reference.suv, rtol=1e-9)  # the same SUV from the overrides
    study, paths = _export(pet, phantom.truth.seed_points, tmp_path / "dicom")
    # The PET headers themselves are left as they were.
    assert "AccessionNumber" not in pet.headers.datasets[0] and "SliceThickness" not in pet.headers.datasets[0]
    for key in ("seg", "sr", "rwvm"):
        ds = pydicom.dcmread(paths[key])
        assert ds.AccessionNumber == "" and ds.PatientID == "" and ds.StudyID == "" and ds.PatientBirthDate == ""
        assert_valid_dicom(paths[key])
    assert_dcmqi_reads_every_group_and_number(study, paths, tmp_path)


# ------------------------------------------------------------------------------------------------- real PET

STS_ARCHIVE = "ibsi-sts-pet/ibsi_sts_pet_v1_6da9602.tar.xz"
STS_CASES = ("STS_001", "STS_024", "STS_051")


@pytest.fixture(scope="module")
def sts_root(tmp_path_factory):
    """Three real FDG PET series of the IBSI STS set (GE Discovery ST, stored as SUV; CC BY 3.0), unpacked once."""
    import os
    import tarfile
    from pathlib import Path

    # The shared data folder, found as Testing/conftest.py finds it.
    shared = Path(os.environ.get("PENTIXAFOR_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared"
                                 / "data"))
    archive = shared / STS_ARCHIVE
    if not archive.is_file():
        pytest.skip(f"IBSI STS PET set not found ({archive.name}); set PENTIXAFOR_SHARED_DATA to the folder holding "
                    "ibsi-sts-pet/ (source: github.com/theibsi/data_sets, CC BY 3.0)")
    out = tmp_path_factory.mktemp("sts")
    with tarfile.open(archive, "r:xz") as tar:
        members = [m for m in tar.getmembers()
                   if any(f"/dicom/{case}/PET/image/" in m.name for case in STS_CASES) and m.isfile()]
        tar.extractall(out, members=members, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return out / "ibsi-sts-pet" / "dicom"


@pytest.mark.parametrize("case", STS_CASES)
def test_a_real_pet_exports_a_report_dcmqi_reads_with_every_number(case, sts_root, tmp_path):
    """Real vendor headers, an 18-character Study ID (copied unchanged, with its warning): the lesion on the
    tumour's hottest voxel, the other sites on tissue voxels away from it (sites of the protocol's names, not its
    anatomy: the series are cropped limbs)."""
    from PentixaforQuantLib.measure.protocol import ProtocolParameters

    pet = read_pet_volume(sts_root / case / "PET" / "image")
    suv = pet.suv
    hottest = np.array(np.unravel_index(np.argmax(suv), suv.shape))
    tissue = np.argwhere(suv > 0.3)
    tissue = tissue[np.linalg.norm(tissue - hottest, axis=1) > 8]
    chosen = tissue[np.linspace(0, len(tissue) - 1, 6).astype(int)]
    points = {LESION: pet.grid.ijk_to_ras_points(hottest[None, ::-1].astype(float))[0]}
    for site, kji in zip(("aorta", "C7", "T12", "L5", "right_ilium", "left_ilium"), chosen):
        points[site] = pet.grid.ijk_to_ras_points(kji[None, ::-1].astype(float))[0]
    study = run_protocol(suv, pet.grid, points, ProtocolParameters(blood_pool_diameter_mm=8.0,
                                                                   marrow_diameter_mm=8.0))
    assert not study.errors, study.errors
    h = pet.headers
    outputs = build_dicom_outputs(study, pet.grid, h.datasets, h.grid, h.series_uid, units=pet.conversion.units,
                                  suv_audit=pet.conversion.to_dict(), pet_files=h.files)
    assert [w.split(" of the PET")[0] for w in outputs.warnings] == ["StudyID (0020,0010)"]
    paths = write_dicom_outputs(outputs, tmp_path / "dicom")
    assert_dcmqi_reads_every_group_and_number(study, paths, tmp_path)
    meta, _ = dcmqi_read_seg(paths["seg"], tmp_path)
    replay_quantitative_reporting(dcmqi_read_sr(paths["sr"], tmp_path / "qr"), meta)
    assert_rwvm_maps_the_pet_to_its_suv(pet, paths["rwvm"])  # stored as SUV already: slope 1
    for key in ("seg", "sr", "rwvm"):
        assert_valid_dicom(paths[key], inherited=h.files[0])
