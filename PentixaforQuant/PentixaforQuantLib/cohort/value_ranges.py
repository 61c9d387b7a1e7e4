"""The plausible range of every number in a cohort table, from the limits the SUV conversion applies to headers.

A cohort table may be edited by hand or made by another program, so ``stats`` checks every value as the DICOM
reader checks the headers, with the same limits (:mod:`..suv.limits`), and refuses a value outside them naming
the line, the column and the limit:

- ``activity_mbq``: the injected-dose limits (``DOSE_RANGE_BQ``, 10 MBq to 3 GBq); a value outside is a unit
  mistake (kBq or GBq) or a typo;
- SUV columns (lesion, blood pool, marrow sites, meanSUVmax): 0 to ``SUV_MAX_LIMIT`` (no tissue reaches it);
- ``tbr``: a ratio of two SUVs, 0 to ``SUV_MAX_LIMIT`` as well;
- ``volume_ml``: above 0 and at most the largest lesion VOI the protocol allows (``isocontour.max_volume_ml``);
- ``peptide_mass_ug``: above 0 and at most :data:`PEPTIDE_MASS_MAX_UG`;
- ``marrow_sites_used``: a whole number from 0 to the number of marrow sites.
"""

from __future__ import annotations

from ..measure.parameter_ranges import PROTOCOL_RANGES, ValueRange
from ..measure.sites import MARROW_SITES
from ..suv.limits import DOSE_RANGE_BQ, SUV_MAX_LIMIT

__all__ = ["COHORT_VALUE_RANGES", "PEPTIDE_MASS_MAX_UG", "INTEGER_COLUMNS"]

#: Largest injected peptide mass (µg): ten times the 100 µg microdose limit of ICH M3(R2); the Pentixafor cohort's
#: median was 8.5 µg (Buck et al. 2022). A larger value is a unit mistake (ng, or mg read as µg).
PEPTIDE_MASS_MAX_UG = 1000.0

_SUV = ValueRange(0.0, SUV_MAX_LIMIT, "", "an SUV (suv.limits.SUV_MAX_LIMIT: no tissue reaches it)")

#: Cohort column -> its plausible range (columns not listed hold text, or are derived and recomputed).
COHORT_VALUE_RANGES: dict[str, ValueRange] = {
    "activity_mbq": ValueRange(DOSE_RANGE_BQ[0] / 1e6, DOSE_RANGE_BQ[1] / 1e6, "MBq",
                               "injected activity, the header limits suv.limits.DOSE_RANGE_BQ"),
    "peptide_mass_ug": ValueRange(0.0, PEPTIDE_MASS_MAX_UG, "ug", "injected peptide mass", low_inclusive=False),
    "specific_activity_mbq_per_ug": ValueRange(0.0, DOSE_RANGE_BQ[1] / 1e6, "MBq/ug", "specific activity",
                                               low_inclusive=False),
    **{column: _SUV for column in ("suv_max", "suv_mean", "suv_peak", "blood_pool_suv_mean", *MARROW_SITES,
                                   "mean_suv_max")},
    "tbr": ValueRange(0.0, SUV_MAX_LIMIT, "", "a ratio of two SUVs"),
    "volume_ml": ValueRange(0.0, PROTOCOL_RANGES["isocontour.max_volume_ml"].high, "mL",
                            "lesion VOI volume (the protocol's largest VOI size limit)", low_inclusive=False),
    "marrow_sites_used": ValueRange(0.0, float(len(MARROW_SITES)), "", "number of marrow sites"),
}
#: Columns that hold whole numbers.
INTEGER_COLUMNS = frozenset({"marrow_sites_used"})
