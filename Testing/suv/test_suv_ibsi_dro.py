"""SUVbw of the 17 IBSI-SUV digital reference objects (Vacha et al., IBSI; CC BY 4.0).

Every DRO must give min / median / max = 0.20 / 1.00 / 4.00 inside ``mask/DRO_mask.nii.gz`` at two decimals
(DRO_2_3 stores truncated values, so it gets 0.03 SUV, as the data README explains). The mask is read with
numpy and gzip only, and mapped onto our voxel array through the two voxel-to-RAS matrices, so an orientation
mismatch (axis order or flip) would show up rather than be hidden by the symmetric design.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from PentixaforQuantLib.suv.series_reader import read_pet_headers, read_pet_volume

DROS = [
    "DRO_0_0", "DRO_1_0", "DRO_2_0", "DRO_2_1", "DRO_2_2", "DRO_2_3", "DRO_2_4", "DRO_2_5", "DRO_3_0",
    "DRO_3_1", "DRO_3_2", "DRO_3_3", "DRO_3_4", "DRO_4_0", "DRO_4_1", "DRO_4_2", "DRO_5_0",
]
TOLERANCE = {"DRO_2_3": 0.03}  # truncated stored values (data README)

_NIFTI_DTYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4"}


def read_nifti(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A NIfTI-1 volume as (array [k, j, i], 4x4 voxel-to-RAS matrix from the sform, else the qform)."""
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    endian = "<" if struct.unpack("<i", raw[:4])[0] == 348 else ">"
    dim = struct.unpack(endian + "8h", raw[40:56])
    datatype = struct.unpack(endian + "h", raw[70:72])[0]
    vox_offset = int(struct.unpack(endian + "f", raw[108:112])[0])
    scl_slope, scl_inter = struct.unpack(endian + "2f", raw[112:120])
    qform_code, sform_code = struct.unpack(endian + "2h", raw[252:256])
    pixdim = struct.unpack(endian + "8f", raw[76:108])
    nx, ny, nz = dim[1], dim[2], max(dim[3], 1)
    data = np.frombuffer(raw, dtype=endian + _NIFTI_DTYPES[datatype], count=nx * ny * nz, offset=vox_offset)
    arr = data.reshape((nz, ny, nx)).astype(float)  # NIfTI stores x fastest: C order [z, y, x]
    if scl_slope not in (0.0, 1.0) or scl_inter != 0.0:
        arr = arr * (scl_slope or 1.0) + scl_inter
    affine = np.eye(4)
    if sform_code > 0:
        affine[0] = struct.unpack(endian + "4f", raw[280:296])
        affine[1] = struct.unpack(endian + "4f", raw[296:312])
        affine[2] = struct.unpack(endian + "4f", raw[312:328])
    elif qform_code > 0:
        b, c, d = struct.unpack(endian + "3f", raw[256:268])
        qx, qy, qz = struct.unpack(endian + "3f", raw[268:280])
        a = np.sqrt(max(0.0, 1.0 - (b * b + c * c + d * d)))
        rot = np.array([
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ])
        qfac = -1.0 if pixdim[0] < 0 else 1.0
        affine[:3, :3] = rot * np.array([pixdim[1], pixdim[2], qfac * pixdim[3]])
        affine[:3, 3] = (qx, qy, qz)
    else:
        affine[:3, :3] = np.diag(pixdim[1:4])
    return arr, affine


def mask_on_grid(mask_kji: np.ndarray, mask_ijk_to_ras: np.ndarray, grid) -> np.ndarray:
    """The mask resampled onto ``grid`` by exact voxel correspondence (axis permutations and flips allowed)."""
    m = np.linalg.inv(mask_ijk_to_ras) @ grid.ijk_to_ras  # our (i, j, k) -> mask (i, j, k)
    rot = m[:3, :3]
    assert np.allclose(rot, np.rint(rot), atol=1e-4), "mask grid is not a permutation of the PET grid"
    assert np.allclose(m[:3, 3], np.rint(m[:3, 3]), atol=1e-3), "mask voxels are not centred on PET voxels"
    ii, jj, kk = np.meshgrid(*(np.arange(n) for n in grid.shape_ijk), indexing="ij")
    ours = np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1)
    theirs = np.rint(ours @ rot.T + m[:3, 3]).astype(int)
    shape_ijk = mask_kji.shape[::-1]
    assert np.all(theirs >= 0) and np.all(theirs < shape_ijk), "PET grid extends beyond the mask grid"
    values = mask_kji[theirs[:, 2], theirs[:, 1], theirs[:, 0]]
    out = np.zeros(grid.shape_kji, bool)
    out[kk.ravel(), jj.ravel(), ii.ravel()] = values > 0
    return out


@pytest.mark.parametrize("name", DROS)
def test_ibsi_dro_min_median_max(ibsi_dro_root, name):
    folder = ibsi_dro_root / name
    volume = read_pet_volume(folder / "PT")
    mask_kji, affine = read_nifti(folder / "mask" / "DRO_mask.nii.gz")
    mask = mask_on_grid(mask_kji, affine, volume.grid)
    assert mask.sum() == 203_202  # the object without the zero surround (data README)
    values = volume.suv[mask]
    stats = np.array([values.min(), np.median(values), values.max()])
    tol = TOLERANCE.get(name, 0.005)
    assert np.allclose(stats, [0.20, 1.00, 4.00], atol=tol), f"{name}: min/median/max {np.round(stats, 3)}"
    assert volume.conversion.units == "{SUVbw}g/ml"
    assert volume.suv.dtype == np.float32


def test_ibsi_dro_hot_sphere_is_where_the_readme_says(ibsi_dro_root):
    """Hot sphere centre at voxel (z, y, x) = (10, 128, 158), cold at (10, 128, 98): our [k, j, i] order."""
    volume = read_pet_volume(ibsi_dro_root / "DRO_0_0" / "PT")
    assert volume.suv[10, 128, 158] == pytest.approx(4.0, abs=0.005)
    assert volume.suv[10, 128, 98] == pytest.approx(0.2, abs=0.005)
    assert np.allclose(volume.grid.spacing_mm, [4.0, 4.0, 4.0])
    # LPS identity orientation: RAS x and y point opposite to i and j.
    assert np.allclose(volume.grid.directions, np.diag([-1.0, -1.0, 1.0]))


def _decisions(ibsi_dro_root, name):
    return " | ".join(read_pet_volume(ibsi_dro_root / name / "PT").conversion.audit.decisions)


def test_dro_3_2_uses_back_computed_reference_time(ibsi_dro_root):
    """SeriesTime 11:30 after AcquisitionTime 11:02:30: back-computation gives 4.00 (earliest acquisition 4.06)."""
    volume = read_pet_volume(ibsi_dro_root / "DRO_3_2" / "PT")
    assert float(volume.suv.max()) == pytest.approx(4.00, abs=0.005)
    text = " | ".join(volume.conversion.audit.decisions)
    assert "back-computed" in text and "SeriesTime 2025-01-01T11:30:00 is later" in text
    scan = volume.conversion.audit.scan_datetime
    assert abs((scan - scan.replace(hour=11, minute=0, second=0, microsecond=0)).total_seconds()) < 1.0


def test_dro_audits_name_the_special_paths(ibsi_dro_root):
    assert "read as MBq" in _decisions(ibsi_dro_root, "DRO_3_0")
    assert "ADMIN" in _decisions(ibsi_dro_root, "DRO_3_1")
    assert "NONE" in _decisions(ibsi_dro_root, "DRO_3_4")
    assert "previous day" in _decisions(ibsi_dro_root, "DRO_4_2")
    assert "Philips SUV Scale Factor" in _decisions(ibsi_dro_root, "DRO_2_4")
    assert "Activity Concentration Scale Factor" in _decisions(ibsi_dro_root, "DRO_2_5")
    assert "Ga-68" in _decisions(ibsi_dro_root, "DRO_5_0")
    assert read_pet_volume(ibsi_dro_root / "DRO_3_4" / "PT").conversion.factor is None  # per-instance factors


def test_dro_header_read_sorts_20_slices(ibsi_dro_root):
    headers = read_pet_headers(ibsi_dro_root / "DRO_1_0")  # folder with PT, RS and mask: RTSTRUCT is not PET
    assert len(headers.files) == 20
    z = [float(ds.ImagePositionPatient[2]) for ds in headers.datasets]
    assert z == sorted(z)
