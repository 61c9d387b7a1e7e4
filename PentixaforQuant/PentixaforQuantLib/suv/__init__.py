"""SUV from PET DICOM: element values and times, radionuclides, body size, the conversion and its audit, and the
PET series reader. A new SUV rule, vendor quirk or header check belongs here. Imports only ``errors`` and
``geometry``.

One job per module: ``conversion`` (the entry point :func:`compute_suv_conversion`), ``series_inputs`` (series-level
values checked across instances), ``patient`` (weight, height, sex), ``injected_dose``, ``half_life``, ``units``
(BQML, CNTS, GML, CM2ML, CPS), ``decay`` (DecayCorrection START/ADMIN/NONE), ``scan_time``, ``injection_time``,
``private_tags``, ``limits`` (plausibility limits) and ``plausibility`` (refuse, or accept with a stated reason),
``normalizations``, ``overrides``, ``audit`` (result types); ``series_files`` classifies and parses the files of a
folder (DICOM, ignored, damaged), ``series_reader`` reads one PET series from them.
"""

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
