"""The synthetic Pentixafor reference phantom (design values, structures, rendering) and its PET DICOM writer:
the known answers for the demo, the tests and the benchmarks. Imports ``errors``, ``geometry``, ``suv`` and
``measure``."""
