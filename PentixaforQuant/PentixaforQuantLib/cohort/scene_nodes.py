"""The cohort in a Slicer scene: the cohort table as a table node, the statistics' charts as plot chart nodes.

Works on Slicer's own scene or a headless ``slicer-core`` scene (through ``scene.mrml`` and ``scene.plots``; no Qt).
The charts mirror the figures: SUVmax, TBR and SUVpeak per diagnosis (bars of the mean sorted from the highest, with
the dotted cut-off lines and blood-pool level), specific activity against each metric (points used, ROUT outliers
apart) and meanSUVmax per group.
"""

from __future__ import annotations

from .analysis import LESION_METRICS, METRIC_LABELS, correlation_text, lesion_rows
from .figures import CUTOFFS
from .table import COHORT_COLUMNS, TEXT_COLUMNS

__all__ = ["cohort_table_node", "cohort_plot_charts"]

_RED = (0.84, 0.15, 0.16)
_GREY = (0.25, 0.25, 0.25)
_BLOOD = (0.77, 0.31, 0.32)


def _table(scene, name, rows, columns, text_columns=()):
    """A table node of ``rows``; ``columns`` are (name, unit, description)."""
    from ..scene.mrml import write_rows_table

    node = scene.AddNewNodeByClass("vtkMRMLTableNode", name)
    write_rows_table(node, rows, [c[0] for c in columns], text_columns=frozenset(text_columns),
                     units={c[0]: c[1] for c in columns}, descriptions={c[0]: c[2] for c in columns})
    return node


def cohort_table_node(scene, rows: list[dict], *, name: str = "Cohort", suv_units: str = "{SUVbw}g/ml"):
    """A table node with the cohort rows, one column per cohort column (:data:`~.table.COLUMN_KEYS`), as the
    panel's "Add study to cohort" writes it (so the panel can add to it); units and descriptions on the columns,
    missing numbers NaN, missing texts empty."""
    columns = [(c.key, suv_units if c.unit == "SUV" else c.unit, c.description) for c in COHORT_COLUMNS]
    return _table(scene, name, rows, columns, TEXT_COLUMNS)


def _value(v):
    return v if isinstance(v, (int, float)) else None


def _bar_chart(scene, title, categories, means, ns, y_title, lines):
    """Bars of ``means`` at x = 0..k-1 labelled "name (n = ..)", plus horizontal lines (label, y, colour, style)."""
    from ..scene.plots import PlotSeries, add_plot_chart

    bars = _table(scene, f"{title} (values)",
                  [{"category": f"{c} (n = {n})", "x": float(i), "mean": m, "n": n}
                   for i, (c, m, n) in enumerate(zip(categories, means, ns))],
                  (("category", "", "category and its n"), ("x", "", "bar position"), ("mean", "", "mean value"),
                   ("n", "", "values behind the mean")),
                  ("category",))
    series = [PlotSeries("mean", bars, "x", "mean", kind="bar", label_column="category")]
    if lines:
        ends = (-0.5, len(categories) - 0.5)
        line_rows = [{"x": x, **{f"y{j}": y for j, (_, y, _, _) in enumerate(lines)}} for x in ends]
        line_columns = (("x", "", "line ends"), *((f"y{j}", "", label) for j, (label, _, _, _) in enumerate(lines)))
        line_table = _table(scene, f"{title} (lines)", line_rows, line_columns)
        for j, (label, _, color, style) in enumerate(lines):
            series.append(PlotSeries(label, line_table, "x", f"y{j}", kind="line", color=color, marker="none",
                                     line=style))
    return add_plot_chart(scene, title, series, title=title, y_title=y_title)


def cohort_plot_charts(scene, stats: dict, rows: list[dict]) -> dict:
    """Plot chart nodes of the cohort statistics (``stats`` from :func:`~.analysis.cohort_statistics`).

    Returns name -> chart node: ``suv_max_by_diagnosis``, ``tbr_by_diagnosis``, ``suv_peak_by_diagnosis`` (sorted
    from the highest mean, dotted lines), ``correlation_<metric>`` for
    SUVmax, SUVmean, SUVpeak and TBR, ``marrow_groups`` (charts without data are left out).
    """
    from ..scene.plots import PlotSeries, add_plot_chart

    charts = {}
    if stats["by_diagnosis"]:
        bp = _value(stats["blood_pool_suv_mean"]["mean"])
        for metric in ("suv_max", "tbr", "suv_peak"):
            # as the figures: sorted from the highest mean, diagnoses without a value left out, dotted lines
            means = {d: _value(g[metric]["mean"]) for d, g in stats["by_diagnosis"].items()}
            diagnoses = sorted((d for d in means if means[d] is not None), key=lambda d: -means[d])
            if not diagnoses:
                continue
            lines = [(f"cut-off {c:g}", c, _GREY, "dot") for c in CUTOFFS[metric]]
            level = 1.0 if metric == "tbr" else bp
            if level is not None:
                lines.append(("blood pool", level, _BLOOD, "dot"))
            charts[f"{metric}_by_diagnosis"] = _bar_chart(
                scene, f"{METRIC_LABELS[metric]} by diagnosis", diagnoses, [means[d] for d in diagnoses],
                [stats["by_diagnosis"][d][metric]["n"] for d in diagnoses], f"{METRIC_LABELS[metric]} (mean)", lines)
        measured = lesion_rows(rows)
        for metric in LESION_METRICS:
            c = stats["correlations"][metric]
            outliers = set(c["outliers"])
            points = [r for r in measured if r["specific_activity_mbq_per_ug"] is not None and r[metric] is not None]
            table_rows = [{"study_id": r["study_id"], "specific_activity": r["specific_activity_mbq_per_ug"],
                           "used": None if r["study_id"] in outliers else r[metric],
                           "outlier": r[metric] if r["study_id"] in outliers else None} for r in points]
            table = _table(scene, f"Specific activity vs {METRIC_LABELS[metric]} (values)", table_rows,
                           (("study_id", "", "study"), ("specific_activity", "MBq/ug", "activity / peptide mass"),
                            ("used", "", f"{metric} of the points used"),
                            ("outlier", "", f"{metric} of the ROUT outliers")),
                           ("study_id",))
            title = f"Specific activity vs {METRIC_LABELS[metric]}: {correlation_text(c)}"
            charts[f"correlation_{metric}"] = add_plot_chart(
                scene, f"Specific activity vs {METRIC_LABELS[metric]}",
                [PlotSeries("used", table, "specific_activity", "used", label_column="study_id"),
                 PlotSeries("ROUT outlier", table, "specific_activity", "outlier", color=_RED, marker="cross",
                            label_column="study_id")],
                title=title, x_title="specific activity (MBq/ug)", y_title=METRIC_LABELS[metric])
    groups = stats["marrow"]["groups"]
    if groups:
        names = list(groups)
        charts["marrow_groups"] = _bar_chart(scene, "meanSUVmax by group", names,
                                             [_value(groups[g]["mean"]) for g in names],
                                             [groups[g]["n"] for g in names], "meanSUVmax (mean)", [])
    return charts

