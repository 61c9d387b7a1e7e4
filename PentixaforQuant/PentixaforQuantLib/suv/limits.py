"""Plausibility limits of the SUV inputs and of the SUV volume.

A value outside a limit is refused with one line naming the attribute (or override), the value and the likely
unit mistake; it is never corrected silently. A value that is right although outside a limit (a preclinical
study, a very small child) is accepted when the user states why (``SUVOverrides.accept_implausible``): the
conversion then records a warning with the reason. ``docs/suv.md`` ("Plausibility limits") gives the source of
each limit; keep the two in step.
"""

from __future__ import annotations

from . import radionuclides

#: Patient weight (kg). Below: lighter than a premature newborn (WHO: < 2.5 kg is low birth weight; 2 kg leaves
#: room for it). Above: heavier than the table load limit of current PET/CT scanners (about 200-300 kg).
WEIGHT_RANGE_KG = (2.0, 350.0)
#: A PatientWeight above this is read as grams (the unit the IODs' kg is most often confused with).
WEIGHT_GRAMS_ABOVE = 1000.0
#: Patient height (m): a term newborn is ~0.5 m (0.4 leaves room for prematurity); the tallest recorded human
#: was 2.72 m.
HEIGHT_RANGE_M = (0.4, 2.75)
#: A PatientSize above this is read as centimetres.
HEIGHT_CM_ABOVE = 3.0
#: Injected activity (Bq). Below: under the smallest activity of the EANM paediatric dosage card for PET
#: (14 MBq for 18F-FDG and 68Ga peptides). Above: over the largest single clinical PET injections (82Rb cardiac
#: PET, up to about 2.2 GBq); it also catches a dose in uCi read as MBq (4000 uCi = 148 MBq read as 4 GBq).
DOSE_RANGE_BQ = (10e6, 3e9)
#: A RadionuclideTotalDose below this is read as MBq (PET IODs allow Bq or MBq; 1e5 Bq = 0.1 MBq is far below
#: any injection, 1e5 MBq = 100 GBq far above).
DOSE_MBQ_BELOW = 1e5
#: Half-life (s) when the radionuclide cannot be identified: from shorter than the shortest-lived PET nuclide in
#: clinical use (82Rb, 75 s) to longer than the longest (124I, 4.18 d).
HALF_LIFE_RANGE_S = (60.0, 10 * 86400.0)
#: A header half-life must agree with the identified radionuclide's to this relative tolerance.
HALF_LIFE_TOLERANCE = radionuclides.HALF_LIFE_TOLERANCE
#: Decay over more than this many half-lives (a factor below 1e-6) means a wrong date or time.
MAX_DECAY_HALF_LIVES = 20.0
#: A RadiopharmaceuticalStartTime later in the day than the scan is taken on the previous day only when the
#: uptake time that gives is at most this (an evening injection scanned after midnight, IBSI DRO_4_2); a later
#: clock time beyond it is refused as a wrong time.
MIDNIGHT_SHIFT_MAX_S = 12 * 3600.0
#: RadiopharmaceuticalStartDateTime and RadiopharmaceuticalStartTime must give the same clock time to this (s);
#: a larger difference (often exactly a time-zone offset) is refused, since the decay time depends on which is
#: right (1 h of Ga-68 decay is a factor 1.85 in SUV).
START_TIMES_AGREE_S = 1.0
#: Per-instance back-computed reference times must agree this well (s).
BACKCOMP_SPREAD_S = 1.0
#: Highest SUV maximum of a volume: ten times the highest lesion SUVmax of the Pentixafor cohort (85.8) and
#: above urinary activity in the bladder, which reaches some hundreds at most. A volume above it has a unit
#: error (a dose in kBq read as Bq gives 1000 times the SUV) or damaged pixel data.
SUV_MAX_LIMIT = 1000.0
#: An SUV maximum below this is warned about: the blood pool alone is about 1-2 in every PET.
SUV_MAX_LOW = 0.5
#: Highest median SUV of the body (the voxels above 5 % of the volume's 99.5th percentile, a scale-free outline).
#: Physiology bounds it: SUVbw averaged over the whole body is the fraction of the injected activity still in it,
#: at most about 1, and the median lies below the mean. Measured: 0.70 on the demo phantom, 1.00 on the 17 IBSI
#: SUV DROs, 0.37-2.04 on the 51 IBSI soft-tissue-sarcoma PET crops (5 cm around the tumour, so partly tumour);
#: three times the highest real value leaves room for scans of a small field of view. A dose in mCi entered as MBq
#: (37 times the SUV) or in kBq read as Bq lands far above.
BODY_MEDIAN_SUV_MAX = 6.0
#: The body outline for that median: voxels above this fraction of the volume's 99.5th percentile.
BODY_OUTLINE_FRACTION = 0.05
#: RescaleSlope (0028,1053): real PET slopes lie between about 1e-6 (SUV stored as 16-bit integers) and 1e4;
#: beyond these bounds the header is damaged and the values under- or overflow single precision.
RESCALE_SLOPE_RANGE = (1e-12, 1e12)
