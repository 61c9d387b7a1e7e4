"""The PET series reader: file discovery, series choice, slice order, geometry, pixel reading, refusals.

All series are written to ``tmp_path`` with pydicom (PET Image Storage, int16, one RescaleSlope per slice).
"""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest
from dicom_builders import DEFAULT_SUVBW_FACTOR, quantise, write_series
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from PentixaforQuantLib.suv.series_reader import read_pet_headers, read_pet_volume, read_stored_slices
from PentixaforQuantLib.errors import DicomSeriesError

RAS = np.diag([-1.0, -1.0, 1.0])


def labelled(nk=6, nj=5, ni=7):
    """Stored values that encode their own index: 1000 k + 10 j + i (unique, fits int16)."""
    k, j, i = np.meshgrid(np.arange(nk), np.arange(nj), np.arange(ni), indexing="ij")
    return (1000 * k + 10 * j + i).astype(np.int16)


def test_sorting_ignores_shuffled_file_names(tmp_path):
    stored = labelled()
    slopes = [0.5, 1.0, 2.0, 0.25, 4.0, 3.0]
    write_series(tmp_path, stored, slopes, shuffle_names=True, seed=3)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names != sorted(names, key=lambda n: n.split("_")[-1])  # file-name order is not slice order
    headers = read_pet_headers(tmp_path)
    z = [float(ds.ImagePositionPatient[2]) for ds in headers.datasets]
    assert z == sorted(z) and len(z) == 6
    values = read_stored_slices(headers)
    assert values.dtype == np.float32 and values.shape == (6, 5, 7)
    assert np.array_equal(values, stored * np.asarray(slopes, np.float32)[:, None, None])


def test_reversed_positions_are_sorted_along_the_normal(tmp_path):
    stored = labelled(4, 3, 3)
    # Origin at z = 12 and slices written with decreasing z: write along -z by flipping the orientation's normal.
    write_series(tmp_path, stored[::-1], [1.0] * 4, origin_lps=(0, 0, 12.0), spacing_mm=(4, 4, -4.0))
    headers = read_pet_headers(tmp_path)
    assert [float(ds.ImagePositionPatient[2]) for ds in headers.datasets] == [0.0, 4.0, 8.0, 12.0]
    assert np.array_equal(read_stored_slices(headers), stored)
    assert np.allclose(headers.grid.ijk_to_ras[:3, 2], [0, 0, 4.0])


def test_suv_volume_applies_slope_and_factor_per_slice(tmp_path):
    rng = np.random.default_rng(0)
    bqml = rng.uniform(0, 30000, (5, 6, 6)).astype(np.float32)
    stored, slopes = quantise(bqml)
    write_series(tmp_path, stored, slopes, shuffle_names=True)
    vol = read_pet_volume(tmp_path)
    expected = stored * slopes[:, None, None] * DEFAULT_SUVBW_FACTOR
    assert vol.suv.dtype == np.float32
    assert np.allclose(vol.suv, expected, rtol=1e-6, atol=0)
    assert vol.conversion.factor == pytest.approx(DEFAULT_SUVBW_FACTOR, rel=1e-12)
    assert np.allclose(vol.suv, bqml / 3600.0, atol=0.5 * slopes.max() / 3600.0 + 1e-6)


def _orthonormal(a_deg: float, b_deg: float):
    a, b = np.radians(a_deg), np.radians(b_deg)
    row = np.array([np.cos(a), np.sin(a), 0.0])
    col = np.array([-np.sin(a) * np.cos(b), np.cos(a) * np.cos(b), np.sin(b)])
    return row, col


def test_oblique_geometry(tmp_path):
    row, col = _orthonormal(30.0, 20.0)
    normal = np.cross(row, col)
    origin = np.array([-100.0, 50.0, 20.0])
    spacing = (2.0, 3.0, 2.5)  # i (along rows, PixelSpacing[1]), j (PixelSpacing[0]), k
    stored = labelled(4, 5, 6)
    write_series(tmp_path, stored, [1.0] * 4, spacing_mm=spacing, origin_lps=origin,
                 orientation=tuple(row) + tuple(col), shuffle_names=True)
    headers = read_pet_headers(tmp_path)
    m = headers.grid.ijk_to_ras
    assert np.allclose(m[:3, 0], RAS @ row * 2.0, atol=1e-6)
    assert np.allclose(m[:3, 1], RAS @ col * 3.0, atol=1e-6)
    assert np.allclose(m[:3, 2], RAS @ normal * 2.5, atol=1e-5)
    assert np.allclose(m[:3, 3], RAS @ origin, atol=1e-5)
    assert np.allclose(headers.grid.spacing_mm, spacing, atol=1e-5)
    # Every slice's ImagePositionPatient is voxel (0, 0, k); pixel (row r, column c) of slice k lies at
    # IPP + row * c * PixelSpacing[1] + col * r * PixelSpacing[0] (DICOM PS3.3 C.7.6.2.1.1).
    values = read_stored_slices(headers)
    for k, ds in enumerate(headers.datasets):
        ipp = np.array([float(v) for v in ds.ImagePositionPatient])
        assert np.allclose(headers.grid.ijk_to_ras_points([0, 0, k]), RAS @ ipp, atol=1e-5)
        r, c = 3, 4
        lps = ipp + row * c * 2.0 + col * r * 3.0
        assert np.allclose(headers.grid.ijk_to_ras_points([c, r, k]), RAS @ lps, atol=1e-5)
        assert values[k, r, c] == 1000 * k + 10 * r + c


def _second_pet_series(folder, n, description):
    stored = np.full((n, 4, 4), 7, np.int16)
    return write_series(folder, stored, [1.0] * n, SeriesInstanceUID=generate_uid(), SeriesDescription=description)


def test_several_series_in_one_folder(tmp_path):
    big = write_series(tmp_path / "a", labelled(6, 4, 4), [1.0] * 6, SeriesDescription="WB AC")
    small = _second_pet_series(tmp_path / "b", 3, "NAC")
    write_series(tmp_path / "c", np.zeros((2, 4, 4), np.int16), [1.0] * 2, Modality="CT",
                 SOPClassUID="1.2.840.10008.5.1.4.1.1.2")
    (tmp_path / "README.txt").write_text("not DICOM")
    (tmp_path / "b" / "junk.bin").write_bytes(b"\x00" * 300)
    big_uid = pydicom.dcmread(big[0]).SeriesInstanceUID
    small_uid = pydicom.dcmread(small[0]).SeriesInstanceUID

    # The reader never chooses between PET series: it lists each with its description and file count.
    with pytest.raises(DicomSeriesError, match=r"2 PET series .*choose one with --series-uid") as refused:
        read_pet_headers(tmp_path)
    message = str(refused.value)
    assert f"{big_uid} ('WB AC', 6 files)" in message and f"{small_uid} ('NAC', 3 files)" in message

    headers = read_pet_headers(tmp_path, series_uid=big_uid)
    assert headers.series_uid == big_uid and len(headers.files) == 6
    note = " ".join(headers.notes)
    assert "1 other PET series not read" in note and "2 files that are not DICOM ignored" in note

    chosen = read_pet_headers(tmp_path, series_uid=small_uid)
    assert chosen.series_uid == small_uid and len(chosen.files) == 3
    assert np.all(read_stored_slices(chosen) == 7)

    ct_uid = pydicom.dcmread(next((tmp_path / "c").iterdir())).SeriesInstanceUID
    with pytest.raises(DicomSeriesError, match=r"is not PET: Modality is CT"):
        read_pet_headers(tmp_path, series_uid=ct_uid)
    with pytest.raises(DicomSeriesError, match=r"series 1\.2\.3 not found"):
        read_pet_headers(tmp_path, series_uid="1.2.3")


def test_list_of_files_and_single_file(tmp_path):
    paths = write_series(tmp_path, labelled(3, 4, 4), [1.0] * 3)
    headers = read_pet_headers([str(p) for p in reversed(paths)])
    assert headers.files == paths
    # One slice gives no slice spacing; it is refused, never invented from SliceThickness or set to 1 mm.
    with pytest.raises(DicomSeriesError, match=r"has a single slice \(slice_0001\.dcm\).*never invented"):
        read_pet_headers(paths[1])


@pytest.mark.parametrize(
    "syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian]
)
def test_transfer_syntaxes(tmp_path, syntax):
    stored = labelled(3, 4, 5) - 1500
    write_series(tmp_path, stored, [0.5, 1.0, 2.0], transfer_syntax=syntax)
    values = read_stored_slices(read_pet_headers(tmp_path))
    assert np.array_equal(values, stored * np.array([0.5, 1.0, 2.0], np.float32)[:, None, None])


def test_unsigned_16_bit(tmp_path):
    stored = (labelled(3, 4, 4).astype(np.uint16) + 40000).astype(np.uint16)
    write_series(tmp_path, stored, [1.0] * 3)
    assert np.array_equal(read_stored_slices(read_pet_headers(tmp_path)), stored.astype(np.float32))


# ---------------------------------------------------------------------------------------------------------------
# Refusals


def test_refuses_missing_folder(tmp_path):
    with pytest.raises(DicomSeriesError, match=r"no such file or folder"):
        read_pet_headers(tmp_path / "nothing")


def test_refuses_mixed_orientations(tmp_path):
    row, col = _orthonormal(10.0, 0.0)

    def tilt(k, ds):
        if k == 2:
            ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*row, *col)]

    write_series(tmp_path, labelled(4, 4, 4), [1.0] * 4, per_instance=tilt)
    with pytest.raises(DicomSeriesError, match=r"mixed orientations"):
        read_pet_headers(tmp_path)


def test_refuses_non_uniform_spacing(tmp_path):
    paths = write_series(tmp_path, labelled(5, 4, 4), [1.0] * 5)
    paths[2].unlink()  # a missing slice leaves an 8 mm gap
    with pytest.raises(DicomSeriesError, match=r"non-uniform slice spacing: gaps of 4, 8 mm"):
        read_pet_headers(tmp_path)


def test_refuses_duplicate_positions(tmp_path):
    paths = write_series(tmp_path, labelled(3, 4, 4), [1.0] * 3)
    ds = pydicom.dcmread(paths[1])
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(tmp_path / "copy.dcm")
    with pytest.raises(DicomSeriesError, match=r"duplicate slice positions"):
        read_pet_headers(tmp_path)


def test_copies_of_the_same_instance_are_read_once(tmp_path):
    paths = write_series(tmp_path, labelled(3, 4, 4), [1.0] * 3)
    (tmp_path / "copy").mkdir()
    shutil.copy(paths[1], tmp_path / "copy" / "same_instance.dcm")
    headers = read_pet_headers(tmp_path)
    assert len(headers.files) == 3 and "same SOPInstanceUID" in " ".join(headers.notes)


@pytest.mark.parametrize(
    "keyword, value, message",
    [
        ("Rows", 5, r"differ in Rows/Columns"),
        ("PixelSpacing", ["3.0", "4.0"], r"differ in PixelSpacing \(0028,0030\): 3/4, 4/4 mm"),
        ("ImagePositionPatient", None, r"ImagePositionPatient \(0020,0032\) missing"),
        ("ImageOrientationPatient", None, r"ImageOrientationPatient \(0020,0037\) missing"),
        ("NumberOfFrames", 2, r"multi-frame PET .* not supported yet"),
        ("SOPClassUID", "1.2.840.10008.5.1.4.1.1.130", r"multi-frame PET \(Enhanced PET"),
    ],
)
def test_refuses_inconsistent_series(tmp_path, keyword, value, message):
    def edit(k, ds):
        if k == 1:
            if value is None:
                delattr(ds, keyword)
            elif keyword == "Rows":
                ds.Rows = value
                ds.PixelData = np.zeros((value, 4), np.int16).tobytes()
            else:
                setattr(ds, keyword, value)

    write_series(tmp_path, labelled(3, 4, 4), [1.0] * 3, per_instance=edit)
    with pytest.raises(DicomSeriesError, match=message):
        read_pet_headers(tmp_path)


def test_refuses_sheared_stack(tmp_path):
    def shear(k, ds):
        ds.ImagePositionPatient = [f"{2.0 * k:.3f}", "0.0", f"{4.0 * k:.3f}"]

    write_series(tmp_path, labelled(4, 4, 4), [1.0] * 4, per_instance=shear)
    with pytest.raises(DicomSeriesError, match=r"offset within the slice plane"):
        read_pet_headers(tmp_path)


def test_refuses_truncated_pixel_data(tmp_path):
    paths = write_series(tmp_path, labelled(3, 4, 4), [1.0] * 3)
    paths[1].write_bytes(paths[1].read_bytes()[:-10])
    with pytest.raises(DicomSeriesError, match=r"truncated"):
        read_stored_slices(read_pet_headers(tmp_path))
