"""``stats.json``: the statistics of the two source studies computed from a cohort table.

Which scans enter which statistic (Buck et al., J Nucl Med 2022; Herhaus et al., Haematologica 2016):

- ``scans`` counts every row; ``no_uptake`` the rows with ``uptake = no`` (counted, not measured).
- The lesion statistics (``by_diagnosis``, ``overall``, ``correlations``) use the scans with uptake (``yes`` or not
  recorded) that were measured; a study that could not be measured at all is listed under ``failed`` and used
  nowhere else (a study with some sites unmeasured keeps its other numbers).
- ``specific_activity``, ``activity_mbq`` and ``peptide_mass_ug`` summarise every scan that has the value.
- ``correlations``: Spearman's rho of specific activity (MBq/µg) against each metric after ROUT outlier removal
  (Q = 1 %) of the straight-line fit of the metric on specific activity.
- ``marrow``: meanSUVmax per ``group``, over the measured scans with at least one marrow site; scans without any
  are listed under ``excluded_no_marrow_sites``; pairwise Student's t-tests between the groups.
"""

from __future__ import annotations

from itertools import combinations

from .. import __version__
from ..measure.protocol import METRIC_LABELS
from .rout import rout_line
from .statistics import mean_sd, mean_sem, median_range, spearman, student_t_test, too_few

__all__ = ["LESION_METRICS", "METRIC_LABELS", "cohort_statistics", "measured_rows", "failed", "correlation_text",
           "NOT_GIVEN"]

LESION_METRICS = ("suv_max", "suv_mean", "suv_peak", "tbr")
NOT_GIVEN = "(not given)"
ROUT_Q = 0.01

DEFINITIONS = {
    "mean_sd": "arithmetic mean and sample standard deviation (n - 1) over the scans with a value",
    "mean_sem": "mean and standard error of the mean, SD (n - 1) / sqrt(n)",
    "median_range": "median, minimum and maximum over the scans with a value",
    "specific_activity": "activity_mbq / peptide_mass_ug (MBq/ug), per scan",
    "spearman": "Spearman's rank correlation (ties share mean ranks); P two-sided from Student's t with n - 2 "
                "degrees of freedom",
    "rout": "ROUT (Motulsky & Brown, BMC Bioinformatics 2006;7:123): robust straight-line fit of the metric on "
            "specific activity with a Lorentzian merit function and adaptive RSDR scale, RSDR = P68.27(|residual|) "
            "x N/(N-2), outliers by a Benjamini-Hochberg false discovery rate test at Q on t = |residual|/RSDR "
            "(Student's t, N-2 degrees of freedom); removed before the Spearman correlation",
    "t_test": "Student's unpaired two-sided t-test with pooled variance (df = n_a + n_b - 2)",
    "too_few": "a statistic that cannot be computed from the values given is the text 'too few values (n = ..., "
               "needs >= ...)' instead of a number",
}


def failed(row) -> bool:
    """A study that could not be measured at all: an ``error`` and no measurement (a study with some sites that
    could not be measured also names them in ``error``, but keeps its other numbers)."""
    return bool(row["error"]) and all(row[k] is None for k in ("suv_max", "blood_pool_suv_mean", "mean_suv_max"))


def measured_rows(rows) -> list[dict]:
    """The scans with uptake (``yes``, or not recorded) that were measured."""
    return [r for r in rows if r["uptake"] != "no" and not failed(r)]


def correlation_text(correlation: dict) -> str:
    """``"rho 0.512, P 0.0123, n 14"`` of one entry of ``correlations`` (a statistic that could not be computed
    shows its reason)."""
    rho, p = correlation["rho"], correlation["p"]
    rho = f"{rho:.3f}" if isinstance(rho, float) else rho
    p = f"{p:.3g}" if isinstance(p, float) else p
    return f"rho {rho}, P {p}, n {correlation['n']}"


def _metric_summaries(rows) -> dict:
    out = {"n": len(rows)}
    for metric in LESION_METRICS:
        out[metric] = mean_sd([r[metric] for r in rows])
    return out


def cohort_statistics(rows: list[dict], *, q: float = ROUT_Q, source: dict | None = None) -> dict:
    """Everything ``stats.json`` holds, from cohort rows (:func:`~.table.read_cohort_csv`); see the module text."""
    scans = len(rows)
    no_uptake = sum(r["uptake"] == "no" for r in rows)
    measured = measured_rows(rows)
    doc: dict = {"pentixaforquant_version": __version__}
    if source:
        doc["source"] = source
    doc["scans"] = scans
    doc["no_uptake"] = no_uptake
    doc["no_uptake_fraction"] = no_uptake / scans if scans else too_few(0, 1)
    doc["with_uptake_measured"] = len(measured)
    doc["failed"] = [r["study_id"] for r in rows if failed(r)]

    diagnoses: dict[str, list[dict]] = {}
    for r in measured:
        diagnoses.setdefault(r["diagnosis"] or NOT_GIVEN, []).append(r)
    doc["by_diagnosis"] = {name: _metric_summaries(group) for name, group in diagnoses.items()}
    doc["overall"] = _metric_summaries(measured)
    doc["overall"]["highest_suv_max"] = median_range([r["suv_max"] for r in measured])["max"]
    doc["blood_pool_suv_mean"] = mean_sd([r["blood_pool_suv_mean"] for r in measured])

    doc["specific_activity"] = median_range([r["specific_activity_mbq_per_ug"] for r in rows])
    doc["activity_mbq"] = median_range([r["activity_mbq"] for r in rows])
    doc["peptide_mass_ug"] = median_range([r["peptide_mass_ug"] for r in rows])

    correlations = {}
    x = [r["specific_activity_mbq_per_ug"] for r in measured]
    for metric in LESION_METRICS:
        y = [r[metric] for r in measured]
        rout = rout_line(x, y, q)
        outliers = [r["study_id"] for r, flagged in zip(measured, rout.outliers) if flagged]
        kept = [(xi, yi) for xi, yi, flagged in zip(x, y, rout.outliers) if not flagged]
        result = spearman([k[0] for k in kept], [k[1] for k in kept])
        correlations[metric] = {
            "rho": result["rho"], "p": result["p"], "n": result["n"], "outliers": outliers,
            "n_before_outlier_removal": rout.n,
            "rout": {"q": q, "intercept": rout.intercept, "slope": rout.slope, "rsdr": rout.rsdr,
                     **({"note": rout.note} if rout.note else {})},
        }
    doc["correlations"] = correlations

    with_marrow = [r for r in measured if r["mean_suv_max"] is not None and (r["marrow_sites_used"] or 0) > 0]
    groups: dict[str, list[dict]] = {}
    for r in with_marrow:
        groups.setdefault(r["group"] or NOT_GIVEN, []).append(r)
    doc["marrow"] = {
        "groups": {name: {**mean_sem([r["mean_suv_max"] for r in g]), "study_ids": [r["study_id"] for r in g]}
                   for name, g in groups.items()},
        "t_tests": [
            {"a": a, "b": b, **student_t_test([r["mean_suv_max"] for r in groups[a]],
                                              [r["mean_suv_max"] for r in groups[b]])}
            for a, b in combinations(groups, 2)
        ],
        "excluded_no_marrow_sites": [r["study_id"] for r in measured if r not in with_marrow],
        "fewer_than_five_sites": {r["study_id"]: r["marrow_sites_used"] for r in with_marrow
                                  if r["marrow_sites_used"] < 5},
    }
    doc["definitions"] = DEFINITIONS
    return doc
