"""Coded concepts of the DICOM outputs: what each site is, where it lies, what each number measures.

One table for the DICOM SEG (segment category, type, anatomic region and laterality), the SR TID 1500 report
(finding, finding site, measurement names, derivations, units) and the Segment Statistics plugin, so the three say
the same thing. Plain :class:`~..suv.codes.Code` tuples: no highdicom needed to read them.

Sources: SNOMED CT codes as DICOM PS3.16 lists them (CID 7150 segmentation property categories, CID 7151 types,
CID 4 anatomic regions, CID 244 laterality, CID 7464 general region-of-interest measurement modifiers such as
Mean 373098007 / Maximum 56851009 / Standard Deviation 386136009); DCM codes of CID 7180 (126400 Standardized
Uptake Value), CID 7466 (126031 Peak Value Within ROI), CID 7465 (126030 Sum of segmented voxel method for volume)
and 126039 Lesion to Background SUV Ratio. The SUV quantity and its UCUM units come from :mod:`..suv.codes`.
Concepts DICOM has no code for (the isocontour and sphere VOI methods, meanSUVmax) use the private coding scheme
:data:`LOCAL_SCHEME` (PS3.16 §8: designators starting with "99" are private).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..measure.sites import SITES
from ..suv.codes import SUV_QUANTITY, Code, suv_units_code

__all__ = [
    "LOCAL_SCHEME",
    "LOCAL_SCHEME_NAME",
    "SiteCodes",
    "SITE_CODES",
    "MEASUREMENT_NAMES",
    "DERIVATIONS",
    "UNITS_ML",
    "UNITS_RATIO",
    "VOLUME",
    "VOLUME_METHOD",
    "TBR",
    "MEAN_SUV_MAX",
    "METHOD_ISOCONTOUR",
    "METHOD_A50",
    "METHOD_SPHERE",
    "PEAK_METHODS",
    "PROCEDURE_PET",
    "SEGMENT_STATISTICS_KEYS",
    "SegmentStatisticKey",
    "ALGORITHM_FAMILY",
    "segment_statistic_info",
]

#: Private coding scheme designator of this project's own concepts (PS3.16 §8: "99" prefix = local).
LOCAL_SCHEME = "99PXFQ"
LOCAL_SCHEME_NAME = "PentixaforQuant local codes"

@dataclass(frozen=True)
class SiteCodes:
    """The coded description of one measurement site.

    Attributes
    ----------
    label : str
        Segment label and tracking identifier (the site's title).
    category, property_type : Code
        Segmented property category and type (SEG), also the finding category and finding type (SR).
    anatomic_region : Code or None
        Where the site lies (SEG anatomic region, SR finding site); None for the target lesion, whose location
        the protocol does not record.
    laterality : Code or None
        Right or left, for the ilia (SEG anatomic region modifier, SR finding-site laterality).
    """

    label: str
    category: Code
    property_type: Code
    anatomic_region: Code | None = None
    laterality: Code | None = None


def _code(triple) -> Code | None:
    return None if triple is None else Code(*triple)


#: The site table's codes (``measure/sites.py``) as coded concepts.
SITE_CODES: dict[str, SiteCodes] = {
    key: SiteCodes(site.title, _code(site.category), _code(site.property_type), _code(site.anatomic_region),
                   _code(site.laterality))
    for key, site in SITES.items()
}

#: Derivation (CID 7464 / 7466) of each SUV statistic; the measurement name is the SUV quantity (DCM 126400) and
#: the unit the UCUM code of the normalisation (``{SUVbw}g/ml``, ...), as Slicer's PET tools write them.
DERIVATIONS = {
    "suv_max": Code("56851009", "SCT", "Maximum"),
    "suv_mean": Code("373098007", "SCT", "Mean"),
    "suv_sd": Code("386136009", "SCT", "Standard Deviation"),
    "suv_peak": Code("126031", "DCM", "Peak Value Within ROI"),
}
MEASUREMENT_NAMES = {
    "suv_max": "SUVmax",
    "suv_mean": "SUVmean",
    "suv_sd": "SD",
    "suv_peak": "SUVpeak",
}

VOLUME = Code("118565006", "SCT", "Volume")
#: Volume = voxel count x voxel volume.
VOLUME_METHOD = Code("126030", "DCM", "Sum of segmented voxel method for volume")
UNITS_ML = Code("ml", "UCUM", "milliliter")
UNITS_RATIO = Code("{ratio}", "UCUM", "ratio")
#: TBR = lesion SUV / blood-pool SUVmean (Buck et al., J Nucl Med 2022), a lesion-to-background SUV ratio.
TBR = Code("126039", "DCM", "Lesion to Background SUV Ratio")
#: meanSUVmax (Herhaus et al., Haematologica 2016): the mean of the marrow-site SUVmax.
MEAN_SUV_MAX = Code("MEANSUVMAX", LOCAL_SCHEME, "Mean of marrow-site SUVmax")

METHOD_ISOCONTOUR = Code("ISOCONTOUR", LOCAL_SCHEME, "Connected isocontour of SUVmax around peak")
METHOD_A50 = Code("ISOCONTOUR-A50", LOCAL_SCHEME, "Background-adjusted isocontour (A50)")
METHOD_SPHERE = Code("SPHERE", LOCAL_SCHEME, "Sphere VOI, voxel centres inside")
#: SUVpeak centring (SPEC §2; IBSI global / local intensity peak).
PEAK_METHODS = {
    "global": Code("PEAK-GLOBAL", LOCAL_SCHEME, "Highest mean of sphere centred on a VOI voxel"),
    "local": Code("PEAK-LOCAL", LOCAL_SCHEME, "Mean of sphere centred on the SUVmax voxel"),
}

#: Algorithm family of the VOIs (CID 7162): growing from a clicked point over neighbouring voxels.
ALGORITHM_FAMILY = Code("123101", "DCM", "Neighborhood Analysis")

#: Procedure reported in the SR (LOINC, CID 100).
PROCEDURE_PET = Code("44139-4", "LN", "PET whole body")


@dataclass(frozen=True)
class SegmentStatisticKey:
    """One key of the Segment Statistics plugin with the DICOM codes QuantitativeReporting reads.

    ``units`` is None for SUV statistics: their unit is the UCUM code of the volume's normalisation.
    """

    key: str
    title: str
    description: str
    quantity: Code
    derivation: Code | None
    units: Code | None = None
    method: Code | None = None


SEGMENT_STATISTICS_KEYS = (
    SegmentStatisticKey("suv_peak", "SUVpeak",
                        "Highest mean SUV of a 1 mL sphere (r 6.2035 mm, voxel centres inside, image voxels) centred "
                        "on a segment voxel (PERCIST / IBSI global intensity peak); defined for any segment size",
                        SUV_QUANTITY, DERIVATIONS["suv_peak"], method=PEAK_METHODS["global"]),
    SegmentStatisticKey("suv_max", "SUVmax", "Maximum SUV of the segment voxels", SUV_QUANTITY,
                        DERIVATIONS["suv_max"]),
    SegmentStatisticKey("suv_mean", "SUVmean", "Mean SUV of the segment voxels", SUV_QUANTITY,
                        DERIVATIONS["suv_mean"]),
    SegmentStatisticKey("suv_sd", "SUV SD", "Population standard deviation of the SUV of the segment voxels",
                        SUV_QUANTITY, DERIVATIONS["suv_sd"]),
    SegmentStatisticKey("volume_ml", "Volume", "Voxel count x voxel volume of the segment on the PET grid", VOLUME,
                        None, UNITS_ML, VOLUME_METHOD),
)


def segment_statistic_info(key: str, units: str | None) -> dict | None:
    """Measurement information of a Segment Statistics key: name, title, description, units and DICOM codes.

    Parameters
    ----------
    key : str
        One of :data:`SEGMENT_STATISTICS_KEYS`.
    units : str or None
        UCUM SUV units of the volume (``{SUVbw}g/ml`` ...). SUV keys always carry a units code (QuantitativeReporting
        reads it without a fallback); when the volume is not in SUV no values are reported at all, and the code
        stays that of SUVbw.

    Returns
    -------
    dict or None
        ``name``, ``title``, ``description``, ``units`` (text) and the codes ``quantity``, ``units_code`` and, where
        they apply, ``derivation`` and ``method``; None for an unknown key.
    """
    spec = next((k for k in SEGMENT_STATISTICS_KEYS if k.key == key), None)
    if spec is None:
        return None
    if spec.units is not None:
        units_code = spec.units
    else:
        units_code = suv_units_code(units if units and units.startswith("{SUV") else "{SUVbw}g/ml")
    return {
        "name": spec.title,
        "title": spec.title,
        "description": spec.description,
        "units": units_code.value,
        "quantity": spec.quantity,
        "units_code": units_code,
        "derivation": spec.derivation,
        "method": spec.method,
    }
