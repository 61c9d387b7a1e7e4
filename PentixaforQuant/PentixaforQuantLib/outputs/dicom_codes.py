"""Coded concepts of the DICOM outputs: what each site is, where it lies, what each number measures.

One table for the DICOM SEG (segment category, type, anatomic region, laterality and display colour), the SR TID
1500 report (finding, finding site, measurement names, derivations, units) and the Segment Statistics plugin, so
the three say the same thing. Plain :class:`~..suv.codes.Code` tuples: no highdicom needed to read them.

Sources: SNOMED CT codes as DICOM PS3.16 lists them (CID 7150 segmentation property categories, CID 7151 types,
CID 4 anatomic regions, CID 244 laterality, CID 7464 general region-of-interest measurement modifiers such as
Mean 373098007 / Maximum 56851009 / Standard Deviation 386136009, CID 7465 "Mean Value of population"); DCM codes
of CID 7180 (126400 Standardized Uptake Value), CID 7466 (126031 Peak Value Within ROI, 126039 Lesion to
Background SUV Ratio, 126040 Background for Lesion to Background SUV Ratio), CID 7474 (126030 Sum of segmented
voxel method for volume), 126011 Derived Imaging Measurements and 126100 Real World Value Map used for
measurement (TID 1500 / 1411); the IBSI code 99N0 "Integrated Intensity" (CID 218); the QIICR convention for a PET
reference region (SCT 309825002 Spatial and Relational Concept / NCIt C94970 Reference Region, CID 7165).
The SUV quantity and its UCUM units come from :mod:`..suv.codes`.
Concepts DICOM has no code for (the SUVpeak centring) use the private coding scheme :data:`LOCAL_SCHEME` (PS3.16
§8: designators starting with "99" are private).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..measure.sites import ISOCONTOUR, SITES, SPHERE
from ..suv.codes import SUV_QUANTITY, Code, standard_suv_units_code

__all__ = [
    "LOCAL_SCHEME",
    "LOCAL_SCHEME_NAME",
    "SiteCodes",
    "SITE_CODES",
    "DERIVATIONS",
    "UNITS_ML",
    "UNITS_RATIO",
    "VOLUME",
    "VOLUME_METHOD",
    "TBR",
    "TBR_BACKGROUND",
    "INTEGRATED_INTENSITY",
    "suv_ml_units",
    "MEAN_OF_POPULATION",
    "DERIVED_MEASUREMENTS",
    "RWVM_USED",
    "RWVM_QUANTITY",
    "RWVM_METHODS",
    "MEASUREMENT_METHOD",
    "PEAK_METHODS",
    "SITE_DISPLAY_RGB",
    "MEASUREMENT_ORDER",
    "ALGORITHM_FAMILY_SPHERE",
    "PROCEDURE_PET",
    "SEGMENT_STATISTICS_KEYS",
    "SegmentStatisticKey",
    "ALGORITHM_FAMILY",
    "ALGORITHM_FAMILY_OF_VOI",
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

#: Display colour (RGB 0-1) of each site, from the site table: the SEG's Recommended Display CIELab Value, as the
#: scene's segment colour.
SITE_DISPLAY_RGB: dict[str, tuple[float, float, float]] = {key: site.colour for key, site in SITES.items()}

#: Derivation (CID 7464 / 7466) of each SUV statistic; the measurement name is the SUV quantity (DCM 126400) and
#: the unit the CID 85 UCUM code of the normalisation (``g/ml{SUVbw}``, ...).
DERIVATIONS = {
    "suv_max": Code("56851009", "SCT", "Maximum"),
    "suv_mean": Code("373098007", "SCT", "Mean"),
    "suv_sd": Code("386136009", "SCT", "Standard Deviation"),
    "suv_peak": Code("126031", "DCM", "Peak Value Within ROI"),
}

#: The order of the measurements in every SR group: the four every site has, then the lesion-only ones.
#: QuantitativeReporting builds its table columns from the first group and fills the others by position, so the
#: common ones come first, in one order.
MEASUREMENT_ORDER = ("suv_max", "suv_mean", "suv_sd", "volume_ml", "suv_peak", "tla", "tbr_background", "tbr")

VOLUME = Code("118565006", "SCT", "Volume")
#: Volume = voxel count x voxel volume.
VOLUME_METHOD = Code("126030", "DCM", "Sum of segmented voxel method for volume")
UNITS_ML = Code("ml", "UCUM", "milliliter")
UNITS_RATIO = Code("{ratio}", "UCUM", "ratio")
#: TBR = lesion SUV / blood-pool SUVmean (Buck et al., J Nucl Med 2022), a lesion-to-background SUV ratio.
TBR = Code("126039", "DCM", "Lesion to Background SUV Ratio")
#: The TBR's denominator: the blood-pool (reference region) SUVmean.
TBR_BACKGROUND = Code("126040", "DCM", "Background for Lesion to Background SUV Ratio")
#: TLA = SUVmean x volume. IBSI "Integrated Intensity" (CID 218), not DCM 126033 TLG, whose definition is limited
#: to glucose metabolism.
INTEGRATED_INTENSITY = Code("99N0", "IBSI", "Integrated Intensity")


def suv_ml_units(units: str) -> Code:
    """UCUM units of the integrated intensity: the SUV units times ml (``g/ml{SUVbw}.ml`` ...)."""
    suv = standard_suv_units_code(units)
    return Code(f"{suv.value}.ml", "UCUM", f"{suv.meaning} times milliliter")


#: meanSUVmax (Herhaus et al., Haematologica 2016), the mean of the marrow-site SUVmax: a measurement derived from
#: several ROI measurements (TID 1420, concept from CID 7465) under "Derived Imaging Measurements" (TID 1500 row 10).
MEAN_OF_POPULATION = Code("373098007", "SCT", "Mean Value of population")
DERIVED_MEASUREMENTS = Code("126011", "DCM", "Derived Imaging Measurements")

#: Reference from a measurement group to the Real World Value Map that gave the SUV (TID 1411 row 14).
RWVM_USED = Code("126100", "DCM", "Real World Value Map used for measurement")
#: The RWVM's quantity definition (TID 1000 via the Quantity Definition Sequence): quantity and method of SUV.
RWVM_QUANTITY = Code("246205007", "SCT", "Quantity")
MEASUREMENT_METHOD = Code("370129005", "SCT", "Measurement Method")
#: SUV calculation method of each normalisation (CID 85 notes, DCM 126410-126413).
RWVM_METHODS = {
    "bw": Code("126410", "DCM", "SUV body weight calculation method"),
    "lbm": Code("126411", "DCM", "SUV lean body mass calculation method"),
    "lbm-james128": Code("126411", "DCM", "SUV lean body mass calculation method"),
    "lbm-unspecified": Code("126411", "DCM", "SUV lean body mass calculation method"),
    "bsa": Code("126412", "DCM", "SUV body surface area calculation method"),
    "ibw": Code("126413", "DCM", "SUV ideal body weight calculation method"),
}

#: SUVpeak centring (docs/measurements.md; IBSI global / local intensity peak): no standard code.
PEAK_METHODS = {
    "global": Code("PEAK-GLOBAL", LOCAL_SCHEME, "Highest mean of sphere centred on a VOI voxel"),
    "local": Code("PEAK-LOCAL", LOCAL_SCHEME, "Mean of sphere centred on the SUVmax voxel"),
}

#: Algorithm family of the lesion VOI (CID 7162): grown from a clicked point over neighbouring voxels.
ALGORITHM_FAMILY = Code("123101", "DCM", "Neighborhood Analysis")
#: Algorithm family of the sphere VOIs: a sphere of fixed size placed where the reader clicked.
ALGORITHM_FAMILY_SPHERE = Code("123109", "DCM", "Manual Processing")
#: The algorithm family of each VOI shape of the table of sites (``Site.voi``).
ALGORITHM_FAMILY_OF_VOI = {ISOCONTOUR: ALGORITHM_FAMILY, SPHERE: ALGORITHM_FAMILY_SPHERE}

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
        SUV units of the volume (``{SUVbw}g/ml`` or ``g/ml{SUVbw}`` ...). SUV keys always carry the CID 85 units
        code (``g/ml{SUVbw}`` ...; QuantitativeReporting reads it without a fallback); when the volume is not in SUV
        no values are reported at all, and the code stays that of SUVbw.

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
        try:
            units_code = standard_suv_units_code(units or "")
        except KeyError:
            units_code = standard_suv_units_code("{SUVbw}g/ml")
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
