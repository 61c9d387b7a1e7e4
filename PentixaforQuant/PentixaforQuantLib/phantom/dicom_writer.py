"""Write an SUV map as a PET DICOM series (PET Image Storage), so that the loader path is tested end to end.

The pixel data are activity concentrations: ``Bq/mL = SUV x decayed dose [Bq] / weight [g]``, stored as int16 with
one RescaleSlope per slice (intercept 0). A correct SUVbw conversion of the written files therefore returns the
SUV map up to int16 rounding (half a slope step per slice). Header constants follow the IBSI-SUV baseline
(DRO_0_0 of ``Testing/data/ibsi-suv-dro``): 70 kg, 1.75 m, injection 10:00:00, series 11:00:00 (60 min uptake).

Geometry comes from the :class:`~PentixaforQuantLib.geometry.VoxelGrid` (RAS) converted to DICOM LPS:
ImageOrientationPatient = i (row) and j (column) axes, PixelSpacing = (j, i) spacing, one ImagePositionPatient per
k slice. File names are shuffled numbers, unrelated to slice order, and InstanceNumber counts down along k (as
scanners number head-first series), so readers must sort by position.

Header variants (``variant=``):

``"standard"``
    Units BQML, DecayCorrection START, RadiopharmaceuticalStartDateTime and StartTime, dose in Bq.
``"dose-mbq"``
    As standard, but RadionuclideTotalDose in MBq (readers must recognise it by magnitude).
``"philips-cnts"``
    Units CNTS with the Philips private SUV scale factor (7053,1000) and activity-concentration scale factor
    (7053,1009) = 1.0 (creator "Philips PET Private Group").
``"midnight"``
    Injection 23:30:00, series 00:30:00 the next day, RadiopharmaceuticalStartTime only (no StartDateTime).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, generate_uid

from .. import __version__
from ..geometry import LPS_TO_RAS, VoxelGrid
from ..suv.series_files import PET_IMAGE_STORAGE  # SOP Class UID of PET Image Storage (re-exported)
from .design import RadionuclideInfo, radionuclide_info
from .render import Phantom
from .truth import PhantomTruth

__all__ = [
    "PET_IMAGE_STORAGE",
    "VARIANTS",
    "PatientInfo",
    "ScanInfo",
    "SliceScaling",
    "suv_scale_factor",
    "decayed_dose_bq",
    "write_pet_series",
    "write_phantom",
    "write_truth_json",
]

VARIANTS = ("standard", "dose-mbq", "philips-cnts", "midnight")
_INT16_MAX = 32767
_PYDICOM_3 = int(pydicom.__version__.split(".")[0]) >= 3
# Positron fractions (branching ratios) written for completeness; SUV does not use them.
_POSITRON_FRACTION = {"Ga-68": 0.8891, "F-18": 0.9673}


@dataclass(frozen=True)
class PatientInfo:
    """Patient module values.

    Attributes
    ----------
    name, patient_id : str
        PatientName (DICOM PN) and PatientID.
    sex : {"M", "F", "O"}
        PatientSex.
    weight_kg : float
        PatientWeight in kg (SUVbw normaliser).
    height_m : float
        PatientSize in m.
    birth_date : str
        PatientBirthDate, YYYYMMDD.
    """

    name: str = "Pentixafor^Phantom"
    patient_id: str = "PXF-DRO-0001"
    sex: str = "M"
    weight_kg: float = 70.0
    height_m: float = 1.75
    birth_date: str = "19600101"


@dataclass(frozen=True)
class ScanInfo:
    """Timing and activity of the scan.

    Attributes
    ----------
    injection : datetime
        Radiopharmaceutical start date-time (administration).
    series : datetime
        Series date-time = acquisition start = decay-correction reference (DecayCorrection START).
    injected_dose_bq : float or None
        RadionuclideTotalDose in Bq; None = the radionuclide default (150 MBq Ga-68, 368.08 MBq F-18).
    half_life_s : float or None
        RadionuclideHalfLife in s; None = the radionuclide default.
    frame_duration_s : float
        ActualFrameDuration in s (FrameReferenceTime is the decay-weighted mid-frame time).
    """

    injection: datetime = datetime(2024, 3, 14, 10, 0, 0)
    series: datetime = datetime(2024, 3, 14, 11, 0, 0)
    injected_dose_bq: float | None = None
    half_life_s: float | None = None
    frame_duration_s: float = 180.0


@dataclass(frozen=True)
class SliceScaling:
    """How one slice was stored: ``activity_bqml = stored x rescale_slope``."""

    k: int
    path: Path
    rescale_slope: float


def _resolve(radionuclide: str, scan: ScanInfo | None) -> tuple[RadionuclideInfo, ScanInfo]:
    nuc = radionuclide_info(radionuclide)
    scan = scan or ScanInfo()
    scan = replace(
        scan,
        injected_dose_bq=nuc.default_dose_bq if scan.injected_dose_bq is None else float(scan.injected_dose_bq),
        half_life_s=nuc.half_life_s if scan.half_life_s is None else float(scan.half_life_s),
    )
    return nuc, scan


def _variant_scan(variant: str, scan: ScanInfo | None) -> ScanInfo | None:
    """The "midnight" variant keeps the 60 min uptake but injects at 23:30 and scans at 00:30 the next day."""
    if variant != "midnight":
        return scan
    return replace(scan or ScanInfo(), injection=datetime(2024, 3, 14, 23, 30, 0),
                   series=datetime(2024, 3, 15, 0, 30, 0))


def decayed_dose_bq(radionuclide: str = "Ga-68", scan: ScanInfo | None = None) -> float:
    """Injected dose decayed from injection to the series time, in Bq."""
    _, scan = _resolve(radionuclide, scan)
    dt_s = (scan.series - scan.injection).total_seconds()
    return scan.injected_dose_bq * 2.0 ** (-dt_s / scan.half_life_s)


def suv_scale_factor(
    radionuclide: str = "Ga-68", patient: PatientInfo | None = None, scan: ScanInfo | None = None
) -> float:
    """SUVbw per Bq/mL (g/mL per Bq/mL): weight [g] / decayed dose [Bq]."""
    patient = patient or PatientInfo()
    return patient.weight_kg * 1000.0 / decayed_dose_bq(radionuclide, scan)


def _ds(x: float) -> str:
    """A DS string of at most 16 characters that keeps 10 significant digits where possible."""
    for digits in (10, 9, 8, 7):
        s = f"{float(x):.{digits}g}"
        if len(s) <= 16:
            return s
    raise ValueError(f"cannot format {x!r} as DS")


def _da(t: datetime) -> str:
    return t.strftime("%Y%m%d")


def _tm(t: datetime) -> str:
    return t.strftime("%H%M%S.%f")


def _dt(t: datetime) -> str:
    return t.strftime("%Y%m%d%H%M%S.%f")


def _frame_reference_ms(duration_s: float, half_life_s: float) -> float:
    """Time from frame start to the decay-weighted mean time of the frame, in ms (DICOM FrameReferenceTime)."""
    lam = math.log(2.0) / half_life_s
    t_ave = math.log(lam * duration_s / (1.0 - math.exp(-lam * duration_s))) / lam
    return t_ave * 1000.0


def _code_item(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _template(
    grid: VoxelGrid, nuc: RadionuclideInfo, patient: PatientInfo, scan: ScanInfo, variant: str,
    series_description: str, series_number: int,
) -> Dataset:
    """One dataset with every attribute common to the slices; per-slice values are filled in later."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = PET_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    if not _PYDICOM_3:  # pydicom 2.x takes the encoding from the dataset
        ds.is_little_endian = True
        ds.is_implicit_VR = False

    injection, series = scan.injection, scan.series
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID = PET_IMAGE_STORAGE
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = _da(series)
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = _tm(series)
    ds.AccessionNumber = ""
    ds.Modality = "PT"
    ds.Manufacturer = "Philips Medical Systems" if variant == "philips-cnts" else "PentixaforQuant"
    ds.ManufacturerModelName = "Synthetic Pentixafor reference phantom"
    ds.SoftwareVersions = f"PentixaforQuant {__version__}"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "CXCR4 PET synthetic reference"
    ds.SeriesDescription = series_description
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.PatientSize = _ds(patient.height_m)
    ds.PatientWeight = _ds(patient.weight_kg)
    ds.BodyPartExamined = "WHOLEBODY"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyID = "1"
    ds.SeriesNumber = int(series_number)
    ds.AcquisitionNumber = 1
    ds.FrameOfReferenceUID = generate_uid()
    ds.PositionReferenceIndicator = ""

    # Geometry common to all slices (RAS -> LPS).
    spacing = grid.spacing_mm
    dirs_lps = (LPS_TO_RAS[:3, :3] @ grid.directions).T  # rows: i, j, k unit axes in LPS
    ds.ImageOrientationPatient = [_ds(v) for v in (*dirs_lps[0], *dirs_lps[1])]
    ds.PixelSpacing = [_ds(spacing[1]), _ds(spacing[0])]  # (row spacing = j, column spacing = i)
    ds.SliceThickness = _ds(spacing[2])
    ds.SpacingBetweenSlices = _ds(spacing[2])
    ds.Rows, ds.Columns = int(grid.shape_kji[1]), int(grid.shape_kji[2])
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = "0"
    ds.LossyImageCompression = "00"

    # PET series, isotope and image modules.
    ds.SeriesType = ["STATIC", "IMAGE"]
    ds.Units = "CNTS" if variant == "philips-cnts" else "BQML"
    ds.CountsSource = "EMISSION"
    ds.NumberOfSlices = int(grid.shape_kji[0])
    ds.DecayCorrection = "START"
    ds.CorrectedImage = ["ATTN", "DECY", "SCAT", "DTIM", "RAN", "NORM"]
    ds.RandomsCorrectionMethod = "DLYD"
    ds.AttenuationCorrectionMethod = "CT-based"
    ds.ScatterCorrectionMethod = "model-based"
    ds.ReconstructionMethod = "synthetic (analytic design, point-sampled)"
    ds.CollimatorType = "NONE"
    frame_ref_ms = _frame_reference_ms(scan.frame_duration_s, scan.half_life_s)
    ds.FrameReferenceTime = _ds(frame_ref_ms)
    ds.ActualFrameDuration = int(round(scan.frame_duration_s * 1000.0))
    ds.DecayFactor = _ds(2.0 ** (frame_ref_ms / 1000.0 / scan.half_life_s))

    rp = Dataset()
    rp.Radiopharmaceutical = nuc.radiopharmaceutical
    rp.RadiopharmaceuticalRoute = "Intravenous"
    rp.RadiopharmaceuticalStartTime = _tm(injection)
    if variant != "midnight":
        rp.RadiopharmaceuticalStartDateTime = _dt(injection)
    dose = scan.injected_dose_bq / 1e6 if variant == "dose-mbq" else scan.injected_dose_bq
    rp.RadionuclideTotalDose = _ds(dose)
    rp.RadionuclideHalfLife = _ds(scan.half_life_s)
    rp.RadionuclidePositronFraction = _ds(_POSITRON_FRACTION[nuc.name])
    rp.RadionuclideCodeSequence = DicomSequence([_code_item(nuc.code_value, "SRT", nuc.code_meaning)])
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([rp])

    if variant == "philips-cnts":
        block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
        block.add_new(0x00, "DS", _ds(suv_scale_factor(nuc.name, patient, scan)))  # SUV scale factor
        block.add_new(0x09, "DS", "1")  # activity concentration scale factor (Bq/mL per count)
    return ds


def write_pet_series(
    suv: np.ndarray,
    grid: VoxelGrid,
    out_dir,
    *,
    radionuclide: str = "Ga-68",
    patient: PatientInfo | None = None,
    scan: ScanInfo | None = None,
    variant: str = "standard",
    series_description: str = "Pentixafor reference phantom [SUVbw design]",
    series_number: int = 1,
    file_order_seed: int = 0,
) -> list[SliceScaling]:
    """Write an SUV map as a PET DICOM series, one file per k slice.

    Parameters
    ----------
    suv : ndarray, shape (k, j, i)
        SUVbw map (g/mL).
    grid : VoxelGrid
        Geometry of ``suv`` (RAS).
    out_dir : path-like
        Folder to write into (created if missing).
    radionuclide : {"Ga-68", "F-18"}
        Half-life, radionuclide code, radiopharmaceutical and default dose.
    patient : PatientInfo or None
        Patient values (default 70 kg, 1.75 m, M).
    scan : ScanInfo or None
        Injection/series times, dose, half-life, frame duration (default 10:00 / 11:00).
    variant : str
        One of :data:`VARIANTS` (see the module docstring).
    series_description : str
        SeriesDescription.
    series_number : int
        SeriesNumber.
    file_order_seed : int
        Seed of the shuffled file numbering.

    Returns
    -------
    list of SliceScaling
        One record per slice, ordered by slice index k (the file names are not): the path and the
        RescaleSlope (Bq/mL per stored unit).
    """
    suv = np.asarray(suv)
    if suv.ndim != 3 or tuple(suv.shape) != tuple(grid.shape_kji):
        raise ValueError(f"suv shape {suv.shape} does not match the grid shape {grid.shape_kji}")
    if not np.all(np.isfinite(suv)):
        raise ValueError("suv contains non-finite values")
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r} is not one of {', '.join(VARIANTS)}")
    patient = patient or PatientInfo()
    nuc, scan = _resolve(radionuclide, _variant_scan(variant, scan))
    if scan.series <= scan.injection:
        raise ValueError("the series time must be after the injection")
    bqml_per_suv = 1.0 / suv_scale_factor(radionuclide, patient, scan)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ds = _template(grid, nuc, patient, scan, variant, series_description, series_number)
    nk = grid.shape_kji[0]
    numbers = list(range(1, nk + 1))
    random.Random(file_order_seed).shuffle(numbers)
    m = grid.ijk_to_ras
    k_axis_lps = LPS_TO_RAS[:3, :3] @ m[:3, 2]
    written: list[SliceScaling] = []
    for k in range(nk):
        activity = suv[k].astype(np.float64) * bqml_per_suv
        peak = float(np.max(np.abs(activity)))
        slope_text = _ds(peak / _INT16_MAX) if peak > 0 else "1"
        slope = float(slope_text)  # quantise with the slope exactly as written
        stored = np.clip(np.rint(activity / slope), -_INT16_MAX - 1, _INT16_MAX).astype("<i2")
        position_lps = LPS_TO_RAS[:3, :3] @ (m[:3, 3] + k * m[:3, 2])
        uid = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.SOPInstanceUID = uid
        ds.InstanceNumber = nk - k
        ds.ImageIndex = k + 1
        ds.ImagePositionPatient = [_ds(v) for v in position_lps]
        ds.SliceLocation = _ds(float(position_lps @ k_axis_lps) / float(np.linalg.norm(k_axis_lps)))
        ds.RescaleSlope = slope_text
        ds.LargestImagePixelValue = int(stored.max())  # VR US/SS: pydicom picks SS from PixelRepresentation
        ds.SmallestImagePixelValue = int(stored.min())
        ds.PixelData = stored.tobytes()
        path = out / f"PT{numbers[k]:05d}.dcm"
        if _PYDICOM_3:
            pydicom.dcmwrite(path, ds, enforce_file_format=True)
        else:  # pragma: no cover - pydicom 2.4
            pydicom.dcmwrite(path, ds, write_like_original=False)
        written.append(SliceScaling(k, path, slope))
    return written


def _scan_record(radionuclide: str, patient: PatientInfo, scan: ScanInfo | None, variant: str) -> dict:
    nuc, scan = _resolve(radionuclide, _variant_scan(variant, scan))
    return {
        "variant": variant,
        "radionuclide": nuc.name,
        "radiopharmaceutical": nuc.radiopharmaceutical,
        "half_life_s": scan.half_life_s,
        "injected_dose_bq": scan.injected_dose_bq,
        "injection_datetime": scan.injection.isoformat(),
        "series_datetime": scan.series.isoformat(),
        "uptake_s": (scan.series - scan.injection).total_seconds(),
        "decayed_dose_bq": decayed_dose_bq(nuc.name, scan),
        "patient_weight_kg": patient.weight_kg,
        "patient_height_m": patient.height_m,
        "patient_sex": patient.sex,
        "suvbw_per_bqml": suv_scale_factor(nuc.name, patient, scan),
    }


def write_truth_json(truth: PhantomTruth, path, extra: dict | None = None) -> Path:
    """Write the phantom truth (plus optional ``extra`` top-level entries) as indented JSON; returns the path."""
    data = truth.to_dict()
    if extra:
        data.update(extra)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def write_phantom(
    phantom: Phantom,
    out_dir,
    *,
    variant: str = "standard",
    patient: PatientInfo | None = None,
    scan: ScanInfo | None = None,
) -> Path:
    """Write ``out_dir/dicom/*.dcm`` (the phantom's SUV map as PET) and ``out_dir/truth.json``.

    The truth file carries the phantom truth, the phantom options and a ``dicom`` record (variant, dose, times,
    half-life, weight and the SUVbw factor). Returns ``out_dir``.
    """
    out = Path(out_dir)
    opt = phantom.options
    desc = f"Pentixafor DRO {opt.radionuclide} FWHM {opt.fwhm_mm:g} mm noise {opt.noise:g}"
    patient = patient or PatientInfo()
    write_pet_series(
        phantom.suv, phantom.grid, out / "dicom", radionuclide=phantom.truth.radionuclide, patient=patient,
        scan=scan, variant=variant, series_description=desc[:64],
    )
    write_truth_json(
        phantom.truth, out / "truth.json",
        extra={"options": opt.to_dict(), "dicom": _scan_record(phantom.truth.radionuclide, patient, scan, variant)},
    )
    return out
