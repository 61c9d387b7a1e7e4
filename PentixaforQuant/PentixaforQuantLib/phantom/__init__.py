"""The synthetic Pentixafor reference phantom and its PET DICOM writer: the known answers for the demo, the tests
and the benchmarks. Imports ``errors``, ``geometry``, ``suv`` and ``measure``.

One job per module, in dependency order: ``shapes`` (analytic shapes in RAS mm), ``design`` (structures, SUVs,
positions, radionuclides, seed points), ``sampling`` (the grid and the voxel centres a shape holds), ``truth``
(structures as painted, expected answers, JSON form), ``options`` (how to build it), ``render`` (paint, blur,
noise; the whole-body benchmark grid), ``dicom_writer`` (the PET DICOM series and ``truth.json``)."""

from .design import SphereLesion, bladder_adjacent_lesion
from .dicom_writer import PatientInfo, ScanInfo, write_pet_series, write_phantom
from .options import PhantomOptions, add_sphere_lesion, border_lesion_options
from .render import Phantom, make_phantom, make_whole_body_grid_phantom
from .truth import PhantomTruth

__all__ = [
    "Phantom", "PhantomOptions", "PhantomTruth", "SphereLesion", "add_sphere_lesion", "bladder_adjacent_lesion",
    "border_lesion_options", "make_phantom", "make_whole_body_grid_phantom",
    "PatientInfo", "ScanInfo", "write_pet_series", "write_phantom",
]
