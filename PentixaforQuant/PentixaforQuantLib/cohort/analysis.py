"""``stats.json``: the statistics of the two source studies computed from a cohort table.

Which scans enter which statistic (Buck et al., J Nucl Med 2022; Herhaus et al., Haematologica 2016):

- ``scans`` counts every row; ``no_uptake`` the rows with ``uptake = no`` (counted, left out of the lesion
  statistics).
- The lesion statistics (``by_diagnosis``, ``overall``, ``correlations``) use the scans with uptake (``yes`` or not
  recorded) that were measured; a study that could not be measured at all is listed under ``failed`` and used
  nowhere else (a study with some sites unmeasured keeps its other numbers).
- ``specific_activity``, ``activity_mbq`` and ``peptide_mass_ug`` summarise every scan that has the value.
- ``correlations``: Spearman's rho of specific activity (MBq/µg) against each metric after ROUT outlier removal
  (Q = 1 %) of the straight-line fit of the metric on specific activity, and beside it rho over all points.
- ``marrow``: meanSUVmax per ``group``, over the measured scans with at least one marrow site, whatever their
  ``uptake`` (which is about the target lesion); scans without any are listed under ``excluded_no_marrow_sites``;
  Student's t-tests of the chosen comparisons (default: each group against the first). A scan without a group is
  in no group (listed under ``no_group``) unless the caller names a group for them.
- ``exclude`` (optional column): a study with a reason is left out of every statistic (``REASON``) or of one
  analysis (``marrow: REASON``, ``lesion: REASON``), and listed under ``excluded`` with the reason. It is still
  counted in ``scans``.
"""

from __future__ import annotations

from .. import __version__
from ..errors import ParameterError
from ..measure.protocol import METRIC_LABELS
from ..measure.sites import MARROW_SITES
from .rout import rout_line
from .statistics import mean_sd, mean_sem, median_range, spearman, student_t_test, too_few
from .table import EXCLUDE_COLUMN

__all__ = ["LESION_METRICS", "METRIC_LABELS", "cohort_statistics", "measured_rows", "lesion_rows", "marrow_rows",
           "failed", "exclusion", "correlation_text", "format_p", "NOT_GIVEN", "EXCLUSION_SCOPES", "ROUT_Q_RANGE",
           "parse_comparison"]

LESION_METRICS = ("suv_max", "suv_mean", "suv_peak", "tbr")
NOT_GIVEN = "(not given)"
ROUT_Q = 0.01
#: ROUT's Q (a false discovery rate, as a fraction): above 0 (Q = 0 would flag nothing; the correlation over all
#: points is reported beside the ROUT one anyway) and at most 10 %, the largest Q GraphPad suggests (Motulsky &
#: Brown 2006 tested 0.1-10 %).
ROUT_Q_RANGE = (0.0, 0.10)
#: What an ``exclude`` cell can leave a study out of: ``all`` (no prefix), or one analysis.
EXCLUSION_SCOPES = ("all", "lesion", "marrow")

DEFINITIONS = {
    "mean_sd": "arithmetic mean and sample standard deviation (n - 1) over the scans with a value",
    "mean_sem": "mean and standard error of the mean, SD (n - 1) / sqrt(n)",
    "median_range": "median, minimum and maximum over the scans with a value",
    "specific_activity": "activity_mbq / peptide_mass_ug (MBq/ug), per scan",
    "spearman": "Spearman's rank correlation (ties share mean ranks); P two-sided: exact (share of all n! "
                "pairings at least as extreme) for n <= 17 as GraphPad Prism, else from Student's t with n - 2 "
                "degrees of freedom; 95 % CI by Fisher's z with variance 1.06/(n - 3) (Fieller et al. 1957), "
                "for n >= 11",
    "ci95": "95 % confidence interval: of a mean, mean -+ t(0.975, n - 1) SD/sqrt(n); of a difference of means, "
            "difference -+ t(0.975, df) s_pooled sqrt(1/n_a + 1/n_b)",
    "rout": "ROUT (Motulsky & Brown, BMC Bioinformatics 2006;7:123): robust straight-line fit of the metric on "
            "specific activity with a Lorentzian merit function and adaptive RSDR scale, RSDR = P68.27(|residual|) "
            "x N/(N-2), outliers by a Benjamini-Hochberg false discovery rate test at Q on t = |residual|/RSDR "
            "(Student's t, N-2 degrees of freedom); removed before the Spearman correlation",
    "t_test": "Student's unpaired two-sided t-test with pooled variance (df = n_a + n_b - 2), for the chosen "
              "comparisons only (default: each group against the first)",
    "exclude": "a study with a reason in the exclude column is left out of every statistic ('REASON') or of one "
               "analysis ('marrow: REASON', 'lesion: REASON') and listed with the reason; it is still counted",
    "too_few": "a statistic that cannot be computed from the values given is the text 'too few values (n = ..., "
               "needs >= ...)' instead of a number",
}


def failed(row) -> bool:
    """A study that could not be measured at all: an ``error`` and no measurement (a study with some sites that
    could not be measured also names them in ``error``, but keeps its other numbers)."""
    return bool(row.get("error")) and all(row.get(k) is None for k in ("suv_max", "blood_pool_suv_mean",
                                                                         "mean_suv_max"))


def exclusion(row) -> tuple[str, str] | None:
    """(scope, reason) of a row's ``exclude`` cell, None when it is empty. ``marrow: REASON`` and
    ``lesion: REASON`` leave the study out of that analysis; any other text out of every statistic."""
    text = (row.get(EXCLUDE_COLUMN) or "").strip()
    if not text:
        return None
    scope, sep, reason = text.partition(":")
    if sep and scope.strip().lower() in EXCLUSION_SCOPES:
        return scope.strip().lower(), reason.strip() or "no reason given"
    return "all", text


def _excluded_from(row, analysis: str) -> bool:
    ex = exclusion(row)
    return ex is not None and ex[0] in ("all", analysis)


def measured_rows(rows) -> list[dict]:
    """The scans with uptake (``yes``, or not recorded) that were measured."""
    return [r for r in rows if r["uptake"] != "no" and not failed(r)]


def lesion_rows(rows) -> list[dict]:
    """The rows of the lesion statistics: measured scans with uptake, not excluded from them."""
    return [r for r in measured_rows(rows) if not _excluded_from(r, "lesion")]


def marrow_rows(rows) -> list[dict]:
    """The rows of the marrow analysis: a meanSUVmax from at least one site, not excluded from it; ``uptake``
    does not matter (it is about the target lesion: a visually negative patient still has marrow values)."""
    return [r for r in rows if not failed(r) and not _excluded_from(r, "marrow") and r["mean_suv_max"] is not None
            and (r["marrow_sites_used"] is None or r["marrow_sites_used"] > 0)]


def format_p(p) -> str:
    """A P value as a paper prints it: ``P = 0.0279``, ``P < 0.0001`` (never ``P = 0``); a text stays a text."""
    if not isinstance(p, (int, float)):
        return f"P: {p}"
    if p < 1e-4:
        return "P < 0.0001"
    return f"P = {p:.2g}" if p < 0.001 else f"P = {p:.3g}" if p < 0.01 else f"P = {p:.3f}"


def correlation_text(correlation: dict) -> str:
    """``"rho 0.512, P = 0.0123, n 14"`` of one entry of ``correlations`` (a statistic that could not be
    computed shows its reason)."""
    rho = correlation["rho"]
    rho = f"{rho:.3f}" if isinstance(rho, float) else rho
    return f"rho {rho}, {format_p(correlation['p'])}, n {correlation['n']}"


def parse_comparison(text: str) -> tuple[str, str]:
    """``"AML+ vs control"`` -> ("AML+", "control")."""
    a, sep, b = str(text).partition(" vs ")
    if not sep or not a.strip() or not b.strip():
        raise ParameterError(f"--compare {text!r}: write two groups as 'GROUP vs GROUP'")
    if a.strip() == b.strip():
        raise ParameterError(f"--compare {text!r}: a group cannot be compared with itself")
    return a.strip(), b.strip()


def _metric_summaries(rows) -> dict:
    out = {"n": len(rows)}
    for metric in LESION_METRICS:
        out[metric] = mean_sd([r[metric] for r in rows])
    return out


def _correlation(rows, metric, q) -> dict:
    x = [r["specific_activity_mbq_per_ug"] for r in rows]
    y = [r[metric] for r in rows]
    rout = rout_line(x, y, q)
    outliers = [r["study_id"] for r, flagged in zip(rows, rout.outliers) if flagged]
    kept = [(xi, yi) for xi, yi, flagged in zip(x, y, rout.outliers) if not flagged]
    result = spearman([k[0] for k in kept], [k[1] for k in kept])
    everything = spearman(x, y)
    return {
        "rho": result["rho"], "p": result["p"], "p_method": result["p_method"], "ci95": result["ci95"],
        "n": result["n"], "outliers": outliers, "n_before_outlier_removal": rout.n,
        "rout": {"q": q, "intercept": rout.intercept, "slope": rout.slope, "rsdr": rout.rsdr,
                 **({"note": rout.note} if rout.note else {})},
        "without_outlier_removal": everything,
    }


def _comparisons(groups: list[str], chosen) -> list[tuple[str, str]]:
    if chosen is None:
        return [(groups[0], g) for g in groups[1:]]
    unknown = sorted({g for pair in chosen for g in pair if g not in groups})
    if unknown:
        raise ParameterError(f"--compare: no group {', '.join(map(repr, unknown))} among the marrow groups "
                             f"({', '.join(map(repr, groups)) or 'none'})")
    return list(dict.fromkeys(tuple(pair) for pair in chosen))


def _not_computed(columns) -> dict:
    """Statistics whose columns the table lacks -> why they are not computed."""
    if columns is None:
        return {}
    have = set(columns)
    needs = {
        "by_diagnosis": ("diagnosis",), "blood_pool_suv_mean": ("blood_pool_suv_mean",),
        **{f"correlations.{m}": ("specific_activity_mbq_per_ug", m) for m in LESION_METRICS},
        **{f"overall.{m}": (m,) for m in LESION_METRICS},
        "marrow": ("mean_suv_max",) if not have & set(MARROW_SITES) else (),
        "marrow.groups": ("group",),
        "no_uptake": ("uptake",),
    }
    out = {}
    for name, columns_needed in needs.items():
        lacking = [c for c in columns_needed if c not in have]
        if lacking:
            out[name] = f"not computed: the table has no column {', '.join(map(repr, lacking))}"
    return out


def cohort_statistics(rows: list[dict], *, q: float = ROUT_Q, source: dict | None = None, columns=None,
                      comparisons=None, missing_group: str | None = None, input_warnings=()) -> dict:
    """Everything ``stats.json`` holds, from cohort rows (:func:`~.table.read_cohort_table`); see the module text.

    Parameters
    ----------
    q : float
        ROUT's false discovery rate (a fraction, within :data:`ROUT_Q_RANGE`).
    columns : sequence of str or None
        The cohort columns the table has (None = all); statistics needing a missing one are listed under
        ``not_computed``.
    comparisons : list of (group, group) or None
        The marrow t-tests; None = each group against the first (in table order).
    missing_group : str or None
        The group of the scans with an empty ``group``; None = they are in no group (listed under ``no_group``).
    input_warnings : sequence of str
        The table reader's warnings, carried into ``stats.json``.
    """
    lo, hi = ROUT_Q_RANGE
    if not (isinstance(q, (int, float)) and lo < q <= hi):
        raise ParameterError(f"ROUT Q {q!r}: must be above {100 * lo:g} % and at most {100 * hi:g} %")
    if missing_group is not None and not str(missing_group).strip():
        raise ParameterError("--missing-group: give the name of the group for scans without a group")
    scans = len(rows)
    no_uptake = sum(r["uptake"] == "no" for r in rows)
    measured = lesion_rows(rows)
    doc: dict = {"pentixaforquant_version": __version__}
    if source:
        doc["source"] = source
    doc["warnings"] = list(input_warnings)
    doc["not_computed"] = _not_computed(columns)
    doc["scans"] = scans
    doc["no_uptake"] = no_uptake
    doc["no_uptake_fraction"] = no_uptake / scans if scans else too_few(0, 1)
    doc["with_uptake_measured"] = len(measured_rows(rows))
    doc["failed"] = [r["study_id"] for r in rows if failed(r)]
    doc["excluded"] = [{"study_id": r["study_id"], "from": ex[0], "reason": ex[1]}
                       for r in rows if (ex := exclusion(r)) is not None]

    diagnoses: dict[str, list[dict]] = {}
    for r in measured:
        diagnoses.setdefault(r["diagnosis"] or NOT_GIVEN, []).append(r)
    doc["by_diagnosis"] = {name: _metric_summaries(group) for name, group in diagnoses.items()}
    doc["overall"] = _metric_summaries(measured)
    doc["overall"]["highest_suv_max"] = median_range([r["suv_max"] for r in measured])["max"]
    doc["blood_pool_suv_mean"] = mean_sd([r["blood_pool_suv_mean"] for r in measured])

    included = [r for r in rows if not _excluded_from(r, "all")]
    doc["specific_activity"] = median_range([r["specific_activity_mbq_per_ug"] for r in included])
    doc["activity_mbq"] = median_range([r["activity_mbq"] for r in included])
    doc["peptide_mass_ug"] = median_range([r["peptide_mass_ug"] for r in included])

    doc["correlations"] = {metric: _correlation(measured, metric, q) for metric in LESION_METRICS}

    with_marrow = marrow_rows(rows)
    groups: dict[str, list[dict]] = {}
    no_group = []
    for r in with_marrow:
        name = r["group"] or missing_group
        if name is None:
            no_group.append(r["study_id"])
        else:
            groups.setdefault(name, []).append(r)
    pairs = _comparisons(list(groups), comparisons)
    doc["marrow"] = {
        "groups": {name: {**mean_sem([r["mean_suv_max"] for r in g]), "study_ids": [r["study_id"] for r in g]}
                   for name, g in groups.items()},
        "comparisons": [f"{a} vs {b}" for a, b in pairs],
        "t_tests": [
            {"a": a, "b": b, **student_t_test([r["mean_suv_max"] for r in groups[a]],
                                              [r["mean_suv_max"] for r in groups[b]])}
            for a, b in pairs
        ],
        "no_group": no_group,
        "missing_group": missing_group,
        "excluded_no_marrow_sites": [r["study_id"] for r in measured if r not in with_marrow
                                     and not _excluded_from(r, "marrow")],
        "fewer_than_five_sites": {r["study_id"]: r["marrow_sites_used"] for r in with_marrow
                                  if r["marrow_sites_used"] is not None and r["marrow_sites_used"] < 5},
    }
    doc["definitions"] = DEFINITIONS
    return doc
