"""A study as DICOM: the SEG of its VOIs, the TID 1500 SR of its numbers and the RWVM of its SUV, written together.

The objects are new instances (new Series and SOP Instance UIDs) in the PET's study: patient and study
identifiers are copied from the PET series, whose instances are the evidence. Type 2 patient and study attributes
the PET lacks (anonymised data often have no Accession Number, birth date, Study ID or referring physician) are
written empty, as the standard allows. Whether a PET series can be exported at all is known from its headers alone
(:func:`check_dicom_export`, run before anything is measured); the result is either valid objects or one clear
refusal:

- the PET series must carry a Study Instance UID (0020,000D): the new objects belong to the PET's study;
- the PET series must carry a Frame of Reference UID (0020,0052), mandatory in PET images: without it a SEG
  cannot be tied to the PET's patient coordinates;
- every text value of the new objects (including what they copy from the PET: patient name and ID, study ID,
  accession number, descriptions) must fit its DICOM value representation. A PET identifier that is only longer
  than its VR allows is copied unchanged, never truncated (a shortened PatientID would name another patient), and
  said in :attr:`DicomOutputs.warnings`; any other unfit value (a control character in a name) is refused with its
  attribute and file.

Text is written in UTF-8 (Specific Character Set ISO_IR 192), so non-ASCII names survive whatever character set
the PET used.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import generate_uid

from ..errors import DicomExportError
from ..geometry import VoxelGrid
from ..measure.protocol import StudyResult
from .atomic import atomic_output_folder
from .dicom_rwvm import suv_factors_by_instance, suv_value_map
from .dicom_seg import MANUFACTURER, UTF8, require_highdicom, study_segmentation
from .dicom_sr import study_measurement_report, voi_method_texts

__all__ = ["DicomOutputs", "SEG_FILE", "SR_FILE", "RWVM_FILE", "build_dicom_outputs", "check_dicom_export",
           "previous_report", "write_dicom_files", "write_dicom_outputs"]

SEG_FILE = "seg.dcm"
SR_FILE = "sr.dcm"
RWVM_FILE = "rwvm.dcm"

_TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
#: Texts that may hold line breaks (PS3.5 6.1.3: CR, LF, FF and TAB in LT, ST, UT); no other VR takes control
#: characters (the objects are UTF-8, so no ISO 2022 escape is needed either).
_MULTILINE_VRS = {"LT", "ST", "UT"}
_LINE_CONTROLS = {"\r", "\n", "\f", "\t"}


def _control_character(vr: str, value: str) -> str | None:
    """The first control character a value of this VR may not hold, as ``0x07``; None when there is none."""
    for ch in value:
        if (ord(ch) < 0x20 or ord(ch) == 0x7F) and not (vr in _MULTILINE_VRS and ch in _LINE_CONTROLS):
            return f"0x{ord(ch):02X}"
    return None


@dataclass
class DicomOutputs:
    """The two new DICOM objects of a study.

    Attributes
    ----------
    segmentation, report : pydicom.Dataset
        The SEG and the SR (highdicom objects, which are pydicom datasets).
    segment_numbers : dict
        Site -> segment number in the SEG (and the SR group that references it).
    value_map : pydicom.Dataset or None
        The RWVM of the SUV conversion; None when the SUV factor of the PET instances is not known.
    warnings : list of str
        What the objects carry unchanged from the PET although it does not fit DICOM (an over-long Study ID ...).
    """

    segmentation: Dataset
    report: Dataset
    segment_numbers: dict[str, int]
    value_map: Dataset | None = None
    warnings: list[str] = field(default_factory=list)


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


def _check_study(pet_datasets, files) -> None:
    uids = {str(ds.get("StudyInstanceUID", "") or "").strip() for ds in pet_datasets}
    if "" in uids:
        n = next(n for n, ds in enumerate(pet_datasets) if not str(ds.get("StudyInstanceUID", "") or "").strip())
        where = Path(files[n]).name if files else f"instance {n + 1}"
        raise DicomExportError(
            f"the PET series has no Study Instance UID (0020,000D) ({where}); the DICOM SEG and SR belong to the "
            "PET's study and cannot be made without it: no DICOM SEG/SR written")
    if len(uids) > 1:
        raise DicomExportError(f"the PET instances name {len(uids)} different Study Instance UIDs (0020,000D): "
                               "no DICOM SEG/SR written")


#: Type 2 attributes of the Patient and General Study modules the new objects copy: written empty when the PET
#: lacks them (PS3.5 7.4: a type 2 attribute is present, its value may be empty).
_TYPE2_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                 "ReferringPhysicianName", "StudyID", "AccessionNumber")


def _complete_headers(pet_datasets) -> list[Dataset]:
    """Copies of the PET headers in which every copied type 2 attribute is present (empty when the PET lacks it),
    so the new objects can be made from any PET the reader accepts; the PET datasets themselves are not changed."""
    out = []
    for ds in pet_datasets:
        copy = Dataset()  # its own element dict (Dataset(ds) and copy.copy(ds) would share the PET's)
        for elem in ds:
            copy.add(elem)
        copy.file_meta = getattr(ds, "file_meta", None) or Dataset()
        for keyword in _TYPE2_COPIED:
            if copy.get(keyword) is None:
                _set_fresh(copy, keyword, "")
        out.append(copy)
    return out


def _set_fresh(ds: Dataset, keyword: str, value) -> None:
    """Set an attribute as a new element, so a dataset from :func:`_complete_headers` never changes the element it
    shares with the PET's."""
    if keyword in ds:
        del ds[keyword]
    setattr(ds, keyword, value)


#: What the SEG and the SR copy from the PET (Patient, General Study and Patient Study modules).
_COPIED = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex", "OtherPatientIDs",
           "PatientAge", "PatientSize", "PatientWeight", "StudyInstanceUID", "StudyDate", "StudyTime",
           "ReferringPhysicianName", "StudyID", "AccessionNumber", "StudyDescription")


def _check_values(ds: Dataset, what: str, pet: Dataset, pet_file: str, keywords=None, notes=None) -> None:
    """Refuse a text value that does not fit its VR, naming the attribute and, if copied, the PET file.

    A value copied from the PET that is only longer than its VR allows (real series have 18-character Study IDs) is
    copied unchanged, never shortened (a shortened PatientID could name another patient): ``notes`` receives one
    line saying so, and the objects then carry the PET's own deviation. Any other unfit value is refused."""
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
                bad = _control_character(elem.VR, value)
                if bad is not None:
                    raise ValueError(f"it holds the control character {bad}")
                validate_value(elem.VR, value, config.RAISE)
            except ValueError as exc:
                name = elem.keyword or str(elem.tag)
                copied = bool(elem.keyword) and elem.keyword in pet and str(pet.get(elem.keyword)) == str(value)
                reason = str(exc).rstrip(".")
                if copied and notes is not None and "exceeds the maximum" in reason:
                    note = (f"{name} {elem.tag} of the PET series ({pet_file}) is longer than DICOM {elem.VR} allows "
                            f"({reason.split('(')[1].split(')')[0]} characters): copied unchanged into the DICOM "
                            "objects, as the PET has it (it identifies the patient or study and is never shortened)")
                    if note not in notes:
                        notes.append(note)
                    continue
                source = f" of the PET series ({pet_file})" if copied else ""
                advice = ("; it is not shortened or altered (it identifies the patient or study): correct it in the "
                          "PET series") if copied else ""
                raise DicomExportError(f"{name} {elem.tag}{source} is not valid DICOM {elem.VR} for the {what}: "
                                       f"{reason}{advice}") from None


def check_dicom_export(pet_datasets, pet_files=None, *, observer_name: str | None = None,
                       notes: list | None = None) -> list[Dataset]:
    """Whether DICOM SEG/SR can be made from this PET series, from its headers alone (run before measuring).

    Returns the PET headers completed with the empty type 2 attributes the new objects copy. ``notes`` receives a
    line for each PET identifier copied although longer than its VR allows (see :func:`_check_values`).

    Raises
    ------
    DicomExportError
        highdicom missing; no PET instances; PET without Study Instance UID or Frame of Reference UID; a PET
        identifier (or the reader's name) that does not fit its DICOM value representation.
    """
    require_highdicom()
    if not pet_datasets:
        raise DicomExportError("no PET instances given")
    _check_study(pet_datasets, pet_files)
    _check_frame_of_reference(pet_datasets, pet_files)
    first_file = Path(pet_files[0]).name if pet_files else "first instance"
    completed = _complete_headers(pet_datasets)
    # The identifiers the new objects copy, checked before they are copied (and everything again afterwards).
    _check_values(completed[0], "DICOM SEG and SR", pet_datasets[0], first_file, keywords=_COPIED,
                  notes=notes if notes is not None else [])
    if observer_name is not None:
        _check_reader_name(observer_name)
    return completed


def _check_reader_name(name: str) -> None:
    """Refuse a reader's name that is not a valid DICOM person name (it becomes the SR's person observer)."""
    from pydicom import config
    from pydicom.valuerep import validate_value

    bad = _control_character("PN", str(name))
    try:
        if bad is not None:
            raise ValueError(f"it holds the control character {bad}")
        if not str(name).strip():
            raise ValueError("it is empty")
        validate_value("PN", str(name), config.RAISE)
    except ValueError as exc:
        raise DicomExportError(f"the reader's name {str(name)!r} is not a valid DICOM person name (Family^Given): "
                               f"{str(exc).rstrip('.')}") from None


def previous_report(folder) -> Dataset | None:
    """The SR this tool wrote earlier into ``folder`` (``sr.dcm``), which a new export replaces; None if there is
    none or it is not a readable report of this tool."""
    import pydicom

    path = Path(folder) / SR_FILE
    if not path.is_file():
        return None
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - an unreadable old file is simply not a predecessor
        return None
    needed = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
    if str(ds.get("Manufacturer", "")) != MANUFACTURER or not all(ds.get(k) for k in needed):
        return None
    return ds


def build_dicom_outputs(study: StudyResult, volume_grid: VoxelGrid, pet_datasets, series_grid: VoxelGrid,
                        pet_series_uid: str, *, units: str, suv_audit: dict | None = None,
                        pet_files=None, observer_name: str | None = None, replaces=None) -> DicomOutputs:
    """Build and check the SEG, the SR and the RWVM of a study (nothing is written).

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
        SUV units of the volume (``{SUVbw}g/ml`` ...).
    suv_audit : dict, optional
        The SUV audit, summarised in the SR's algorithm parameters; its factor(s) make the RWVM.
    pet_files : list of paths, optional
        The files of ``pet_datasets``, named in refusals.
    observer_name : str, optional
        The reader who placed the points: the SR's person observer and the SEG's Content Creator's Name.
    replaces : path, optional
        The DICOM folder this export replaces: a report written there earlier by this tool for the same study
        becomes the new report's predecessor.

    Raises
    ------
    DicomExportError
        As :func:`check_dicom_export`; no site measured; VOIs off the PET grid.
    """
    notes: list[str] = []
    completed = check_dicom_export(pet_datasets, pet_files, observer_name=observer_name, notes=notes)
    for ds in completed:
        if ds.get("SliceThickness") in (None, ""):
            # Type 2 in the PET; the SEG's Pixel Measures need a value: the series' slice spacing (contiguous slices).
            _set_fresh(ds, "SliceThickness", f"{float(series_grid.spacing_mm[2]):.10g}")
    first_file = Path(pet_files[0]).name if pet_files else "first instance"
    regions = study.regions
    if not regions:
        raise DicomExportError("no site was measured: there is no VOI to write as DICOM SEG")
    now = datetime.now()
    with warnings.catch_warnings():
        # highdicom doubts a one-component patient name ("STS_001"); it is the PET's and is copied as it is.
        warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person name",
                                category=UserWarning)
        return _build(study, volume_grid, completed, series_grid, pet_series_uid, units=units, suv_audit=suv_audit,
                      pet_datasets=pet_datasets, first_file=first_file, observer_name=observer_name,
                      replaces=replaces, notes=notes, now=now)


def _build(study, volume_grid, completed, series_grid, pet_series_uid, *, units, suv_audit, pet_datasets,
           first_file, observer_name, replaces, notes, now) -> DicomOutputs:
    """:func:`build_dicom_outputs` once the PET headers are checked and completed."""
    regions = study.regions
    tracking = {site: generate_uid() for site in regions}
    segment_numbers = {site: n for n, site in enumerate(regions, start=1)}
    seg = study_segmentation(regions, volume_grid, completed, series_grid, tracking_uids=tracking,
                             series_instance_uid=generate_uid(), sop_instance_uid=generate_uid(),
                             voi_methods=voi_method_texts(study), content_creator_name=observer_name,
                             series_datetime=now)
    factors = suv_factors_by_instance(completed, suv_audit)
    value_map = None
    if factors is not None:
        value_map = suv_value_map(completed, factors, units=units, normalization=(suv_audit or {}).get("normalization"),
                                  series_instance_uid=generate_uid(), sop_instance_uid=generate_uid(),
                                  series_datetime=now, manufacturer=MANUFACTURER, character_set=UTF8,
                                  content_creator_name=observer_name)
    previous = previous_report(replaces) if replaces is not None else None
    if previous is not None and str(previous.StudyInstanceUID) != str(completed[0].StudyInstanceUID):
        previous = None  # a report of another study is not this one's predecessor
    sr = study_measurement_report(study, seg, segment_numbers, completed, pet_series_uid, units=units,
                                  tracking_uids=tracking, series_instance_uid=generate_uid(),
                                  sop_instance_uid=generate_uid(), suv_audit=suv_audit, value_map=value_map,
                                  observer_name=observer_name, series_datetime=now,
                                  previous_versions=[previous] if previous is not None else ())
    _check_values(seg, "DICOM SEG", pet_datasets[0], first_file, notes=notes)
    _check_values(sr, "DICOM SR", pet_datasets[0], first_file, notes=notes)
    if value_map is not None:
        _check_values(value_map, "DICOM RWVM", pet_datasets[0], first_file, notes=notes)
    return DicomOutputs(seg, sr, segment_numbers, value_map, notes)


def _save(ds: Dataset, path: Path) -> None:
    import pydicom

    try:
        pydicom.dcmwrite(path, ds, enforce_file_format=True)  # pydicom >= 3
    except TypeError:
        pydicom.dcmwrite(path, ds, write_like_original=False)  # pydicom 2


def write_dicom_files(outputs: DicomOutputs, folder) -> dict[str, Path]:
    """Write ``seg.dcm``, ``sr.dcm`` and (when made) ``rwvm.dcm`` into an existing folder (e.g. the scratch folder
    of an atomic output)."""
    folder = Path(folder)
    _save(outputs.segmentation, folder / SEG_FILE)
    _save(outputs.report, folder / SR_FILE)
    paths = {"seg": folder / SEG_FILE, "sr": folder / SR_FILE}
    if outputs.value_map is not None:
        _save(outputs.value_map, folder / RWVM_FILE)
        paths["rwvm"] = folder / RWVM_FILE
    return paths


def write_dicom_outputs(outputs: DicomOutputs, out_dir) -> dict[str, Path]:
    """Write the DICOM objects into ``out_dir``, together or not at all (an atomic output folder)."""
    out = Path(out_dir)
    with atomic_output_folder(out) as scratch:
        names = {key: path.name for key, path in write_dicom_files(outputs, scratch).items()}
    return {key: out / name for key, name in names.items()}
