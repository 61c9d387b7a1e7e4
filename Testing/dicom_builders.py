"""Builders of synthetic PET DICOM headers and series for the tests and the benchmark.

The default header is a minimal valid PET Image Storage instance modelled on the IBSI-SUV baseline object
(Units BQML, DecayCorrection START, F-18 6586.2 s, 368.08 MBq injected at 10:00:00, series at 11:00:00,
70 kg, 1.75 m), so that one hour of uptake gives a decayed dose of 252.0 MBq and SUVbw = Bq/mL / 3600.

Keyword arguments replace attributes; a value of ``None`` deletes the attribute. Keywords of the
RadiopharmaceuticalInformationSequence item go in ``radiopharm={...}`` (same convention).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"

#: SUVbw factor of the default header: 70 000 g / 252.0 MBq (dose 368.08 MBq decayed over 1 h of F-18).
DEFAULT_SUVBW_FACTOR = 70_000.0 / (368.08e6 * 2.0 ** (-3600.0 / 6586.2))


def radiopharm_item(**changes) -> Dataset:
    item = Dataset()
    item.Radiopharmaceutical = "FDG"
    item.RadiopharmaceuticalStartTime = "100000.000000"
    item.RadiopharmaceuticalStartDateTime = "20250101100000.000000"
    item.RadionuclideTotalDose = "368080000.0"
    item.RadionuclideHalfLife = "6586.2"
    code = Dataset()
    code.CodeValue = "C-111A1"
    code.CodingSchemeDesignator = "SRT"
    code.CodeMeaning = "^18^Fluorine"
    item.RadionuclideCodeSequence = Sequence([code])
    _apply(item, changes)
    return item


def _apply(ds: Dataset, changes: dict) -> None:
    for key, value in changes.items():
        if value is None:
            if key in ds:
                delattr(ds, key)
        elif isinstance(key, tuple):  # private or explicit tag: (group, element, VR, value) style via tag key
            vr, val = value
            ds.add_new(key, vr, val)
        else:
            setattr(ds, key, value)


def pet_header(*, radiopharm: dict | None = None, private: dict | None = None, **changes) -> Dataset:
    """A PET instance header (no pixel data). ``private`` maps ``(group, element)`` to ``(VR, value)``."""
    ds = Dataset()
    ds.SOPClassUID = PET_IMAGE_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "PT"
    ds.Manufacturer = "Synthetic"
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = "20250101"
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = "110000.000000"
    ds.PatientName = "SYNTHETIC^PET"
    ds.PatientID = "SYN"
    ds.PatientSex = "O"
    ds.PatientSize = "1.75"
    ds.PatientWeight = "70.0"
    ds.SliceThickness = "4.0"
    ds.ActualFrameDuration = 300000
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.FrameOfReferenceUID = generate_uid()
    ds.ImagePositionPatient = [0.0, 0.0, 0.0]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 8
    ds.Columns = 8
    ds.PixelSpacing = [4.0, 4.0]
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = "0.0"
    ds.RescaleSlope = "1.0"
    ds.CorrectedImage = ["NORM", "DTIM", "ATTN", "SCAT", "DECY", "RAN"]
    ds.RadiopharmaceuticalInformationSequence = Sequence([radiopharm_item(**(radiopharm or {}))])
    ds.SeriesType = ["STATIC", "IMAGE"]
    ds.Units = "BQML"
    ds.CountsSource = "EMISSION"
    ds.DecayCorrection = "START"
    ds.FrameReferenceTime = "150000.0"
    _apply(ds, changes)
    for tag, (vr, value) in (private or {}).items():
        ds.add_new(tag, vr, value)
    return ds


def series_headers(n: int, *, slopes=None, per_instance=None, **changes) -> list[Dataset]:
    """``n`` instance headers of one series at z = 0, 4, 8, ... mm. ``per_instance(k, ds)`` may edit each."""
    base = pet_header(**changes)
    out = []
    for k in range(n):
        ds = pet_header(**changes)
        ds.SeriesInstanceUID = base.SeriesInstanceUID
        ds.StudyInstanceUID = base.StudyInstanceUID
        ds.FrameOfReferenceUID = base.FrameOfReferenceUID
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [0.0, 0.0, 4.0 * k]
        if slopes is not None:
            ds.RescaleSlope = f"{slopes[k]:.10g}"
        if per_instance is not None:
            per_instance(k, ds)
        out.append(ds)
    return out


def quantise(values_kji: np.ndarray, dtype=np.int16) -> tuple[np.ndarray, np.ndarray]:
    """Stored values and one RescaleSlope per slice that represent ``values_kji`` (rounded, not truncated)."""
    info = np.iinfo(dtype)
    stored = np.empty(values_kji.shape, dtype)
    slopes = np.empty(values_kji.shape[0])
    for k, plane in enumerate(values_kji):
        peak = float(np.max(np.abs(plane)))
        slope = float(f"{peak / info.max:.10g}") if peak > 0 else 1.0
        slopes[k] = slope
        stored[k] = np.clip(np.rint(plane / slope), info.min, info.max).astype(dtype)
    return stored, slopes


def write_series(
    folder: Path,
    stored_kji: np.ndarray,
    slopes,
    *,
    spacing_mm=(4.0, 4.0, 4.0),
    origin_lps=(0.0, 0.0, 0.0),
    orientation=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0),
    shuffle_names: bool = False,
    seed: int = 0,
    per_instance=None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    **changes,
) -> list[Path]:
    """Write one PET series as Explicit VR Little Endian files; returns the paths in slice order.

    ``spacing_mm`` is (column spacing i, row spacing j, slice spacing k); slices are placed along the normal of
    ``orientation`` (row direction x column direction). With ``shuffle_names`` the file names do not follow
    the slice order. ``transfer_syntax`` may be Explicit/Implicit VR Little Endian, Explicit VR Big Endian or
    Deflated Explicit VR Little Endian. ``changes`` go to :func:`pet_header`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stored_kji = np.asarray(stored_kji)
    nk, nj, ni = stored_kji.shape
    row = np.asarray(orientation[:3], float)
    col = np.asarray(orientation[3:], float)
    normal = np.cross(row, col)
    header = pet_header(**changes)
    names = [f"slice_{k:04d}.dcm" for k in range(nk)]
    if shuffle_names:
        random.Random(seed).shuffle(names)
        names = [f"x{abs(hash((seed, n))) % 10**8:08d}_{n}" for n in names]
    paths = []
    for k in range(nk):
        ds = Dataset()
        ds.update(header)
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = k + 1
        pos = np.asarray(origin_lps, float) + normal * spacing_mm[2] * k
        ds.ImagePositionPatient = [f"{v:.6f}" for v in pos]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in orientation]
        ds.Rows, ds.Columns = nj, ni
        ds.PixelSpacing = [f"{spacing_mm[1]:g}", f"{spacing_mm[0]:g}"]
        ds.SliceThickness = f"{spacing_mm[2]:g}"
        ds.RescaleSlope = f"{float(slopes[k]):.10g}"
        arr = np.ascontiguousarray(stored_kji[k])
        ds.BitsAllocated = ds.BitsStored = arr.dtype.itemsize * 8
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
        ds.PixelData = arr.tobytes()
        if per_instance is not None:
            per_instance(k, ds)
        path = folder / names[k]
        save(ds, path, transfer_syntax)
        paths.append(path)
    return paths


def save(ds: Dataset, path: Path, transfer_syntax: str = ExplicitVRLittleEndian) -> None:
    """Write ``ds`` as a DICOM Part 10 file with the given (uncompressed or deflated) transfer syntax."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    fds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    fds.update(ds)
    big = transfer_syntax == ExplicitVRBigEndian
    if big and "PixelData" in fds:  # pixel data bytes were made little endian
        arr = np.frombuffer(fds.PixelData, dtype=f"<{'i' if fds.PixelRepresentation else 'u'}{fds.BitsAllocated // 8}")
        fds.PixelData = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    if int(pydicom.__version__.split(".")[0]) >= 3:
        if big:  # retired transfer syntax: pydicom writes it only with force_encoding (preamble and meta as given)
            pydicom.dcmwrite(path, fds, implicit_vr=False, little_endian=False, force_encoding=True)
        else:
            pydicom.dcmwrite(path, fds, enforce_file_format=True,
                             implicit_vr=transfer_syntax == ImplicitVRLittleEndian, little_endian=True)
    else:  # pragma: no cover - pydicom 2.x
        fds.is_little_endian, fds.is_implicit_VR = not big, transfer_syntax == ImplicitVRLittleEndian
        fds.save_as(path, write_like_original=False)


def load_like_slicers_dicom_module(volumes_logic, folder: Path):
    """Load a PET series the way Slicer's DICOM module does: files sorted by position, activity values (no SUV), the
    SOP Instance UIDs in the ``DICOM.instanceUIDs`` attribute. Returns (volume node, SOP Instance UID -> file)."""
    import vtk

    files = sorted(Path(folder).glob("*.dcm"))
    by_uid, position = {}, {}
    for f in files:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        by_uid[ds.SOPInstanceUID] = str(f)
        position[f] = float(ds.ImagePositionPatient[2])
    names = vtk.vtkStringArray()
    for f in sorted(files, key=position.get):
        names.InsertNextValue(str(f))
    volume = volumes_logic.AddArchetypeVolume(names.GetValue(0), "PET activity", 0, names)
    assert volume is not None
    volume.SetAttribute("DICOM.instanceUIDs", " ".join(by_uid))  # any order, as in Slicer
    return volume, by_uid
