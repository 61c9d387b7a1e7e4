"""The cohort in a real MRML scene (slicer-core): the table node and the plot chart nodes."""

from __future__ import annotations

import math

import pytest

from PentixaforQuantLib.cohort.analysis import cohort_statistics
from PentixaforQuantLib.cohort.scene_nodes import cohort_plot_charts, cohort_table_node
from PentixaforQuantLib.cohort.table import COLUMN_KEYS, read_cohort_csv


def _column(table, name):
    return [table.GetTable().GetColumnByName(name).GetValue(r) for r in range(table.GetNumberOfRows())]


def test_cohort_table_node_holds_the_cohort_columns_and_values(headless, cohort_run):
    rows = read_cohort_csv(cohort_run[1] / "cohort.csv")
    table = cohort_table_node(headless.scene, rows)
    assert [table.GetColumnName(c) for c in range(table.GetNumberOfColumns())] == list(COLUMN_KEYS)
    assert table.GetNumberOfRows() == len(rows)
    assert _column(table, "study_id") == [r["study_id"] for r in rows]
    suv_max = _column(table, "suv_max")
    for value, row in zip(suv_max, rows):
        assert (math.isnan(value) and row["suv_max"] is None) or value == pytest.approx(row["suv_max"])
    assert table.GetColumnUnitLabel("suv_max") == "{SUVbw}g/ml" and table.GetColumnUnitLabel("volume_ml") == "mL"
    assert "not DICOM" in _column(table, "error")[-1]


def test_cohort_charts_are_plot_chart_nodes_over_table_nodes(headless, cohort_run):
    rows = read_cohort_csv(cohort_run[1] / "cohort.csv")
    stats = cohort_statistics(rows)
    charts = cohort_plot_charts(headless.scene, stats, rows)
    assert set(charts) == {"suv_max_by_diagnosis", "tbr_by_diagnosis", "suv_peak_by_diagnosis", "correlation_suv_max",
                           "correlation_suv_mean",
                           "correlation_suv_peak", "correlation_tbr", "marrow_groups"}
    bar = charts["suv_max_by_diagnosis"]
    assert bar.IsA("vtkMRMLPlotChartNode") and bar.GetNumberOfPlotSeriesNodes() == 4  # bars, 2 cut-offs, blood pool
    bars = headless.scene.GetNodeByID(bar.GetNthPlotSeriesNodeID(0))
    assert bars.GetPlotType() == bars.PlotTypeBar
    values = bars.GetTableNode()
    means = _column(values, "mean")
    expected = sorted((g["suv_max"]["mean"], d, g["suv_max"]["n"]) for d, g in stats["by_diagnosis"].items())[::-1]
    assert means == pytest.approx([m for m, _, _ in expected])  # sorted from the highest mean, as the figure
    assert _column(values, "category") == [f"{d} (n = {n})" for _, d, n in expected]
    cutoff = headless.scene.GetNodeByID(bar.GetNthPlotSeriesNodeID(1))
    assert _column(cutoff.GetTableNode(), cutoff.GetYColumnName()) == [6.0, 6.0]
    assert cutoff.GetName().endswith("cut-off 6") and cutoff.GetLineStyle() == cutoff.LineStyleDot
    scatter = charts["correlation_suv_max"]
    used = headless.scene.GetNodeByID(scatter.GetNthPlotSeriesNodeID(0))
    assert used.GetXColumnName() == "specific_activity" and used.GetTableNode().GetNumberOfRows() == 6
    assert "rho" in scatter.GetTitle() and "n 6" in scatter.GetTitle()


def test_the_cohort_table_node_is_the_panels_layout_and_saves_as_a_readable_csv(headless, cohort_run, tmp_path):
    from PentixaforQuantLib.outputs.cohort_row import COHORT_TEXT_COLUMNS
    from PentixaforQuantLib.scene.mrml import read_rows_table, save_node

    rows = read_cohort_csv(cohort_run[1] / "cohort.csv")
    table = cohort_table_node(headless.scene, rows)
    back = read_rows_table(table, text_columns=COHORT_TEXT_COLUMNS)  # what the panel reads before adding a row
    for got, want in zip(back, rows):
        assert got["study_id"] == want["study_id"] and got["error"] == want["error"]
        assert got["suv_max"] == (None if want["suv_max"] is None else pytest.approx(want["suv_max"]))
    saved = save_node(table, tmp_path / "cohort.csv")  # Slicer's table storage: CSV with the column names
    again = read_cohort_csv(saved)
    assert [r["study_id"] for r in again] == [r["study_id"] for r in rows]
    for a, b in zip(again, rows):
        # Slicer writes table numbers with 6 significant digits
        assert a["mean_suv_max"] == (None if b["mean_suv_max"] is None else pytest.approx(b["mean_suv_max"], rel=1e-5))
        assert a["uptake"] == b["uptake"] and a["marrow_sites_used"] == b["marrow_sites_used"]
