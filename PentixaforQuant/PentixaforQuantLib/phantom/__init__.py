"""The synthetic Pentixafor reference phantom (design values, structures, rendering) and its PET DICOM writer:
the known answers for the demo, the tests and the benchmarks. Imports ``errors``, ``geometry``, ``suv`` and
``measure``."""

from .design import (
    Phantom,
    PhantomOptions,
    PhantomTruth,
    SphereLesion,
    add_sphere_lesion,
    bladder_adjacent_lesion,
    border_lesion_options,
    make_phantom,
    make_whole_body_grid_phantom,
)
from .dicom_writer import PatientInfo, ScanInfo, write_pet_series, write_phantom

__all__ = [
    "Phantom", "PhantomOptions", "PhantomTruth", "SphereLesion", "add_sphere_lesion", "bladder_adjacent_lesion",
    "border_lesion_options", "make_phantom", "make_whole_body_grid_phantom",
    "PatientInfo", "ScanInfo", "write_pet_series", "write_phantom",
]
