"""Plausibility limits of the SUV inputs (inputs outside them are refused, never silently corrected)."""

from __future__ import annotations

from . import radionuclides

WEIGHT_MAX_KG = 500.0
HEIGHT_RANGE_M = (0.2, 2.8)
DOSE_RANGE_BQ = (1e5, 1e11)  # 0.1 MBq .. 100 GBq
MBQ_BELOW = 1e5  # a RadionuclideTotalDose below this is read as MBq
MAX_DECAY_HALF_LIVES = 20.0  # decay over more than this (factor 1e-6) means a wrong date or time
BACKCOMP_SPREAD_S = 1.0  # per-instance back-computed reference times must agree this well
HALF_LIFE_TOLERANCE = radionuclides.HALF_LIFE_TOLERANCE
