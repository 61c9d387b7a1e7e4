"""DICOM Real World Value Mapping (RWVM) of the SUV conversion: how the PET's activity values become SUV.

One RWVM instance (SOP Class 1.2.840.10008.5.1.4.1.1.67, PS3.3 A.46) in the PET's study, referencing every PET
instance. Its mapping is linear: intercept 0, slope = the SUV factor of the instances (one mapping item per
distinct factor, each listing its instances), with the SUV quantity (DCM 126400, calculation method DCM
126410-126413) and the CID 85 UCUM units (``g/ml{SUVbw}`` ...). The SR's measurement groups reference it ("Real
World Value Map used for measurement", DCM 126100), so QuantitativeReporting loads the PET as SUV, the same
numbers as the report.

Convention: as Slicer's PET DICOM extension (SUVFactorCalculator, DICOMRWVMPlugin) and QuantitativeReporting apply
it, the slope multiplies the PET's modality values (stored value x Rescale Slope + Rescale Intercept, in Bq/ml),
not the raw stored values; the LUT Explanation says so. The value range mapped is the whole range of the stored
pixel values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from .. import __version__
from ..suv.codes import SUV_QUANTITY, project_suv_units, standard_suv_units_code
from .dicom_codes import MEASUREMENT_METHOD, RWVM_METHODS, RWVM_QUANTITY

__all__ = ["RWVM_STORAGE", "suv_factors_by_instance", "suv_value_map"]

RWVM_STORAGE = "1.2.840.10008.5.1.4.1.1.67"

#: Patient and study attributes the RWVM copies from the PET (Patient and General Study modules; type 2 ones are
#: written empty when the PET lacks them).
_PATIENT_STUDY_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
                        "ReferringPhysicianName", "StudyID", "AccessionNumber")
_PATIENT_STUDY_OPTIONAL = ("IssuerOfPatientID", "OtherPatientIDs", "PatientAge", "PatientSize", "PatientWeight",
                           "StudyDescription")


def _code_item(code) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code
    return item


def _instance_reference(pet) -> Dataset:
    """A reference to one PET instance (its SOP class and instance UIDs)."""
    ref = Dataset()
    ref.ReferencedSOPClassUID = pet.SOPClassUID
    ref.ReferencedSOPInstanceUID = pet.SOPInstanceUID
    return ref


def suv_factors_by_instance(pet_datasets, suv_audit: Mapping | None) -> dict[str, float] | None:
    """SOPInstanceUID -> SUV factor of each PET instance, from the SUV audit (``factor`` or ``factors``); None when
    the audit has no factor for every instance, or when its factor does not apply to the PET files: a volume that
    was already SUV (Slicer's PET plugin) has the audit factor 1 of its own values, not of the files' Bq/ml. Then
    no RWVM is written."""
    if not suv_audit or project_suv_units(suv_audit.get("source_units")) is not None:
        return None
    uids = [str(ds.SOPInstanceUID) for ds in pet_datasets]
    factor = suv_audit.get("factor")
    if isinstance(factor, (int, float)) and np.isfinite(factor) and factor > 0:
        return dict.fromkeys(uids, float(factor))
    factors = suv_audit.get("factors")
    if isinstance(factors, Mapping) and all(isinstance(factors.get(uid), (int, float)) for uid in uids):
        out = {uid: float(factors[uid]) for uid in uids}
        return out if all(np.isfinite(f) and f > 0 for f in out.values()) else None
    return None


def _mapping_item(factor: float, units: str, normalization: str | None, pixel_representation: int) -> Dataset:
    suv_units = standard_suv_units_code(units)
    item = Dataset()
    signed = pixel_representation == 1
    vr = "SS" if signed else "US"
    item.add_new(0x00409216, vr, -32768 if signed else 0)  # Real World Value First Value Mapped
    item.add_new(0x00409211, vr, 32767 if signed else 65535)  # Real World Value Last Value Mapped
    item.RealWorldValueIntercept = 0.0
    item.RealWorldValueSlope = float(factor)
    label = suv_units.value.split("{")[-1].rstrip("}")  # SUVbw, SUVlbm(Janma), ...
    item.LUTExplanation = f"{label} = Bq/ml (rescaled values) x {factor:.6g}"[:64]
    item.LUTLabel = label[:16]
    item.MeasurementUnitsCodeSequence = Sequence([_code_item(suv_units)])
    quantity = Dataset()
    quantity.ValueType = "CODE"
    quantity.ConceptNameCodeSequence = Sequence([_code_item(RWVM_QUANTITY)])
    quantity.ConceptCodeSequence = Sequence([_code_item(SUV_QUANTITY)])
    definitions = [quantity]
    method = RWVM_METHODS.get(normalization or "")
    if method is not None:
        m = Dataset()
        m.ValueType = "CODE"
        m.ConceptNameCodeSequence = Sequence([_code_item(MEASUREMENT_METHOD)])
        m.ConceptCodeSequence = Sequence([_code_item(method)])
        definitions.append(m)
    item.QuantityDefinitionSequence = Sequence(definitions)
    return item


def suv_value_map(pet_datasets, factors: Mapping[str, float], *, units: str, normalization: str | None,
                  series_instance_uid: str, sop_instance_uid: str, series_datetime, manufacturer: str,
                  character_set: str, content_creator_name: str | None = None, series_number: int = 9003
                  ) -> Dataset:
    """The RWVM instance of the SUV conversion (a pydicom Dataset with its file meta information).

    Parameters
    ----------
    pet_datasets : list of pydicom.Dataset
        The PET instances (with every type 2 patient/study attribute present, possibly empty).
    factors : mapping
        SOPInstanceUID -> SUV factor (:func:`suv_factors_by_instance`).
    units : str
        SUV units (either spelling); written as the CID 85 code.
    normalization : str, optional
        The SUV normalisation (``bw``, ``lbm``, ...), for the calculation method code.
    """
    first = pet_datasets[0]
    ds = Dataset()
    ds.SpecificCharacterSet = character_set
    ds.SOPClassUID = RWVM_STORAGE
    ds.SOPInstanceUID = sop_instance_uid
    day, time = series_datetime.strftime("%Y%m%d"), series_datetime.strftime("%H%M%S.%f")
    ds.InstanceCreationDate, ds.InstanceCreationTime = day, time
    for keyword in _PATIENT_STUDY_TYPE2:
        setattr(ds, keyword, first.get(keyword) or "")
    for keyword in _PATIENT_STUDY_OPTIONAL:
        if first.get(keyword) not in (None, ""):
            setattr(ds, keyword, first.get(keyword))
    ds.StudyInstanceUID = first.StudyInstanceUID
    ds.Modality = "RWV"
    ds.SeriesInstanceUID = series_instance_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = f"{manufacturer} SUV mapping"
    ds.SeriesDate, ds.SeriesTime = day, time
    ds.Laterality = first.get("Laterality") or ""  # General Series, type 2C: the PET's, else empty
    ds.Manufacturer = manufacturer
    ds.ManufacturerModelName = manufacturer
    ds.SoftwareVersions = __version__
    ds.InstanceNumber = 1
    ds.ContentDate, ds.ContentTime = day, time
    ds.ContentLabel = "SUV"
    ds.ContentDescription = f"SUV from the PET's Bq/ml ({standard_suv_units_code(units).meaning})"
    ds.ContentCreatorName = content_creator_name or ""
    # One mapping item per distinct factor, listing the instances it applies to.
    by_factor: dict[float, list[Dataset]] = {}
    for pet in pet_datasets:
        by_factor.setdefault(factors[str(pet.SOPInstanceUID)], []).append(pet)
    items = []
    for factor, instances in by_factor.items():
        item = Dataset()
        item.RealWorldValueMappingSequence = Sequence([_mapping_item(
            factor, units, normalization, int(instances[0].get("PixelRepresentation", 0) or 0))])
        item.ReferencedImageSequence = Sequence([_instance_reference(pet) for pet in instances])
        items.append(item)
    ds.ReferencedImageRealWorldValueMappingSequence = Sequence(items)
    # Common Instance Reference module: the PET series, in this study.
    series = Dataset()
    series.SeriesInstanceUID = first.SeriesInstanceUID
    series.ReferencedInstanceSequence = Sequence([_instance_reference(pet) for pet in pet_datasets])
    ds.ReferencedSeriesSequence = Sequence([series])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RWVM_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds
