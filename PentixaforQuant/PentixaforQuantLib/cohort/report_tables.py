"""The tables a paper needs beside ``stats.json``, as CSV text.

- ``table1.csv``: the cohort's Table 1 as Buck et al. 2022 give it: scans, scans without discernible uptake (n, %),
  per diagnosis the scans, those with uptake (positive, n and %) and mean ± SD of each metric, the injected
  activity, peptide mass and specific activity as median (range), and the marrow groups as mean ± SEM. Each
  row has the formatted cell (``value``) and the numbers behind it.
- ``prism_<metric>_by_diagnosis.csv``, ``prism_marrow_by_group.csv``: one column per diagnosis or group, one value
  per cell (GraphPad Prism's column table; R reads it with ``read.csv``);
- ``prism_correlations.csv``: one row per scan of the correlations (an XY table), with its ROUT flag per metric.
"""

from __future__ import annotations

import csv
import io
from itertools import zip_longest

from .analysis import LESION_METRICS, METRIC_LABELS, NOT_GIVEN, lesion_rows

__all__ = ["TABLE1_COLUMNS", "table1_csv_text", "prism_tables"]

TABLE1_COLUMNS = ("section", "characteristic", "n", "value", "percent", "mean", "sd", "sem", "ci95_low", "ci95_high",
                  "median", "min", "max")


def _num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _fmt(v, digits=2) -> str:
    return f"{v:.{digits}f}" if _num(v) is not None else "n/a"


def _ci(summary) -> tuple:
    ci = summary.get("ci95")
    return (ci[0], ci[1]) if isinstance(ci, list) else (None, None)


def _mean_row(section, label, summary, spread="sd") -> dict:
    low, high = _ci(summary)
    value = f"{_fmt(summary['mean'])} ± {_fmt(summary[spread])}" if _num(summary[spread]) is not None \
        else _fmt(summary["mean"])
    return {"section": section, "characteristic": label, "n": summary["n"], "value": value,
            "mean": _num(summary["mean"]), spread: _num(summary[spread]), "ci95_low": low, "ci95_high": high}


def table1_rows(stats: dict, rows: list[dict]) -> list[dict]:
    out = []
    scans = stats["scans"]

    def count(section, label, n, of):
        out.append({"section": section, "characteristic": label, "n": n,
                    "value": f"{n} ({100.0 * n / of:.1f} %)" if of else str(n),
                    "percent": 100.0 * n / of if of else None})

    out.append({"section": "scans", "characteristic": "scans", "n": scans, "value": str(scans)})
    count("scans", "without discernible uptake", stats["no_uptake"], scans)
    count("scans", "with uptake, measured", stats["with_uptake_measured"], scans)
    if stats["failed"]:
        count("scans", "could not be measured", len(stats["failed"]), scans)
    for ex in stats["excluded"]:
        out.append({"section": "excluded", "characteristic": f"{ex['study_id']} (from {ex['from']})", "n": 1,
                    "value": ex["reason"]})
    for metric in LESION_METRICS:
        out.append(_mean_row("all diagnoses", f"{METRIC_LABELS[metric]} (mean ± SD)", stats["overall"][metric]))
    by_scan_diagnosis: dict[str, list[dict]] = {}
    for r in rows:
        by_scan_diagnosis.setdefault(r["diagnosis"] or NOT_GIVEN, []).append(r)
    measured = {r["study_id"] for r in lesion_rows(rows)}
    for name, members in by_scan_diagnosis.items():
        positive = sum(r["uptake"] != "no" for r in members)
        out.append({"section": name, "characteristic": "scans", "n": len(members), "value": str(len(members))})
        count(name, "with uptake (positive)", positive, len(members))
        summary = stats["by_diagnosis"].get(name)
        if summary and any(r["study_id"] in measured for r in members):
            for metric in LESION_METRICS:
                out.append(_mean_row(name, f"{METRIC_LABELS[metric]} (mean ± SD)", summary[metric]))
    for key, label in (("activity_mbq", "injected activity (MBq)"), ("peptide_mass_ug", "peptide mass (ug)"),
                       ("specific_activity", "specific activity (MBq/ug)")):
        s = stats[key]
        out.append({"section": "injection", "characteristic": f"{label}, median (range)", "n": s["n"],
                    "value": f"{_fmt(s['median'])} ({_fmt(s['min'])}-{_fmt(s['max'])})" if s["n"] else "n/a",
                    "median": _num(s["median"]), "min": _num(s["min"]), "max": _num(s["max"])})
    for name, g in stats["marrow"]["groups"].items():
        out.append(_mean_row("marrow meanSUVmax", f"{name} (mean ± SEM)", g, spread="sem"))
    return out


def _csv(header, records) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(records)
    return buf.getvalue()


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.7g}"
    return str(v)


def table1_csv_text(stats: dict, rows: list[dict]) -> str:
    """``table1.csv`` (columns :data:`TABLE1_COLUMNS`)."""
    return _csv(TABLE1_COLUMNS, ([_cell(r.get(c)) for c in TABLE1_COLUMNS] for r in table1_rows(stats, rows)))


def _columns_table(columns: dict[str, list]) -> str:
    names = list(columns)
    return _csv(names, ([_cell(v) for v in values] for values in zip_longest(*columns.values())))


def prism_tables(stats: dict, rows: list[dict]) -> dict[str, str]:
    """File name -> CSV text of the Prism/R-ready tables (only those with values)."""
    out = {}
    measured = lesion_rows(rows)
    for metric in LESION_METRICS:
        columns: dict[str, list] = {}
        for r in measured:
            if r[metric] is not None:
                columns.setdefault(r["diagnosis"] or NOT_GIVEN, []).append(r[metric])
        if columns:
            out[f"prism_{metric}_by_diagnosis.csv"] = _columns_table(columns)
    by_id = {r["study_id"]: r for r in rows}
    groups = {name: [by_id[s]["mean_suv_max"] for s in g["study_ids"]] for name, g in stats["marrow"]["groups"].items()}
    if groups:
        out["prism_marrow_by_group.csv"] = _columns_table(groups)
    xy = [r for r in measured if r["specific_activity_mbq_per_ug"] is not None]
    if xy:
        flagged = {m: set(stats["correlations"][m]["outliers"]) for m in LESION_METRICS}
        header = ["study_id", "specific_activity_mbq_per_ug", *LESION_METRICS,
                  *(f"{m}_rout_outlier" for m in LESION_METRICS)]
        out["prism_correlations.csv"] = _csv(header, (
            [r["study_id"], _cell(r["specific_activity_mbq_per_ug"]), *(_cell(r[m]) for m in LESION_METRICS),
             *("yes" if r["study_id"] in flagged[m] else "" for m in LESION_METRICS)] for r in xy))
    return out
