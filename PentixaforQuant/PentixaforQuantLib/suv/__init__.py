"""SUV from PET DICOM: element values and times, radionuclides, body size, the conversion and its audit, and the
PET series reader. A new SUV rule, vendor quirk or header check belongs here. Imports only ``errors`` and
``geometry``."""
