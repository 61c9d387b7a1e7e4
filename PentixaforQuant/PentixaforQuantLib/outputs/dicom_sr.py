"""DICOM SR TID 1500 Measurement Report of a study, referencing the PET series, the SEG of its VOIs and the RWVM.

One volumetric measurement group (TID 1411) per measured site: tracking identifier and UID (the same as the SEG
segment's), the referenced segment with the PET series as its source, the finding type and category, the finding
site (with laterality for the ilia), the Real World Value Map that gave the SUV (DCM 126100), and the algorithm with
its parameters (TID 4019, text; the VOI method first, since dcmqi keeps only the first one). Measurements (TID 300),
in one order in every group (:data:`~.dicom_codes.MEASUREMENT_ORDER`): SUVmax, SUVmean, SD, volume, then for the
lesion SUVpeak (DCM 126031 "Peak Value Within ROI"), TLA (IBSI "Integrated Intensity"), the blood-pool SUVmean as
the TBR background (DCM 126040) and the TBR (DCM 126039, ``{ratio}``). SUV values are named by the SUV quantity
(DCM 126400) with their derivation and the CID 85 UCUM units (``g/ml{SUVbw}`` ...).
meanSUVmax is a measurement derived from several ROI measurements (TID 1420, SCT 373098007 "Mean Value of
population") under "Derived Imaging Measurements" (DCM 126011): it has no segment of its own.

Needs the optional package highdicom.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

from pydicom.dataset import Dataset

from .. import __version__
from ..measure.protocol import StudyResult
from ..measure.sites import AORTA, LESION_KIND, SITES
from ..suv.codes import SUV_QUANTITY, standard_suv_units_code
from .dicom_codes import (
    DERIVATIONS,
    DERIVED_MEASUREMENTS,
    INTEGRATED_INTENSITY,
    LOCAL_SCHEME,
    LOCAL_SCHEME_NAME,
    MEAN_OF_POPULATION,
    MEASUREMENT_ORDER,
    PEAK_METHODS,
    PROCEDURE_PET,
    RWVM_USED,
    SITE_CODES,
    TBR,
    TBR_BACKGROUND,
    UNITS_ML,
    UNITS_RATIO,
    suv_ml_units,
    VOLUME,
    VOLUME_METHOD,
)
from .dicom_seg import MANUFACTURER, UTF8, coded, require_highdicom
from .results import describe_methods, site_method

__all__ = ["DEVICE_OBSERVER_UID", "study_measurement_report", "voi_method_texts"]

#: A fixed UID for this software as the device observer: the UUID-derived form of PS3.5 B.2 ("2.25." + the integer
#: of a name-based UUID), the same in every report.
DEVICE_OBSERVER_UID = f"2.25.{uuid.uuid5(uuid.NAMESPACE_DNS, 'device-observer.pentixaforquant').int}"


def _finding_sites(hd, sites):
    out = []
    for site in sites:
        c = SITE_CODES[site]
        if c.anatomic_region is not None:
            out.append(hd.sr.FindingSite(anatomic_location=coded(c.anatomic_region),
                                         laterality=coded(c.laterality) if c.laterality is not None else None))
    return out


#: Code meanings as PS3.16 gives them where highdicom writes another capitalisation (the template validators
#: compare meanings).
_STANDARD_MEANINGS = {("121232", "DCM"): "Source series for segmentation"}


def _standard_meanings(ds) -> None:
    """Set the standard code meaning of every concept name in :data:`_STANDARD_MEANINGS`, throughout the tree."""
    for item in ds.get("ContentSequence", []):
        for name in item.get("ConceptNameCodeSequence", []):
            meaning = _STANDARD_MEANINGS.get((str(name.CodeValue), str(name.CodingSchemeDesignator)))
            if meaning is not None:
                name.CodeMeaning = meaning
        _standard_meanings(item)


def voi_method_texts(study: StudyResult) -> dict[str, str]:
    """Site -> the text of its VOI method (the SEG's algorithm parameters, the SR's first algorithm parameter)."""
    methods = describe_methods(study)
    return {site: site_method(methods, site) for site in study.regions}


def _measurements(hd, study: StudyResult, site: str, suv_unit, units: str, methods) -> list:
    """The site's measurements in :data:`MEASUREMENT_ORDER` (the lesion-only ones only for the lesion)."""
    result = study.site_result(site)
    stats = result.stats
    quantity = coded(SUV_QUANTITY)
    out = []
    for key in MEASUREMENT_ORDER:
        if key in ("suv_max", "suv_mean", "suv_sd"):
            out.append(hd.sr.Measurement(name=quantity, value=getattr(stats, key), unit=suv_unit,
                                         derivation=coded(DERIVATIONS[key])))
        elif key == "volume_ml":
            out.append(hd.sr.Measurement(name=coded(VOLUME), value=stats.volume_ml, unit=coded(UNITS_ML),
                                         method=coded(VOLUME_METHOD)))
        elif SITES[site].kind != LESION_KIND:
            continue
        elif key == "suv_peak":
            peak = result.peak
            out.append(hd.sr.Measurement(
                name=quantity, value=peak.suv_peak, unit=suv_unit, derivation=coded(DERIVATIONS["suv_peak"]),
                method=coded(PEAK_METHODS[peak.variant]),
                algorithm_id=hd.sr.AlgorithmIdentification(
                    name=MANUFACTURER, version=__version__,
                    parameters=[f"SUVpeak {peak.variant}, sphere radius {peak.radius_mm:g} mm, voxel centres inside, "
                                f"image voxels (not restricted to the VOI), {peak.voxels_in_sphere} voxels averaged"]),
            ))
        elif key == "tla":
            out.append(hd.sr.Measurement(
                name=coded(INTEGRATED_INTENSITY), value=stats.tla, unit=coded(suv_ml_units(units)),
                algorithm_id=hd.sr.AlgorithmIdentification(
                    name=MANUFACTURER, version=__version__,
                    parameters=["TLA (total lesion activity) = SUVmean x volume of the VOI"])))
        elif key == "tbr_background" and study.tbr is not None:
            out.append(hd.sr.Measurement(
                # No derivation: the concept is the background; a second "Mean" would give QuantitativeReporting's
                # table two columns of that name.
                name=coded(TBR_BACKGROUND), value=study.blood_pool.stats.suv_mean, unit=suv_unit,
                algorithm_id=hd.sr.AlgorithmIdentification(
                    name=MANUFACTURER, version=__version__,
                    parameters=[f"SUVmean of the {SITE_CODES[AORTA].label} (reference region)"])))
        elif key == "tbr" and study.tbr is not None:
            out.append(hd.sr.Measurement(
                name=coded(TBR), value=study.tbr, unit=coded(UNITS_RATIO),
                algorithm_id=hd.sr.AlgorithmIdentification(name=MANUFACTURER, version=__version__,
                                                           parameters=[methods["TBR"]])))
    return out


def _derived_measurements(hd, study: StudyResult, suv_unit, methods):
    """The "Derived Imaging Measurements" container (TID 1500 row 10) holding meanSUVmax (TID 1420), or None."""
    if study.mean_suv_max is None:
        return None
    used = study.marrow_sites_used
    num = hd.sr.NumContentItem(name=coded(MEAN_OF_POPULATION), value=study.mean_suv_max, unit=suv_unit,
                               relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
    num.ContentSequence = hd.sr.AlgorithmIdentification(
        name=MANUFACTURER, version=__version__,
        parameters=[f"meanSUVmax: {methods['meanSUVmax']}: "
                    + ", ".join(SITE_CODES[s].label for s in used)])
    container = hd.sr.ContainerContentItem(name=coded(DERIVED_MEASUREMENTS),
                                           relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
    container.ContentSequence = hd.sr.ContentSequence([num])
    return container


def study_measurement_report(
    study: StudyResult,
    segmentation,
    segment_numbers: Mapping[str, int],
    pet_datasets,
    pet_series_uid: str,
    *,
    units: str,
    tracking_uids: Mapping[str, str],
    series_instance_uid: str,
    sop_instance_uid: str,
    suv_audit: dict | None = None,
    value_map: Dataset | None = None,
    observer_name: str | None = None,
    series_datetime=None,
    previous_versions=(),
    series_number: int = 9002,
):
    """The TID 1500 report (highdicom ``Comprehensive3DSR``).

    Parameters
    ----------
    study : StudyResult
    segmentation : highdicom Segmentation
        The SEG of the VOIs (:func:`.dicom_seg.study_segmentation`); referenced by every group.
    segment_numbers : mapping
        Site -> segment number in ``segmentation``.
    pet_datasets : list of pydicom.Dataset
        The PET instances (evidence; patient and study identifiers are taken from them).
    pet_series_uid : str
        SeriesInstanceUID of the PET series (the source series of the segments).
    units : str
        SUV units of the volume (``{SUVbw}g/ml`` ...), the unit of every SUV value (written as the CID 85 code).
    tracking_uids : mapping
        Site -> tracking UID.
    suv_audit : dict, optional
        The SUV conversion audit; its factor and path are recorded as algorithm parameters.
    value_map : pydicom.Dataset, optional
        The RWVM of the SUV conversion (:mod:`.dicom_rwvm`), referenced by every group and listed as evidence.
    observer_name : str, optional
        The reader who placed the points: a person observer besides the device.
    series_datetime : datetime, optional
        Series Date/Time of the report (also its content date/time).
    previous_versions : sequence of pydicom.Dataset
        Reports this one replaces (Predecessor Documents Sequence).
    """
    hd = require_highdicom()
    suv_unit = coded(standard_suv_units_code(units))
    methods = describe_methods(study)
    voi_methods = voi_method_texts(study)
    p = study.parameters
    common = [f"SUV units {units}", "parameters " + json.dumps(p.to_dict(), sort_keys=True)]
    if suv_audit:
        keys = ("normalization", "factor", "factors", "source_units", "decay_correction", "scan_datetime",
                "injection_datetime", "decisions")
        summary = {k: suv_audit[k] for k in keys if suv_audit.get(k) is not None}
        if summary:
            common.append("SUV conversion " + json.dumps(summary, sort_keys=True, default=str))
    ref = {"sop_class_uid": segmentation.SOPClassUID, "sop_instance_uid": segmentation.SOPInstanceUID}
    groups = []
    for site, number in segment_numbers.items():
        result = study.site_result(site)
        c = SITE_CODES[site]
        group = hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uids[site], identifier=c.label),
            referenced_segment=hd.sr.ReferencedSegment(
                segment_number=number, source_series=hd.sr.SourceSeriesForSegmentation(pet_series_uid), **ref),
            finding_type=coded(c.property_type),
            finding_category=coded(c.category),
            finding_sites=_finding_sites(hd, [site]) or None,
            algorithm_id=hd.sr.AlgorithmIdentification(
                name=MANUFACTURER, version=__version__,
                parameters=[voi_methods[site], *common, *(f"warning: {w}" for w in result.warnings)]),
            measurements=_measurements(hd, study, site, suv_unit, units, methods),
        )
        if value_map is not None:
            # TID 1411 row 14: the RWVM that turned the PET's values into the SUV measured here.
            group[0].ContentSequence.append(hd.sr.CompositeContentItem(
                name=coded(RWVM_USED), referenced_sop_class_uid=value_map.SOPClassUID,
                referenced_sop_instance_uid=value_map.SOPInstanceUID,
                relationship_type=hd.sr.RelationshipTypeValues.CONTAINS))
        groups.append(group)
    device = hd.sr.ObserverContext(
        observer_type=hd.sr.CodedConcept("121007", "DCM", "Device"),
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=DEVICE_OBSERVER_UID, name=MANUFACTURER, manufacturer_name=MANUFACTURER,
            model_name=f"{MANUFACTURER} {__version__}"),
    )
    person = None
    if observer_name:
        # The VOIs grow from a reader's clicks: a semi-automatic read names the person (QIICR convention).
        person = hd.sr.ObserverContext(
            observer_type=hd.sr.CodedConcept("121006", "DCM", "Person"),
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=observer_name))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=person,
                                                     observer_device_context=device),
        procedure_reported=coded(PROCEDURE_PET),
        imaging_measurements=groups,
    )
    derived = _derived_measurements(hd, study, suv_unit, methods)
    if derived is not None:
        report[0].ContentSequence.append(derived)  # after "Imaging Measurements", as TID 1500 orders them
    evidence = [*pet_datasets, segmentation] + ([value_map] if value_map is not None else [])
    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report,
        series_instance_uid=series_instance_uid,
        series_number=series_number,
        sop_instance_uid=sop_instance_uid,
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
        series_description="PentixaforQuant measurements",
        previous_versions=list(previous_versions) or None,
    )
    if series_datetime is not None:
        # Series Date/Time = content time: QuantitativeReporting sorts a study's reports by them.
        sr.SeriesDate = sr.ContentDate = series_datetime.strftime("%Y%m%d")
        sr.SeriesTime = sr.ContentTime = series_datetime.strftime("%H%M%S.%f")
    sr.SpecificCharacterSet = UTF8
    _standard_meanings(sr)
    # Declare the private coding scheme of the local codes (SOP Common, Coding Scheme Identification Sequence).
    scheme = Dataset()
    scheme.CodingSchemeDesignator = LOCAL_SCHEME
    scheme.CodingSchemeName = LOCAL_SCHEME_NAME
    scheme.CodingSchemeResponsibleOrganization = MANUFACTURER
    sr.CodingSchemeIdentificationSequence = [scheme]
    return sr
