"""DICOM SR TID 1500 Measurement Report of a study, referencing the PET series and the SEG of its VOIs.

One volumetric measurement group (TID 1411) per measured site: tracking identifier and UID (the same as the SEG
segment's), the referenced segment with the PET series as its source, the finding type and category, the finding
site (with laterality for the ilia), the VOI method (coded) and the algorithm with its parameters (TID 4019, text).
Measurements (TID 300): SUVmax, SUVmean, SD and, for the lesion, SUVpeak (DCM 126031 "Peak Value Within ROI"),
each named by the SUV quantity (DCM 126400) with its derivation and the UCUM units of the normalisation used
(``{SUVbw}g/ml`` ...); the volume (mL, sum of segmented voxels); for the lesion the TBR (DCM 126039, ``{ratio}``).
meanSUVmax is a TID 1501 group of its own (the mean of the marrow-site SUVmax, finding sites = the sites used).

Needs the optional package highdicom.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

from pydicom.dataset import Dataset

from .. import __version__
from ..measure.protocol import StudyResult
from ..measure.sites import AORTA, LESION, MARROW_SITES
from ..suv.codes import SUV_QUANTITY, suv_units_code
from .dicom_codes import (
    LOCAL_SCHEME,
    LOCAL_SCHEME_NAME,
    DERIVATIONS,
    MEAN_SUV_MAX,
    METHOD_A50,
    METHOD_ISOCONTOUR,
    METHOD_SPHERE,
    PEAK_METHODS,
    PROCEDURE_PET,
    SITE_CODES,
    TBR,
    UNITS_ML,
    UNITS_RATIO,
    VOLUME,
    VOLUME_METHOD,
)
from .dicom_seg import MANUFACTURER, UTF8, coded, require_highdicom
from .results import describe_methods

__all__ = ["DEVICE_OBSERVER_UID", "study_measurement_report", "MEAN_SUV_MAX_LABEL"]

#: A fixed UID for this software as the device observer: the UUID-derived form of PS3.5 B.2 ("2.25." + the integer
#: of a name-based UUID), the same in every report.
DEVICE_OBSERVER_UID = f"2.25.{uuid.uuid5(uuid.NAMESPACE_DNS, 'device-observer.pentixaforquant').int}"
MEAN_SUV_MAX_LABEL = "meanSUVmax"


def _site_result(study: StudyResult, site: str):
    if site == LESION:
        return study.lesion
    if site == AORTA:
        return study.blood_pool
    return study.marrow.get(site)


def _finding_sites(hd, sites):
    out = []
    for site in sites:
        c = SITE_CODES[site]
        if c.anatomic_region is not None:
            out.append(hd.sr.FindingSite(anatomic_location=coded(c.anatomic_region),
                                         laterality=coded(c.laterality) if c.laterality is not None else None))
    return out


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
        UCUM SUV units of the volume (``{SUVbw}g/ml`` ...), the unit of every SUV value.
    tracking_uids : mapping
        Site (and ``"meanSUVmax"``) -> tracking UID.
    suv_audit : dict, optional
        The SUV conversion audit; its factor and path are recorded as algorithm parameters.
    """
    hd = require_highdicom()
    suv_unit = coded(suv_units_code(units))
    quantity = coded(SUV_QUANTITY)
    methods = describe_methods(study)
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
        result = _site_result(study, site)
        c = SITE_CODES[site]
        stats = result.stats
        measurements = [
            hd.sr.Measurement(name=quantity, value=getattr(stats, key), unit=suv_unit,
                              derivation=coded(DERIVATIONS[key]))
            for key in ("suv_max", "suv_mean", "suv_sd")
        ]
        if site == LESION:
            peak = result.peak
            measurements.append(hd.sr.Measurement(
                name=quantity, value=peak.suv_peak, unit=suv_unit, derivation=coded(DERIVATIONS["suv_peak"]),
                method=coded(PEAK_METHODS[peak.variant]),
                algorithm_id=hd.sr.AlgorithmIdentification(
                    name=MANUFACTURER, version=__version__,
                    parameters=[f"SUVpeak {peak.variant}, sphere radius {peak.radius_mm:g} mm, voxel centres inside, "
                                f"image voxels (not restricted to the VOI), {peak.voxels_in_sphere} voxels averaged"]),
            ))
        measurements.append(hd.sr.Measurement(name=coded(VOLUME), value=stats.volume_ml, unit=coded(UNITS_ML),
                                              method=coded(VOLUME_METHOD)))
        if site == LESION and study.tbr is not None:
            measurements.append(hd.sr.Measurement(
                name=coded(TBR), value=study.tbr, unit=coded(UNITS_RATIO),
                algorithm_id=hd.sr.AlgorithmIdentification(name=MANUFACTURER, version=__version__,
                                                           parameters=[methods["TBR"]]),
            ))
        if site == LESION:
            method = METHOD_A50 if p.isocontour.method == "a50" else METHOD_ISOCONTOUR
            text = methods[LESION]
        else:
            method = METHOD_SPHERE
            text = methods[AORTA] if site == AORTA else methods["marrow"]
        groups.append(hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uids[site], identifier=c.label),
            referenced_segment=hd.sr.ReferencedSegment(
                segment_number=number, source_series=hd.sr.SourceSeriesForSegmentation(pet_series_uid), **ref),
            finding_type=coded(c.property_type),
            finding_category=coded(c.category),
            finding_sites=_finding_sites(hd, [site]) or None,
            method=coded(method),
            algorithm_id=hd.sr.AlgorithmIdentification(
                name=MANUFACTURER, version=__version__,
                parameters=[text, *common, *(f"warning: {w}" for w in result.warnings)]),
            measurements=measurements,
        ))
    if study.mean_suv_max is not None:
        used = study.marrow_sites_used
        c = SITE_CODES[MARROW_SITES[0]]
        groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=tracking_uids[MEAN_SUV_MAX_LABEL],
                                                         identifier=MEAN_SUV_MAX_LABEL),
            finding_type=coded(c.property_type),
            finding_category=coded(c.category),
            finding_sites=_finding_sites(hd, used),
            method=coded(MEAN_SUV_MAX),
            algorithm_id=hd.sr.AlgorithmIdentification(
                name=MANUFACTURER, version=__version__,
                parameters=[methods["meanSUVmax"], "sites used " + ", ".join(used), *common]),
            measurements=[hd.sr.Measurement(name=quantity, value=study.mean_suv_max, unit=suv_unit,
                                            derivation=coded(MEAN_SUV_MAX))],
        ))
    observer = hd.sr.ObserverContext(
        observer_type=hd.sr.CodedConcept("121007", "DCM", "Device"),
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=DEVICE_OBSERVER_UID, name=MANUFACTURER, manufacturer_name=MANUFACTURER,
            model_name=f"{MANUFACTURER} {__version__}"),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=coded(PROCEDURE_PET),
        imaging_measurements=groups,
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[*pet_datasets, segmentation],
        content=report,
        series_instance_uid=series_instance_uid,
        series_number=series_number,
        sop_instance_uid=sop_instance_uid,
        instance_number=1,
        manufacturer=MANUFACTURER,
        is_complete=True,
        series_description="PentixaforQuant measurements",
    )
    sr.SpecificCharacterSet = UTF8
    # Declare the private coding scheme of the local codes (SOP Common, Coding Scheme Identification Sequence).
    scheme = Dataset()
    scheme.CodingSchemeDesignator = LOCAL_SCHEME
    scheme.CodingSchemeName = LOCAL_SCHEME_NAME
    scheme.CodingSchemeResponsibleOrganization = MANUFACTURER
    sr.CodingSchemeIdentificationSequence = [scheme]
    return sr
