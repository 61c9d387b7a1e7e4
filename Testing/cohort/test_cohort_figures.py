"""The cohort figures as a journal prints them: files (300 dpi PNG, PDF), the panels that have data and no
others, sorted bars with abbreviations, dotted lines, no error bar for n = 1, and no text over other text or
over the colour bar (bounding boxes from the renderer)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="the 'figures' extra (matplotlib) is not installed")

from PentixaforQuantLib.cohort.analysis import cohort_statistics  # noqa: E402
from PentixaforQuantLib.cohort.figures import (  # noqa: E402
    DPI, abbreviations, draw_cohort_figures, write_cohort_figures)
from PentixaforQuantLib.measure.sites import MARROW_SITES  # noqa: E402
from PentixaforQuantLib.outputs.cohort_row import COHORT_COLUMNS  # noqa: E402

DIAGNOSES = ["Multiple myeloma", "Acute myeloid leukemia", "Diffuse large B-cell lymphoma", "Marginal zone lymphoma",
             "Mantle cell lymphoma", "Adrenocortical carcinoma", "Small cell lung cancer",
             "Chronic lymphocytic leukemia", "Waldenstrom macroglobulinemia", "Neuroendocrine tumour",
             "Solitary plasmacytoma", "T-cell lymphoma", "Follicular lymphoma", "Hodgkin lymphoma", "Glioblastoma",
             "Breast cancer", "Sarcoma", "Lymphoplasmacytic lymphoma"]


def _row(study_id, **values):
    row = dict.fromkeys(COHORT_COLUMNS)
    row.update(study_id=study_id, diagnosis="", group="", uptake="yes", warnings="", error="", exclude="")
    row.update(values)
    return row


def _cohort(n_diagnoses: int, patients: int = 55, seed: int = 1):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(patients):
        d = DIAGNOSES[i % n_diagnoses] if i < patients - 1 else "Sarcoma"  # the last diagnosis: n = 1
        smax = float(rng.lognormal(2.3, 0.5))
        bp = float(rng.uniform(1.2, 2.0))
        sites = {s: float(rng.uniform(2, 8)) for s in MARROW_SITES}
        rows.append(_row(f"S{i:03d}", diagnosis=d, group=["AML+", "AML-", "control"][i % 3],
                         uptake="no" if i % 7 == 3 else "yes", activity_mbq=float(rng.uniform(100, 180)),
                         peptide_mass_ug=float(rng.uniform(5, 14)), suv_max=smax, suv_mean=0.6 * smax,
                         suv_peak=0.8 * smax, tbr=smax / bp, blood_pool_suv_mean=bp, **sites,
                         mean_suv_max=float(np.mean(list(sites.values()))), marrow_sites_used=5))
        if rows[-1]["uptake"] == "no":
            rows[-1].update(suv_max=None, suv_mean=None, suv_peak=None, tbr=None, blood_pool_suv_mean=None)
        rows[-1]["specific_activity_mbq_per_ug"] = rows[-1]["activity_mbq"] / rows[-1]["peptide_mass_ug"]
    return rows


def _texts(fig):
    """(text, window bbox) of every text the renderer draws: figure texts, titles, axis labels, annotations,
    legend entries and the tick labels of ticks inside the view."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    candidates = list(fig.texts)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        candidates += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        if ax.get_legend() is not None:
            candidates += ax.get_legend().get_texts()
        if not ax.axison:
            continue
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                if lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    candidates += [t for t in (tick.label1, tick.label2) if t.get_visible()]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in candidates
            if t.get_visible() and t.get_text().strip()], renderer


def _assert_no_text_overlaps(fig, name):
    texts, renderer = _texts(fig)
    width, height = fig.bbox.width, fig.bbox.height
    for label, box in texts:
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, \
            f"{name}: {label!r} outside the figure"
    for (a, box_a), (b, box_b) in itertools.combinations(texts, 2):
        assert not box_a.overlaps(box_b), f"{name}: {a!r} overlaps {b!r}"
    return texts, renderer


@pytest.mark.parametrize("n_diagnoses", [5, 9, 18])
def test_figures_have_no_overlapping_labels_at_print_size(n_diagnoses):
    rows = _cohort(n_diagnoses)
    figures = draw_cohort_figures(cohort_statistics(rows), rows)
    assert set(figures) == {"suv_max_by_diagnosis", "tbr_by_diagnosis", "suv_peak_by_diagnosis", "correlations",
                            "marrow_heatmap", "marrow_groups"}
    for name, fig in figures.items():
        assert fig.get_figwidth() <= 7.2 + 1e-9  # a double column at most
        texts, renderer = _assert_no_text_overlaps(fig, name)
        if name == "marrow_heatmap":
            bar_axes = fig.axes[-1].get_window_extent(renderer)
            for label, box in texts:
                assert not box.overlaps(bar_axes) or label.replace(".", "").replace("−", "").strip().isdigit() \
                    or label == "SUVmax", f"colour bar over {label!r}"
        matplotlib.pyplot.close(fig)


def test_bars_are_sorted_abbreviated_dotted_and_n1_has_no_error_bar():
    rows = _cohort(9)
    stats = cohort_statistics(rows)
    fig = draw_cohort_figures(stats, rows)["suv_max_by_diagnosis"]
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == sorted(heights, reverse=True)
    labels = [t.get_text().split("\n") for t in ax.get_xticklabels()]
    short = abbreviations(stats["by_diagnosis"])
    assert {label for label, _ in labels} == set(short.values())
    assert "MM" in short.values() and "DLBCL" in short.values() and "AML" in short.values()
    assert {int(n) for _, n in labels} == {g["suv_max"]["n"] for g in stats["by_diagnosis"].values()}
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "DLBCL, Diffuse large B-cell lymphoma" in caption
    lines = [ln for ln in ax.get_lines() if ln.get_label().startswith(("cut", "blood"))]
    blood = f"blood pool SUVmean {stats['blood_pool_suv_mean']['mean']:.2f}"
    assert sorted(ln.get_label() for ln in lines) == [blood, "cut-off 12", "cut-off 6"]
    assert all(ln.get_linestyle() == ":" for ln in lines) and len(lines) == 3
    # one error bar per bar with n >= 2: Sarcoma has a single scan
    assert stats["by_diagnosis"]["Sarcoma"]["suv_max"]["n"] == 1
    segments = [c for c in ax.collections if isinstance(c, matplotlib.collections.LineCollection)]
    n_multi = sum(g["suv_max"]["n"] >= 2 for g in stats["by_diagnosis"].values())
    assert sum(len(c.get_segments()) for c in segments) == n_multi
    matplotlib.pyplot.close(fig)


def test_a_marrow_only_cohort_draws_the_marrow_figures_and_no_empty_panel(tmp_path):
    rng = np.random.default_rng(3)
    rows = [_row(f"M{i}", group=["AML+", "AML-", "control"][i % 3], uptake="",
                 **{s: float(rng.uniform(2, 8)) for s in MARROW_SITES}) for i in range(15)]
    for r in rows:
        r["mean_suv_max"] = float(np.mean([r[s] for s in MARROW_SITES]))
        r["marrow_sites_used"] = 5
    stats = cohort_statistics(rows)
    written = write_cohort_figures(stats, rows, tmp_path)
    assert set(written) == {"marrow_heatmap", "marrow_groups"}
    from PIL import Image

    for paths in written.values():
        png, pdf = paths
        with Image.open(png) as image:
            assert image.info["dpi"] == pytest.approx((DPI, DPI), abs=0.01)
            assert image.width >= 3.5 * DPI - 1
        assert pdf.suffix == ".pdf" and pdf.read_bytes().startswith(b"%PDF")
    figures = draw_cohort_figures(stats, rows)
    for name, fig in figures.items():
        for ax in fig.axes:
            assert ax.has_data() or not ax.axison or ax is fig.axes[-1], f"{name}: an empty panel"
        _assert_no_text_overlaps(fig, name)
        matplotlib.pyplot.close(fig)


def test_correlation_panels_only_for_metrics_with_values():
    rows = _cohort(4)
    for r in rows:
        r["suv_peak"] = None
        r["tbr"] = None
    stats = cohort_statistics(rows)
    fig = draw_cohort_figures(stats, rows)["correlations"]
    assert len(fig.axes) == 2 and all(ax.has_data() for ax in fig.axes)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert all("after ROUT" in t and "all points" in t and "95 % CI" in t for t in titles)
    matplotlib.pyplot.close(fig)


def test_abbreviations_are_unique_and_short():
    names = ["Multiple myeloma", "Mantle mass", "Glioblastoma", "AML", "Marginal Myeloma"]
    short = abbreviations(names)
    assert short["Multiple myeloma"] == "MM" and short["AML"] == "AML" and short["Glioblastoma"] == "Glio."
    assert len(set(short.values())) == len(names) and all(len(v) <= 7 for v in short.values())
