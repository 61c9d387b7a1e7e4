"""The phantom's PET DICOM writer (phantom/dicom_writer.py): the headers, a plain-pydicom decode of the written
files (stored x slope x weight / decayed dose, with times and half-life read from the files), the header
variants, and the project's own series reader on every variant."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pydicom
import pytest

from PentixaforQuantLib.phantom import PhantomOptions, make_phantom
from PentixaforQuantLib.phantom.dicom_writer import (
    PET_IMAGE_STORAGE,
    PatientInfo,
    ScanInfo,
    suv_scale_factor,
    write_pet_series,
    write_phantom,
)

from phantom_cases import OBLIQUE


def _dicom_datetime(date: str, time: str) -> datetime:
    return datetime.strptime(date + time.split(".")[0].ljust(6, "0"), "%Y%m%d%H%M%S")


def _decode_series(folder):
    """Plain-pydicom SUVbw decode: (suv [k, j, i], ijk_to_ras, datasets sorted by position, slopes in SUV)."""
    datasets = [pydicom.dcmread(p) for p in sorted(folder.glob("*.dcm"))]
    first = datasets[0]
    iop = np.asarray(first.ImageOrientationPatient, float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    datasets.sort(key=lambda ds: float(np.dot(normal, np.asarray(ds.ImagePositionPatient, float))))

    rp = first.RadiopharmaceuticalInformationSequence[0]
    half_life = float(rp.RadionuclideHalfLife)
    dose = float(rp.RadionuclideTotalDose)
    if dose < 1e5:  # stored in MBq
        dose *= 1e6
    series = _dicom_datetime(first.SeriesDate, first.SeriesTime)
    if "RadiopharmaceuticalStartDateTime" in rp:
        start = datetime.strptime(rp.RadiopharmaceuticalStartDateTime.split(".")[0], "%Y%m%d%H%M%S")
    else:
        start = _dicom_datetime(first.SeriesDate, rp.RadiopharmaceuticalStartTime)
        if start > series:  # injected before midnight
            start -= timedelta(days=1)
    decayed = dose * 2.0 ** (-(series - start).total_seconds() / half_life)
    factor = float(first.PatientWeight) * 1000.0 / decayed
    if first.Units == "CNTS":
        factor = float(first[0x7053, 0x1000].value)

    suv = np.stack([ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
                    for ds in datasets]) * factor
    slopes_suv = np.array([float(ds.RescaleSlope) * factor for ds in datasets])

    sp = np.asarray(first.PixelSpacing, float)
    p0 = np.asarray(datasets[0].ImagePositionPatient, float)
    p1 = np.asarray(datasets[1].ImagePositionPatient, float)
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = row * sp[1], col * sp[0], p1 - p0, p0
    ijk_to_ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    return suv, ijk_to_ras, datasets, slopes_suv


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The blurred, noisy default phantom written once per radionuclide."""
    out = {}
    for nuc in ("Ga-68", "F-18"):
        crop = None if nuc == "Ga-68" else ((-190, -130, -160), (190, 130, 240))  # F-18: a shorter series
        ph = make_phantom(PhantomOptions(radionuclide=nuc, fwhm_mm=6.0, noise=0.05, seed=3, fov_ras=crop))
        folder = write_phantom(ph, tmp_path_factory.mktemp(nuc))
        out[nuc] = (ph, folder)
    return out


@pytest.mark.parametrize("nuc", ["Ga-68", "F-18"])
def test_written_series_has_the_pet_headers(written, nuc):
    ph, folder = written[nuc]
    files = sorted((folder / "dicom").glob("*.dcm"))
    assert len(files) == ph.grid.shape_kji[0]
    datasets = [pydicom.dcmread(p) for p in files]
    ds = datasets[0]
    assert ds.SOPClassUID == PET_IMAGE_STORAGE == ds.file_meta.MediaStorageSOPClassUID
    assert ds.Modality == "PT" and ds.Units == "BQML" and ds.DecayCorrection == "START"
    assert {"ATTN", "DECY"} <= set(ds.CorrectedImage)
    assert ds.PixelRepresentation == 1 and ds.BitsAllocated == 16 and float(ds.RescaleIntercept) == 0.0
    assert float(ds.PatientWeight) == 70.0 and float(ds.PatientSize) == 1.75 and ds.PatientSex == "M"
    assert ds.SeriesTime.startswith("110000") and ds.AcquisitionTime.startswith("110000")
    assert float(ds.ActualFrameDuration) > 0 and float(ds.FrameReferenceTime) > 0
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    assert rp.RadiopharmaceuticalStartTime.startswith("100000")
    assert rp.RadiopharmaceuticalStartDateTime.startswith(ds.SeriesDate + "100000")
    code = rp.RadionuclideCodeSequence[0]
    if nuc == "Ga-68":
        assert rp.Radiopharmaceutical == "Ga68-Pentixafor"
        assert float(rp.RadionuclideHalfLife) == 4057.7 and float(rp.RadionuclideTotalDose) == 150e6
        assert (code.CodeValue, code.CodeMeaning) == ("C-131A3", "^68^Gallium")
    else:
        assert float(rp.RadionuclideHalfLife) == 6586.2 and float(rp.RadionuclideTotalDose) == 368.08e6
        assert (code.CodeValue, code.CodeMeaning) == ("C-111A1", "^18^Fluorine")
    assert code.CodingSchemeDesignator == "SRT"
    # One series, unique instances, real UIDs.
    for key in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        assert len({ds[key].value for ds in datasets}) == 1
    assert len({ds.SOPInstanceUID for ds in datasets}) == len(datasets)
    assert all(ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID for ds in datasets)
    assert pydicom.uid.UID(ds.SeriesInstanceUID).is_valid
    # File names are not in slice order: readers must sort by position.
    positions = [float(d.ImagePositionPatient[2]) for d in datasets]
    assert positions != sorted(positions) and positions != sorted(positions, reverse=True)


@pytest.mark.parametrize("nuc", ["Ga-68", "F-18"])
def test_plain_pydicom_decode_reproduces_the_suv_map(written, nuc):
    ph, folder = written[nuc]
    suv, ijk_to_ras, datasets, slopes = _decode_series(folder / "dicom")
    np.testing.assert_allclose(ijk_to_ras, ph.grid.ijk_to_ras, atol=1e-6)
    err = np.abs(suv - ph.suv.astype(np.float64))
    assert np.all(err <= slopes[:, None, None] / 2 + 1e-6)  # int16 rounding (round, not truncate)
    # >= 4 significant digits for the hottest value of every slice.
    peaks = np.abs(ph.suv).reshape(len(slopes), -1).max(axis=1)
    assert np.all(slopes[peaks > 0] / peaks[peaks > 0] <= 1.0001 / 32767)
    # Activity: Bq/mL = SUV x decayed dose / weight (the SUV factor from the writer's constants).
    assert suv_scale_factor(nuc) == pytest.approx(70_000.0 / (
        {"Ga-68": 150e6, "F-18": 368.08e6}[nuc] * 2 ** (-3600 / {"Ga-68": 4057.7, "F-18": 6586.2}[nuc])))
    stored_peak = max(int(ds.pixel_array.max()) for ds in datasets)
    assert stored_peak == 32767


def test_f18_baseline_matches_the_ibsi_constants():
    # IBSI-SUV DRO_0_0: SUV 1 at 60 min is 3600 Bq/mL (decayed dose 252.0 MBq over 70 kg).
    assert 1.0 / suv_scale_factor("F-18") == pytest.approx(3600.0, rel=1e-4)


@pytest.mark.parametrize("variant", ["dose-mbq", "philips-cnts", "midnight"])
def test_header_variants_decode_to_the_same_suv(tmp_path, variant):
    ph = make_phantom(PhantomOptions(fov_ras=((-60, -60, -140), (60, 60, -100))))  # 11 slices around the target
    write_pet_series(ph.suv, ph.grid, tmp_path, variant=variant)
    suv, ijk_to_ras, datasets, slopes = _decode_series(tmp_path)
    np.testing.assert_allclose(ijk_to_ras, ph.grid.ijk_to_ras, atol=1e-6)
    assert np.all(np.abs(suv - ph.suv) <= slopes[:, None, None] / 2 + 1e-6)
    ds = datasets[0]
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    if variant == "dose-mbq":
        assert float(rp.RadionuclideTotalDose) == 150.0
    elif variant == "philips-cnts":
        assert ds.Units == "CNTS" and ds[0x7053, 0x0010].value == "Philips PET Private Group"
        assert float(ds[0x7053, 0x1009].value) == 1.0
    else:
        assert "RadiopharmaceuticalStartDateTime" not in rp
        assert rp.RadiopharmaceuticalStartTime.startswith("233000") and ds.SeriesTime.startswith("003000")


def test_oblique_and_anisotropic_geometry_survive_the_dicom_round_trip(tmp_path):
    for name, opt in (("oblique", PhantomOptions(directions=OBLIQUE, fov_ras=((10, 0, -150), (70, 80, -90)))),
                      ("aniso", PhantomOptions(spacing_mm=(4.07, 3.3, 3.0), fov_ras=((10, 0, -150), (70, 80, -90))))):
        ph = make_phantom(opt)
        write_pet_series(ph.suv, ph.grid, tmp_path / name, patient=PatientInfo(weight_kg=82.5),
                         scan=ScanInfo(series=datetime(2024, 3, 14, 11, 12, 30)))
        suv, ijk_to_ras, _, slopes = _decode_series(tmp_path / name)
        np.testing.assert_allclose(ijk_to_ras, ph.grid.ijk_to_ras, atol=1e-6)
        assert np.all(np.abs(suv - ph.suv) <= slopes[:, None, None] / 2 + 1e-6)
        kji = ph.grid.nearest_kji(ph.truth.seeds_ras["lesion"])
        assert suv[kji] == pytest.approx(12.0, abs=slopes[kji[0]])


def test_writer_refuses_a_shape_that_does_not_match_the_grid(tmp_path):
    ph = make_phantom(PhantomOptions(fov_ras=((-20, -20, -20), (20, 20, 20))))
    with pytest.raises(ValueError, match="does not match"):
        write_pet_series(ph.suv[:-1], ph.grid, tmp_path)
    with pytest.raises(ValueError, match="variant"):
        write_pet_series(ph.suv, ph.grid, tmp_path, variant="gml")


# ------------------------------------------------------------------------------ through the project's reader
@pytest.mark.parametrize("nuc", ["Ga-68", "F-18"])
def test_read_pet_volume_returns_the_written_phantom(written, nuc):
    from PentixaforQuantLib.suv.series_reader import read_pet_volume

    ph, folder = written[nuc]
    volume = read_pet_volume(folder / "dicom")
    _, _, _, slopes = _decode_series(folder / "dicom")
    np.testing.assert_allclose(volume.grid.ijk_to_ras, ph.grid.ijk_to_ras, atol=1e-6)
    assert volume.suv.shape == ph.suv.shape and volume.suv.dtype == np.float32
    assert np.all(np.abs(volume.suv - ph.suv) <= slopes[:, None, None] / 2 * (1 + 1e-4) + 1e-5)


_SMALL_FOV = ((0, -10, -160), (80, 90, -80))  # around the target lesion


@pytest.mark.parametrize(
    ("variant", "options"),
    [
        ("standard", PhantomOptions(spacing_mm=(4.07, 3.3, 3.0), fwhm_mm=6.0, fov_ras=_SMALL_FOV)),
        ("standard", PhantomOptions(directions=OBLIQUE, fov_ras=_SMALL_FOV)),
        ("dose-mbq", PhantomOptions(fov_ras=_SMALL_FOV)),
        ("philips-cnts", PhantomOptions(fov_ras=_SMALL_FOV)),
        ("midnight", PhantomOptions(fov_ras=_SMALL_FOV)),
    ],
    ids=["anisotropic", "oblique", "dose-mbq", "philips-cnts", "midnight"],
)
def test_read_pet_volume_handles_every_geometry_and_header_variant(tmp_path, variant, options):
    from PentixaforQuantLib.suv.series_reader import read_pet_volume

    ph = make_phantom(options)
    slices = write_pet_series(ph.suv, ph.grid, tmp_path, radionuclide=ph.truth.radionuclide, variant=variant)
    volume = read_pet_volume(tmp_path)
    np.testing.assert_allclose(volume.grid.ijk_to_ras, ph.grid.ijk_to_ras, atol=1e-6)
    assert volume.suv.shape == ph.suv.shape and volume.suv.dtype == np.float32
    half_step = np.array([s.rescale_slope for s in slices]) * suv_scale_factor(ph.truth.radionuclide) / 2
    assert np.all(np.abs(volume.suv - ph.suv) <= half_step[:, None, None] * (1 + 1e-4) + 1e-5)
    kji = ph.grid.nearest_kji(ph.truth.seeds_ras["lesion"])
    assert volume.suv[kji] == pytest.approx(ph.suv[kji], abs=2 * half_step[kji[0]] + 1e-5)
