"""A study as DICOM: the SEG of its VOIs and the TID 1500 SR of its numbers, checked, then written together.

Both objects are new instances (new Series and SOP Instance UIDs) in the PET's study: patient and study
identifiers are copied from the PET series, whose instances are the evidence. Before anything is written the
inputs are checked, so the result is either two valid objects or one clear refusal:

- the PET series must carry a Frame of Reference UID (0020,0052), mandatory in PET images: without it a SEG
  cannot be tied to the PET's patient coordinates;
- every text value of the new objects (including what they copy from the PET: patient name and ID, study ID,
  accession number, descriptions) must fit its DICOM value representation; an over-long PET identifier is
  refused with its attribute and file, never truncated (a shortened PatientID would name another patient).

Text is written in UTF-8 (Specific Character Set ISO_IR 192), so non-ASCII names survive whatever character set
the PET used.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import generate_uid

from ..errors import DicomExportError
from ..geometry import VoxelGrid
from ..measure.protocol import StudyResult
from .atomic import atomic_output_folder
from .dicom_seg import require_highdicom, study_segmentation
from .dicom_sr import MEAN_SUV_MAX_LABEL, study_measurement_report

__all__ = ["DicomOutputs", "SEG_FILE", "SR_FILE", "build_dicom_outputs", "write_dicom_files",
           "write_dicom_outputs"]

SEG_FILE = "seg.dcm"
SR_FILE = "sr.dcm"

_TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}


@dataclass
class DicomOutputs:
    """The two new DICOM objects of a study.

    Attributes
    ----------
    segmentation, report : pydicom.Dataset
        The SEG and the SR (highdicom objects, which are pydicom datasets).
    segment_numbers : dict
        Site -> segment number in the SEG (and the SR group that references it).
    """

    segmentation: Dataset
    report: Dataset
    segment_numbers: dict[str, int]


def _check_frame_of_reference(pet_datasets, files) -> None:
    uids = set()
    for n, ds in enumerate(pet_datasets):
        uid = str(ds.get("FrameOfReferenceUID", "") or "").strip()
        if not uid:
            where = Path(files[n]).name if files else f"instance {n + 1}"
            raise DicomExportError(
                f"the PET series has no Frame of Reference UID (0020,0052) ({where}); it is mandatory in PET images "
                "and a DICOM SEG cannot be placed on the PET without it: no DICOM SEG/SR written")
        uids.add(uid)
    if len(uids) > 1:
        raise DicomExportError(f"the PET instances name {len(uids)} different Frame of Reference UIDs (0020,0052): "
                               "no DICOM SEG/SR written")


#: What the SEG and the SR copy from the PET (Patient, General Study and Patient Study modules).
_COPIED = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex", "OtherPatientIDs",
           "PatientAge", "PatientSize", "PatientWeight", "StudyInstanceUID", "StudyDate", "StudyTime",
           "ReferringPhysicianName", "StudyID", "AccessionNumber", "StudyDescription")


def _check_values(ds: Dataset, what: str, pet: Dataset, pet_file: str, keywords=None) -> None:
    """Refuse a text value that does not fit its VR, naming the attribute and, if copied, the PET file."""
    from pydicom import config
    from pydicom.valuerep import validate_value

    with warnings.catch_warnings():  # pydicom warns when it decodes a bad value; the refusal below says it all
        warnings.simplefilter("ignore", UserWarning)
        elements = list(ds.iterall()) if keywords is None else [ds[k] for k in keywords if k in ds]
    for elem in elements:
        if elem.VR not in _TEXT_VRS or elem.value is None:
            continue
        values = elem.value if isinstance(elem.value, (list, tuple, MultiValue)) else [elem.value]
        for value in values:
            if elem.VR == "PN":
                value = str(value)
            if not isinstance(value, str):  # numbers held as DSfloat/IS: already valid by construction
                continue
            try:
                validate_value(elem.VR, value, config.RAISE)
            except ValueError as exc:
                name = elem.keyword or str(elem.tag)
                copied = bool(elem.keyword) and elem.keyword in pet
                source = f" of the PET series ({pet_file})" if copied else ""
                advice = ("; it is not shortened or altered (it identifies the patient or study): correct it in the "
                          "PET series") if copied else ""
                raise DicomExportError(f"{name} {elem.tag}{source} is not valid DICOM {elem.VR} for the {what}: "
                                       f"{str(exc).rstrip('.')}{advice}") from None


def build_dicom_outputs(study: StudyResult, volume_grid: VoxelGrid, pet_datasets, series_grid: VoxelGrid,
                        pet_series_uid: str, *, units: str, suv_audit: dict | None = None,
                        pet_files=None) -> DicomOutputs:
    """Build and check the SEG and the SR of a study (nothing is written).

    Parameters
    ----------
    study : StudyResult
        The measurements; its VOIs are masks on ``volume_grid``.
    volume_grid : VoxelGrid
        Grid of the SUV volume the study was measured on.
    pet_datasets : list of pydicom.Dataset
        The PET instances in slice order, and ``series_grid`` their grid (``read_pet_headers`` gives both).
    pet_series_uid : str
        SeriesInstanceUID of the PET series.
    units : str
        UCUM SUV units of the volume (``{SUVbw}g/ml`` ...).
    suv_audit : dict, optional
        The SUV audit, summarised in the SR's algorithm parameters.
    pet_files : list of paths, optional
        The files of ``pet_datasets``, named in refusals.

    Raises
    ------
    DicomExportError
        highdicom missing, no site measured, PET without Frame of Reference, a PET identifier that does not fit its
        DICOM value representation, VOIs off the PET grid.
    """
    require_highdicom()
    if not pet_datasets:
        raise DicomExportError("no PET instances given")
    _check_frame_of_reference(pet_datasets, pet_files)
    first_file = Path(pet_files[0]).name if pet_files else "first instance"
    # The identifiers the new objects copy, checked before they are copied (and everything again afterwards).
    _check_values(pet_datasets[0], "DICOM SEG and SR", pet_datasets[0], first_file, keywords=_COPIED)
    regions = study.regions
    if not regions:
        raise DicomExportError("no site was measured: there is no VOI to write as DICOM SEG")
    tracking = {site: generate_uid() for site in (*regions, MEAN_SUV_MAX_LABEL)}
    segment_numbers = {site: n for n, site in enumerate(regions, start=1)}
    seg = study_segmentation(regions, volume_grid, pet_datasets, series_grid, tracking_uids=tracking,
                             series_instance_uid=generate_uid(), sop_instance_uid=generate_uid())
    sr = study_measurement_report(study, seg, segment_numbers, pet_datasets, pet_series_uid, units=units,
                                  tracking_uids=tracking, series_instance_uid=generate_uid(),
                                  sop_instance_uid=generate_uid(), suv_audit=suv_audit)
    _check_values(seg, "DICOM SEG", pet_datasets[0], first_file)
    _check_values(sr, "DICOM SR", pet_datasets[0], first_file)
    return DicomOutputs(seg, sr, segment_numbers)


def _save(ds: Dataset, path: Path) -> None:
    import pydicom

    try:
        pydicom.dcmwrite(path, ds, enforce_file_format=True)  # pydicom >= 3
    except TypeError:
        pydicom.dcmwrite(path, ds, write_like_original=False)  # pydicom 2


def write_dicom_files(outputs: DicomOutputs, folder) -> dict[str, Path]:
    """Write ``seg.dcm`` and ``sr.dcm`` into an existing folder (e.g. the scratch folder of an atomic output)."""
    folder = Path(folder)
    _save(outputs.segmentation, folder / SEG_FILE)
    _save(outputs.report, folder / SR_FILE)
    return {"seg": folder / SEG_FILE, "sr": folder / SR_FILE}


def write_dicom_outputs(outputs: DicomOutputs, out_dir) -> dict[str, Path]:
    """Write ``seg.dcm`` and ``sr.dcm`` into ``out_dir``, together or not at all (an atomic output folder)."""
    out = Path(out_dir)
    with atomic_output_folder(out) as scratch:
        names = {key: path.name for key, path in write_dicom_files(outputs, scratch).items()}
    return {key: out / name for key, name in names.items()}
