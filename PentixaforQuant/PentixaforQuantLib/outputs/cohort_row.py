"""One row per study for a cohort table: the column set of the cohort statistics (SPEC §6).

The study's identifiers and clinical fields (diagnosis, group, uptake discernible, injected activity, peptide mass)
come from the user; the measurements from the study. Column names are fixed: the cohort batch, the statistics and
the panel's "Add study to cohort table" all read and write exactly these.
"""

from __future__ import annotations

import math

from ..errors import ParameterError
from ..measure.protocol import StudyResult
from ..measure.sites import MARROW_SITES
from .results import study_wide_row

__all__ = ["COHORT_COLUMNS", "COHORT_TEXT_COLUMNS", "cohort_row"]

#: The cohort columns, in order. ``C7`` ... ``left_ilium`` are the marrow-site SUVmax; ``suv_*``, ``volume_ml``
#: are the target lesion's; ``specific_activity_mbq_per_ug`` = activity_mbq / peptide_mass_ug.
COHORT_COLUMNS = (
    "study_id", "diagnosis", "group", "uptake", "activity_mbq", "peptide_mass_ug", "specific_activity_mbq_per_ug",
    "suv_max", "suv_mean", "suv_peak", "volume_ml", "tbr", "blood_pool_suv_mean",
    *MARROW_SITES, "mean_suv_max", "marrow_sites_used", "warnings", "error",
)
#: Columns holding text (the others hold numbers; empty = not given or not measured).
COHORT_TEXT_COLUMNS = frozenset({"study_id", "diagnosis", "group", "uptake", "warnings", "error"})


def _number(name: str, value) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, not {value!r}", field=name) from None
    if not math.isfinite(number) or number < 0:
        raise ParameterError(f"{name} must be a finite number >= 0, not {value!r}", field=name)
    return number


def cohort_row(study: StudyResult | None, *, study_id: str, diagnosis: str = "", group: str = "", uptake: str = "",
               activity_mbq=None, peptide_mass_ug=None, error: str = "") -> dict:
    """The cohort row of one study (every column of :data:`COHORT_COLUMNS`; None = empty cell).

    Parameters
    ----------
    study : StudyResult or None
        None for a study that could not be measured at all (then ``error`` says why).
    uptake : {"yes", "no", ""}
        Whether uptake in the target lesion is discernible (SPEC §6); "" = not recorded.
    activity_mbq, peptide_mass_ug : float, str or None
        Injected activity (MBq) and peptide mass (µg); strings are parsed, "" = not given.
    """
    if not str(study_id).strip():
        raise ParameterError("study_id must not be empty", field="study_id")
    uptake = str(uptake or "").strip().lower()
    if uptake not in ("yes", "no", ""):
        raise ParameterError(f"uptake must be 'yes', 'no' or empty, not {uptake!r}", field="uptake")
    activity = _number("activity_mbq", activity_mbq)
    mass = _number("peptide_mass_ug", peptide_mass_ug)
    row = dict.fromkeys(COHORT_COLUMNS)
    row.update(study_id=str(study_id).strip(), diagnosis=str(diagnosis or ""), group=str(group or ""), uptake=uptake,
               activity_mbq=activity, peptide_mass_ug=mass,
               specific_activity_mbq_per_ug=activity / mass if activity is not None and mass else None,
               warnings="", error=error or "")
    if study is not None:
        wide = study_wide_row(study)
        row.update(suv_max=wide["lesion_suv_max"], suv_mean=wide["lesion_suv_mean"],
                   suv_peak=wide["lesion_suv_peak"], volume_ml=wide["lesion_volume_ml"], tbr=wide["tbr"],
                   blood_pool_suv_mean=wide["blood_pool_suv_mean"], mean_suv_max=wide["mean_suv_max"],
                   marrow_sites_used=wide["marrow_sites_used"], warnings=wide["warnings"])
        for site in MARROW_SITES:
            row[site] = wide[f"{site}_suv_max"]
        row["error"] = " | ".join(e for e in (error, wide["errors"]) if e)
    return row
