"""PentixaforQuant: quantification of CXCR4 PET (68Ga-Pentixafor) studies.

The library is GUI-free. Sub-packages, lowest first (each imports only the ones before it that
``docs/architecture.md`` allows; ``errors`` and ``geometry`` are reachable from all):

- ``suv``: SUV from PET DICOM, with its audit, and the PET series reader
- ``measure``: sites, VOIs, metrics, the protocol
- ``phantom``: the synthetic reference phantom and its PET DICOM writer
- ``outputs``: points files, result tables, JSON/CSV, the study picture
- ``scene``: MRML (headless from slicer-core, or Slicer's own), ``StudyLogic``
- ``cli``: the command line and the benchmark (the Slicer module ``PentixaforQuant.py`` sits beside this package)
"""

__version__ = "0.1.0"
