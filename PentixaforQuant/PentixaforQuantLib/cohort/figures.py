"""The cohort figures, drawn like the papers' and sized for print (matplotlib, Agg; the optional ``figures`` extra).

Each figure is written as a 300 dpi PNG and a PDF (vector), at a journal's column widths (single column 3.5 in =
89 mm, double column 7.2 in = 183 mm), with text of 6.5-8 pt at that size:

- ``suv_max_by_diagnosis``, ``tbr_by_diagnosis``, ``suv_peak_by_diagnosis`` (Buck et al. 2022, Fig. 2-3 and
  Supplemental Fig. 1): mean ± SD per diagnosis, sorted from the highest mean, abbreviated labels with a legend of
  the abbreviations, n under each bar (no error bar for n = 1), dotted cut-off lines (SUVmax 6 and 12, TBR 4 and
  8) and the dotted blood-pool level (mean blood-pool SUVmean on the SUV charts, TBR = 1 on the TBR chart);
- ``correlations``: specific activity against each metric that has values (one panel each), ROUT outliers as red
  crosses; rho (95 % CI), P and n after ROUT, and over all points, in each panel;
- ``marrow_heatmap`` (Herhaus et al. 2016, Fig. 2): patients x the five sites in the paper's order, grouped, the
  group names and the colour bar in their own columns beside the map;
- ``marrow_groups``: meanSUVmax per group, mean ± SEM with the points, the P values of the chosen comparisons.

A figure without data is not drawn (a marrow-only cohort has no lesion figures), and a panel without data is not
drawn. Excluded studies are named under the figure they are left out of.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from ..errors import PentixaforQuantError
from ..measure.sites import MARROW_SITES_PAPER_ORDER, SITE_TITLES
from ..outputs.atomic import write_file_atomically
from .analysis import LESION_METRICS, METRIC_LABELS, format_p, lesion_rows

__all__ = ["write_cohort_figures", "draw_cohort_figures", "abbreviations", "CUTOFFS", "DPI", "FORMATS"]

#: Cut-off lines of Buck et al. 2022.
CUTOFFS = {"suv_max": (6.0, 12.0), "tbr": (4.0, 8.0), "suv_peak": ()}
#: Resolution of the PNG files (journals ask for 300 dpi or more for colour figures).
DPI = 300
#: The files of each figure: a raster and a vector format.
FORMATS = ("png", "pdf")
SINGLE_COLUMN_IN = 3.5
DOUBLE_COLUMN_IN = 7.2
_BAR = "#4c72b0"
_OUTLIER = "#d62728"
_BLOOD = "#c44e52"
_STYLE = {"font.size": 7.5, "axes.titlesize": 8, "axes.labelsize": 7.5, "xtick.labelsize": 7, "ytick.labelsize": 7,
          "legend.fontsize": 6.5, "pdf.fonttype": 42, "svg.fonttype": "none"}


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise PentixaforQuantError("the cohort figures need matplotlib: pip install 'pentixaforquant[figures]'") from None
    return plt


def _number(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


#: Abbreviations a reader of the haematology and oncology literature expects (used before the initials rule).
KNOWN_ABBREVIATIONS = {
    "multiple myeloma": "MM", "acute myeloid leukemia": "AML", "acute myeloid leukaemia": "AML",
    "chronic lymphocytic leukemia": "CLL", "chronic lymphocytic leukaemia": "CLL",
    "diffuse large b-cell lymphoma": "DLBCL", "mantle cell lymphoma": "MCL", "marginal zone lymphoma": "MZL",
    "follicular lymphoma": "FL", "hodgkin lymphoma": "HL", "non-hodgkin lymphoma": "NHL",
    "small cell lung cancer": "SCLC", "non-small cell lung cancer": "NSCLC", "neuroendocrine tumor": "NET",
    "neuroendocrine tumour": "NET", "adrenocortical carcinoma": "ACC", "primary aldosteronism": "PA",
}


def abbreviations(names, max_length: int = 7) -> dict[str, str]:
    """Short labels for the bars: a name of at most ``max_length`` characters without spaces stays; a known name
    gets its usual abbreviation; a longer single word its first four letters and a full stop (``"Gliob."``
    would be five: ``"Glio."``); any other the initials of its words (``"Waldenstrom macroglobulinemia"`` ->
    ``"WM"``). Labels are unique (a clash gets a number)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        text = " ".join(str(name).split())
        if len(text) <= max_length and " " not in text:
            short = text
        elif text.casefold() in KNOWN_ABBREVIATIONS:
            short = KNOWN_ABBREVIATIONS[text.casefold()]
        else:
            words = [w for w in re.split(r"[\s\-/]+", text) if w]
            if len(words) == 1:
                short = text[:4] + "."
            else:
                short = "".join(w if w.isdigit() else w[0].upper() for w in words)[:max_length]
        base, k = short, 2
        while short in used:
            short, k = f"{base}{k}", k + 1
        used.add(short)
        out[name] = short
    return out


def _save(plt, fig, stem: Path) -> list[Path]:
    """Write ``stem.png`` (300 dpi) and ``stem.pdf``, each whole or not at all."""
    paths = []
    for fmt in FORMATS:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=DPI)
        paths.append(write_file_atomically(stem.with_suffix(f".{fmt}"), buf.getvalue()))
    plt.close(fig)
    return paths


def _excluded_note(stats, analysis: str) -> str:
    left = [f"{e['study_id']} ({e['reason']})" for e in stats["excluded"] if e["from"] in ("all", analysis)]
    return f"Excluded: {'; '.join(left)}" if left else ""


def _bars_by_diagnosis(plt, stats, metric, blood_pool_level, blood_pool_label):
    groups = stats["by_diagnosis"]
    entries = [(name, _number(g[metric]["mean"]), _number(g[metric]["sd"]), g[metric]["n"])
               for name, g in groups.items()]
    shown = sorted([e for e in entries if e[1] is not None], key=lambda e: -e[1])
    if not shown:
        return None
    missing = [e[0] for e in entries if e[1] is None]
    short = abbreviations([e[0] for e in shown])
    n_bars = len(shown)
    fig, ax = plt.subplots(figsize=(DOUBLE_COLUMN_IN if n_bars > 6 else SINGLE_COLUMN_IN + 1.3, 3.4))
    x = np.arange(n_bars)
    ax.bar(x, [e[1] for e in shown], color=_BAR, width=0.65, zorder=2)
    with_sd = [(xi, e[1], e[2]) for xi, e in zip(x, shown) if e[3] >= 2 and e[2] is not None]
    if with_sd:  # an SD needs two values: a bar of one scan has no error bar
        xs, ms, sds = zip(*with_sd)
        ax.errorbar(xs, ms, yerr=[np.zeros(len(sds)), sds], fmt="none", ecolor="0.15", elinewidth=0.8, capsize=2.5,
                    capthick=0.8, zorder=3)
    rotate = n_bars > 14  # about 0.45 in per label at double-column width: beyond, labels stand upright
    ax.set_xticks(x, [f"{short[e[0]]} ({e[3]})" if rotate else f"{short[e[0]]}\n{e[3]}" for e in shown],
                  rotation=90 if rotate else 0)
    ax.set_xlabel("diagnosis (n)" if rotate else "diagnosis, n under each bar")
    for level in CUTOFFS[metric]:
        ax.axhline(level, color="0.2", linestyle=":", linewidth=0.9, zorder=1, label=f"cut-off {level:g}")
    if blood_pool_level is not None:
        ax.axhline(blood_pool_level, color=_BLOOD, linestyle=":", linewidth=1.1, zorder=1,
                   label=blood_pool_label)
    ax.set_xlim(-0.6, n_bars - 0.4)
    ax.set_ylim(0, None)
    ax.set_ylabel(f"{METRIC_LABELS[metric]} (mean ± SD)")
    ax.spines[["top", "right"]].set_visible(False)
    handles, labels = ax.get_legend_handles_labels()
    if handles:  # in a row between the title and the plot: never over a bar
        ax.legend(handles, labels, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles),
                  borderaxespad=0.2)
    abbreviated = [f"{short[e[0]]}, {e[0]}" for e in shown if short[e[0]] != e[0]]
    notes = []
    if abbreviated:
        notes.append("; ".join(abbreviated) + ".")
    if missing:
        notes.append(f"No {METRIC_LABELS[metric]} values: {', '.join(missing)}.")
    excluded = _excluded_note(stats, "lesion")
    if excluded:
        notes.append(excluded + ".")
    ax.set_title(f"{METRIC_LABELS[metric]} of the target lesion by diagnosis "
                 f"({stats['overall'][metric]['n']} scans with uptake)", pad=16 if handles else 6)
    _caption(fig, ax, notes)
    return fig


def _caption(fig, ax, notes, *, margins_in=None) -> None:
    """Notes (abbreviations, exclusions) wrapped under the axes, the axes shrunk to leave them room.

    ``margins_in`` (left, right, top, bottom in inches) places the axes grid by hand instead of ``tight_layout``
    (the heat map, whose colour-bar axes ``tight_layout`` cannot place).
    """
    import textwrap

    text, height_in = "", 0.0
    if notes:
        width_chars = int(fig.get_figwidth() * 72 / (6.5 * 0.62))  # 6.5 pt sans-serif: about 0.55 em a character
        text = "\n".join(textwrap.fill(n, width_chars) for n in notes)
        height_in = ((text.count("\n") + 1) * 6.5 * 1.25 + 6) / 72
        fig.set_figheight(fig.get_figheight() + height_in)
    width, height = fig.get_figwidth(), fig.get_figheight()
    if margins_in is None:
        fig.tight_layout(rect=(0, height_in / height, 1, 1))
    else:
        left, right, top, bottom = margins_in
        fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                            bottom=(bottom + height_in) / height)
    if text:
        fig.text(0.01, 0.005, text, ha="left", va="bottom", fontsize=6.5, color="0.2")


def _ci_text(ci) -> str:
    return f" (95 % CI {ci[0]:.2f} to {ci[1]:.2f})" if isinstance(ci, list) else ""


def _rho_line(c) -> str:
    rho = c["rho"]
    if not isinstance(rho, float):
        return f"rho: {rho}"
    return f"ρ = {rho:.3f}{_ci_text(c['ci95'])}, {format_p(c['p'])}, n = {c['n']}"


def _correlations(plt, stats, rows):
    measured = lesion_rows(rows)
    panels = []
    for metric in LESION_METRICS:
        pts = [(r["specific_activity_mbq_per_ug"], r[metric], r["study_id"]) for r in measured
               if r["specific_activity_mbq_per_ug"] is not None and r[metric] is not None]
        if pts:
            panels.append((metric, pts))
    if not panels:
        return None
    cols = 1 if len(panels) == 1 else 2
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(SINGLE_COLUMN_IN if cols == 1 else DOUBLE_COLUMN_IN,
                                                     2.9 * nrows + 0.2), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.remove()  # no empty panel
    for ax, (metric, pts) in zip(axes.ravel(), panels):
        c = stats["correlations"][metric]
        outliers = set(c["outliers"])
        kept = np.array([(a, b) for a, b, s in pts if s not in outliers]).reshape(-1, 2)
        out = np.array([(a, b) for a, b, s in pts if s in outliers]).reshape(-1, 2)
        ax.scatter(kept[:, 0], kept[:, 1], s=9, color=_BAR, alpha=0.85, linewidths=0, label="used")
        if len(out):
            ax.scatter(out[:, 0], out[:, 1], s=22, marker="x", color=_OUTLIER, linewidths=1.2,
                       label=f"ROUT outlier (Q = {100 * c['rout']['q']:g} %)")
            ax.legend(frameon=False, loc="best")
        ax.set_title(f"{METRIC_LABELS[metric]}\nafter ROUT: {_rho_line(c)}\n"
                     f"all points: {_rho_line(c['without_outlier_removal'])}", fontsize=6.5, loc="left")
        ax.set_xlabel("specific activity (MBq/µg)")
        ax.set_ylabel(METRIC_LABELS[metric])
        ax.spines[["top", "right"]].set_visible(False)
    notes = [n + "." for n in (_excluded_note(stats, "lesion"),) if n]
    _caption(fig, axes.ravel()[0], notes)
    return fig


def _heatmap(plt, stats, rows):
    groups = stats["marrow"]["groups"]
    by_id = {r["study_id"]: r for r in rows}
    order = [(g, sid) for g, info in groups.items() for sid in info["study_ids"]]
    data = np.array([[np.nan if by_id[sid][s] is None else by_id[sid][s] for s in MARROW_SITES_PAPER_ORDER]
                     for _, sid in order], dtype=float).reshape(-1, len(MARROW_SITES_PAPER_ORDER))
    label_rows = len(order) <= 60
    height = min(9.0, max(2.6, 0.14 * len(order) + 1.5))
    fig = plt.figure(figsize=(SINGLE_COLUMN_IN + 0.9, height))
    grid = fig.add_gridspec(1, 3, width_ratios=(5.0, 1.6, 0.22), wspace=0.06)
    ax, label_ax, bar_ax = fig.add_subplot(grid[0]), fig.add_subplot(grid[1]), fig.add_subplot(grid[2])
    cmap = plt.get_cmap("inferno").with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(data), aspect="auto", cmap=cmap, interpolation="nearest")
    ax.set_xticks(range(len(MARROW_SITES_PAPER_ORDER)),
                  [SITE_TITLES[s].replace("Marrow ", "").replace(" ilium", "\nilium")
                   for s in MARROW_SITES_PAPER_ORDER], fontsize=6.5)
    if label_rows:
        ax.set_yticks(range(len(order)), [sid for _, sid in order], fontsize=6 if len(order) > 30 else 6.5)
    else:
        ax.set_yticks([])
    label_ax.set_ylim(ax.get_ylim())
    label_ax.set_xlim(0.0, 1.0)
    label_ax.axis("off")
    start = 0
    for name, info in groups.items():
        n = len(info["study_ids"])
        if start:
            ax.axhline(start - 0.5, color="white", linewidth=2.0)
        label_ax.plot([0.05, 0.05], [start - 0.35, start + n - 0.65], color="0.3", linewidth=0.8)
        label_ax.text(0.12, start + (n - 1) / 2, f"{name}\nn = {n}", va="center", ha="left", fontsize=6.5)
        start += n
    bar = fig.colorbar(image, cax=bar_ax)
    bar.set_label("SUVmax")
    bar.ax.tick_params(labelsize=6.5)
    ax.set_title("Marrow SUVmax per site (grey: site missing)", loc="left")
    notes = []
    left_out = stats["marrow"]["excluded_no_marrow_sites"]
    if left_out:
        notes.append(f"No marrow sites: {', '.join(left_out)}.")
    excluded = _excluded_note(stats, "marrow")
    if excluded:
        notes.append(excluded + ".")
    if stats["marrow"]["no_group"]:
        notes.append(f"No group: {', '.join(stats['marrow']['no_group'])}.")
    longest_id = max((len(sid) for _, sid in order), default=0) if label_rows else 0
    _caption(fig, ax, notes, margins_in=(0.15 + 0.055 * longest_id, 0.45, 0.3, 0.42))
    return fig


def _marrow_groups(plt, stats, rows):
    groups = stats["marrow"]["groups"]
    names = list(groups)
    by_id = {r["study_id"]: r for r in rows}
    fig, ax = plt.subplots(figsize=(max(SINGLE_COLUMN_IN, 0.75 * len(names) + 1.2), 3.2))
    x = np.arange(len(names))
    means = [_number(groups[n]["mean"]) or 0.0 for n in names]
    sems = [_number(groups[n]["sem"]) if groups[n]["n"] >= 2 else None for n in names]
    ax.bar(x, means, color="#b8c9e6", edgecolor=_BAR, linewidth=0.8, width=0.6, zorder=1)
    with_sem = [(xi, m, s) for xi, m, s in zip(x, means, sems) if s is not None]
    if with_sem:
        xs, ms, ss = zip(*with_sem)
        ax.errorbar(xs, ms, yerr=ss, fmt="none", ecolor="0.15", elinewidth=0.8, capsize=3, capthick=0.8, zorder=2)
    rng = np.random.default_rng(0)  # fixed jitter: the same picture every run
    top = 0.0
    for xi, name in zip(x, names):
        values = [by_id[s]["mean_suv_max"] for s in groups[name]["study_ids"]]
        ax.scatter(xi + rng.uniform(-0.13, 0.13, len(values)), values, s=8, color="0.15", zorder=3, linewidths=0)
        top = max(top, max(values, default=0.0), means[xi] + (sems[xi] or 0.0))
    step = 0.1 * (top or 1.0)
    level = top + step
    index = {n: i for i, n in enumerate(names)}
    for test in sorted(stats["marrow"]["t_tests"], key=lambda t: abs(index[t["a"]] - index[t["b"]])):
        a, b = index[test["a"]], index[test["b"]]
        ax.plot([a, a, b, b], [level - step * 0.3, level, level, level - step * 0.3], color="0.2", linewidth=0.8)
        ax.text((a + b) / 2, level, format_p(test["p"]), ha="center", va="bottom", fontsize=6.5)
        level += step
    ax.set_ylim(0, level + step * 0.5)
    ax.set_xticks(x, [f"{n}\nn = {groups[n]['n']}" for n in names])
    ax.set_ylabel("meanSUVmax (mean ± SEM)")
    ax.set_title("Bone-marrow meanSUVmax by group (Student's t-test)")
    ax.spines[["top", "right"]].set_visible(False)
    notes = [n + "." for n in (_excluded_note(stats, "marrow"),) if n]
    if stats["marrow"]["no_group"]:
        notes.append(f"No group (not compared): {', '.join(stats['marrow']['no_group'])}.")
    _caption(fig, ax, notes)
    return fig


def draw_cohort_figures(stats: dict, rows: list[dict]) -> dict:
    """Every cohort figure that has data, as matplotlib figures (name -> Figure; the caller closes them)."""
    plt = _pyplot()
    figures = {}
    with plt.rc_context(_STYLE):
        if stats["by_diagnosis"]:
            bp = _number(stats["blood_pool_suv_mean"]["mean"])
            bp_label = f"blood pool SUVmean {bp:.2f}" if bp is not None else ""
            for metric, level, label in (("suv_max", bp, bp_label), ("tbr", 1.0, "blood pool (TBR = 1)"),
                                         ("suv_peak", bp, bp_label)):
                fig = _bars_by_diagnosis(plt, stats, metric, level, label)
                if fig is not None:
                    figures[f"{metric}_by_diagnosis"] = fig
            fig = _correlations(plt, stats, rows)
            if fig is not None:
                figures["correlations"] = fig
        if stats["marrow"]["groups"]:
            figures["marrow_heatmap"] = _heatmap(plt, stats, rows)
            figures["marrow_groups"] = _marrow_groups(plt, stats, rows)
    return figures


def write_cohort_figures(stats: dict, rows: list[dict], out_dir) -> dict[str, list[Path]]:
    """Draw every cohort figure that has data into ``out_dir`` as PNG (300 dpi) and PDF; returns name -> paths."""
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    with plt.rc_context(_STYLE):
        for name, fig in draw_cohort_figures(stats, rows).items():
            written[name] = _save(plt, fig, out / name)
    return written
