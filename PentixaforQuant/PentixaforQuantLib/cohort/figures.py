"""The cohort figures as PNG (matplotlib, Agg backend; the optional ``figures`` extra), drawn like the papers':

- ``suv_max_by_diagnosis.png``, ``tbr_by_diagnosis.png``: mean ± SD per diagnosis, n under each bar, the cut-off
  lines (SUVmax 6 and 12, TBR 4 and 8; Buck et al. 2022) and the blood-pool level (mean blood-pool SUVmean on the
  SUVmax chart, TBR = 1 on the TBR chart);
- ``correlations.png``: specific activity against SUVmax, SUVmean, SUVpeak and TBR, ROUT outliers marked, rho, P
  and n printed;
- ``marrow_heatmap.png``: patients x the five sites (Herhaus et al. 2016 order), grouped, colour bar in SUV;
- ``marrow_groups.png``: meanSUVmax per group, mean ± SEM with the points, P values on brackets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import PentixaforQuantError
from ..measure.sites import MARROW_SITES_PAPER_ORDER, SITE_TITLES
from ..outputs.atomic import write_file_atomically
from .analysis import LESION_METRICS, METRIC_LABELS, measured_rows

__all__ = ["write_cohort_figures", "CUTOFFS"]

#: Cut-off lines of Buck et al. 2022.
CUTOFFS = {"suv_max": (6.0, 12.0), "tbr": (4.0, 8.0)}
_BAR = "#4c72b0"
_OUTLIER = "#d62728"


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise PentixaforQuantError("the cohort figures need matplotlib: pip install 'pentixaforquant[figures]'") from None
    return plt


def _save(plt, fig, path: Path, *, tight: bool = True) -> Path:
    """Write the PNG whole or not at all."""
    import io

    if tight:
        fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return write_file_atomically(path, buf.getvalue())


def _number(v):
    return v if isinstance(v, (int, float)) else None


def _fmt_p(p) -> str:
    if not isinstance(p, (int, float)):
        return "P: n/a"
    return "P < 0.001" if p < 0.001 else f"P = {p:.3f}"


def _bars_by_diagnosis(plt, stats, metric, path, blood_pool_level, blood_pool_label):
    groups = stats["by_diagnosis"]
    names = list(groups)
    means = [_number(groups[n][metric]["mean"]) for n in names]
    sds = [_number(groups[n][metric]["sd"]) for n in names]
    ns = [groups[n][metric]["n"] for n in names]
    fig, ax = plt.subplots(figsize=(max(6.5, 1.1 * len(names) + 4.0), 4.8), dpi=120)
    x = np.arange(len(names))
    ax.bar(x, [m or 0.0 for m in means], yerr=[s or 0.0 for s in sds], capsize=4, color=_BAR, width=0.65,
           error_kw={"elinewidth": 1.2})
    for xi, m in zip(x, means):
        if m is None:
            ax.text(xi, 0, "no values", ha="center", va="bottom", fontsize=8, color="0.4")
    ax.set_xticks(x, [f"{n}\nn = {k}" for n, k in zip(names, ns)], fontsize=9)
    for level, style in zip(CUTOFFS[metric], ("--", ":")):
        ax.axhline(level, color="0.25", linestyle=style, linewidth=1.2, label=f"cut-off {level:g}")
    if blood_pool_level is not None:
        ax.axhline(blood_pool_level, color="#c44e52", linewidth=1.4, label=blood_pool_label)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylabel(f"{METRIC_LABELS[metric]} (mean ± SD)")
    ax.set_title(f"{METRIC_LABELS[metric]} of the target lesion by diagnosis "
                 f"(n = {stats['overall'][metric]['n']} scans with uptake)", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return _save(plt, fig, path)


def _correlations(plt, stats, rows, path):
    measured = measured_rows(rows)
    fig, axes = plt.subplots(2, 2, figsize=(9.5, 8.0), dpi=120)
    for ax, metric in zip(axes.ravel(), LESION_METRICS):
        c = stats["correlations"][metric]
        outliers = set(c["outliers"])
        pts = [(r["specific_activity_mbq_per_ug"], r[metric], r["study_id"] in outliers) for r in measured
               if r["specific_activity_mbq_per_ug"] is not None and r[metric] is not None]
        kept = np.array([(a, b) for a, b, o in pts if not o]).reshape(-1, 2)
        out = np.array([(a, b) for a, b, o in pts if o]).reshape(-1, 2)
        ax.scatter(kept[:, 0], kept[:, 1], s=18, color=_BAR, alpha=0.8, label="used")
        if len(out):
            ax.scatter(out[:, 0], out[:, 1], s=46, marker="x", color=_OUTLIER, linewidths=1.8,
                       label=f"ROUT outlier (Q = {100 * c['rout']['q']:g} %)")
        rho = c["rho"]
        rho_text = f"ρ = {rho:.3f}" if isinstance(rho, float) else "ρ: " + str(rho)
        ax.set_title(f"{METRIC_LABELS[metric]}: {rho_text}, {_fmt_p(c['p'])}, n = {c['n']}", fontsize=10)
        ax.set_xlabel("specific activity (MBq/µg)")
        ax.set_ylabel(METRIC_LABELS[metric])
        ax.legend(fontsize=8, loc="best", frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle("Spearman correlation with specific activity after ROUT outlier removal", fontsize=11)
    return _save(plt, fig, path)


def _heatmap(plt, stats, rows, path):
    groups = stats["marrow"]["groups"]
    by_id = {r["study_id"]: r for r in rows}
    order = [(g, sid) for g, info in groups.items() for sid in info["study_ids"]]
    data = np.array([[np.nan if by_id[sid][s] is None else by_id[sid][s] for s in MARROW_SITES_PAPER_ORDER]
                     for _, sid in order], dtype=float).reshape(-1, len(MARROW_SITES_PAPER_ORDER))
    height = min(14.0, max(3.5, 0.3 * len(order) + 2.2))  # a long cohort is drawn without a label per patient
    fig, ax = plt.subplots(figsize=(7.0, height), dpi=120)
    cmap = plt.get_cmap("inferno").with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(data), aspect="auto", cmap=cmap, interpolation="nearest")
    ax.set_xticks(range(len(MARROW_SITES_PAPER_ORDER)),
                  [f"{i}\n{SITE_TITLES[s].replace('Marrow ', '')}" for i, s in enumerate(MARROW_SITES_PAPER_ORDER, 1)],
                  fontsize=8)
    if len(order) <= 60:
        ax.set_yticks(range(len(order)), [sid for _, sid in order], fontsize=7 if len(order) > 30 else 8)
    else:
        ax.set_yticks([])
    start = 0
    for name, info in groups.items():
        n = len(info["study_ids"])
        if start:
            ax.axhline(start - 0.5, color="white", linewidth=2.5)
        ax.text(len(MARROW_SITES_PAPER_ORDER) - 0.4, start + (n - 1) / 2, f" {name}\n n = {n}", va="center",
                ha="left", fontsize=8)
        start += n
    bar = fig.colorbar(image, ax=ax, orientation="horizontal", fraction=0.04 if height > 6 else 0.08,
                       pad=0.06 if height > 6 else 0.16, aspect=30)
    bar.set_label("SUVmax (SUV)")
    fig.subplots_adjust(right=0.72)
    excluded = stats["marrow"]["excluded_no_marrow_sites"]
    note = f"; left out (no marrow sites): {', '.join(excluded)}" if excluded else ""
    ax.set_title(f"Marrow SUVmax per site (grey = site missing){note}", fontsize=9)
    return _save(plt, fig, path, tight=False)


def _marrow_groups(plt, stats, rows, path):
    groups = stats["marrow"]["groups"]
    names = list(groups)
    by_id = {r["study_id"]: r for r in rows}
    fig, ax = plt.subplots(figsize=(max(4.5, 1.3 * len(names) + 2.0), 5.0), dpi=120)
    x = np.arange(len(names))
    means = [_number(groups[n]["mean"]) or 0.0 for n in names]
    sems = [_number(groups[n]["sem"]) or 0.0 for n in names]
    ax.bar(x, means, yerr=sems, capsize=5, color="#b8c9e6", edgecolor=_BAR, width=0.6)
    rng = np.random.default_rng(0)  # fixed jitter: the same picture every run
    top = 0.0
    for xi, name in zip(x, names):
        values = [by_id[s]["mean_suv_max"] for s in groups[name]["study_ids"]]
        ax.scatter(xi + rng.uniform(-0.15, 0.15, len(values)), values, s=20, color="0.15", zorder=3)
        top = max(top, max(values, default=0.0), means[xi] + sems[xi])
    step = 0.09 * (top or 1.0)
    level = top + step
    index = {n: i for i, n in enumerate(names)}
    for test in sorted(stats["marrow"]["t_tests"], key=lambda t: abs(index[t["a"]] - index[t["b"]])):
        a, b = index[test["a"]], index[test["b"]]
        ax.plot([a, a, b, b], [level - step * 0.3, level, level, level - step * 0.3], color="0.2", linewidth=1)
        ax.text((a + b) / 2, level, _fmt_p(test["p"]), ha="center", va="bottom", fontsize=8)
        level += step
    ax.set_ylim(0, level + step * 0.5)
    ax.set_xticks(x, [f"{n}\nn = {groups[n]['n']}" for n in names], fontsize=9)
    ax.set_ylabel("meanSUVmax (mean ± SEM)")
    ax.set_title("Bone-marrow meanSUVmax by group (Student's t-test)", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return _save(plt, fig, path)


def write_cohort_figures(stats: dict, rows: list[dict], out_dir) -> dict[str, Path]:
    """Draw every cohort figure into ``out_dir``; returns name -> path. Figures without data are not drawn."""
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    if stats["by_diagnosis"]:
        bp = _number(stats["blood_pool_suv_mean"]["mean"])
        written["suv_max_by_diagnosis"] = _bars_by_diagnosis(
            plt, stats, "suv_max", out / "suv_max_by_diagnosis.png", bp,
            f"blood pool SUVmean {bp:.2f}" if bp is not None else "")
        written["tbr_by_diagnosis"] = _bars_by_diagnosis(plt, stats, "tbr", out / "tbr_by_diagnosis.png", 1.0,
                                                         "blood pool (TBR = 1)")
        written["correlations"] = _correlations(plt, stats, rows, out / "correlations.png")
    if stats["marrow"]["groups"]:
        written["marrow_heatmap"] = _heatmap(plt, stats, rows, out / "marrow_heatmap.png")
        written["marrow_groups"] = _marrow_groups(plt, stats, rows, out / "marrow_groups.png")
    return written

