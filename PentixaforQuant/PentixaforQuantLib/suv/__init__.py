"""SUV from PET DICOM: element values and times, radionuclides, body size, the conversion and its audit, and the
PET series reader. A new SUV rule, vendor quirk or header check belongs here. Imports only ``errors`` and
``geometry``."""

from .conversion import (
    NORMALIZATIONS,
    SUVAudit,
    SUVConversion,
    SUVOverrides,
    compute_suv_conversion,
    normalization_name,
    suv_conversion_for_suv_volume,
)
from .series_reader import PetSeriesHeaders, PetVolume, read_pet_headers, read_pet_volume

__all__ = [
    "NORMALIZATIONS", "SUVAudit", "SUVConversion", "SUVOverrides", "compute_suv_conversion", "normalization_name",
    "suv_conversion_for_suv_volume", "PetSeriesHeaders", "PetVolume", "read_pet_headers", "read_pet_volume",
]
