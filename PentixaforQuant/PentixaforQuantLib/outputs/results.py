"""The study result as rows, JSON and CSV: one layout shared by the MRML table, ``sites.csv`` and ``study.json``.

Every row carries the method that produced its numbers; the study JSON carries the full parameters and the SUV
audit, so a number never travels without its definition.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..measure.protocol import METRIC_LABELS, LesionResult, SphereResult, StudyResult
from ..measure.sites import ALL_SITES, AORTA, ISOCONTOUR, LESION, MARROW_KIND, MARROW_SITES, SITE_TITLES, SITES
from .json_text import json_text

__all__ = ["Column", "COLUMNS", "study_rows", "study_to_dict", "study_wide_row", "write_study_json",
           "write_rows_csv", "describe_methods", "site_method", "warning_texts", "DETAILS_SEPARATOR"]


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    unit: str  # "" for none; "SUV" is replaced by the SUV units of the study
    description: str


COLUMNS = (
    Column("site", "Site", "", "Site key (lesion, aorta, C7, T12, L5, right_ilium, left_ilium, TBR, meanSUVmax)"),
    Column("title", "Name", "", "Site name"),
    Column("status", "Status", "", "ok, warning, error or missing (no point placed)"),
    Column("suv_max", "SUVmax", "SUV", "Maximum SUV of the VOI voxels"),
    Column("suv_mean", "SUVmean", "SUV", "Mean SUV of the VOI voxels"),
    Column("suv_sd", "SD", "SUV", "Population standard deviation of the VOI voxels"),
    Column("suv_peak", "SUVpeak", "SUV", "Highest mean SUV of a sphere (see Method)"),
    Column("volume_ml", "Volume", "mL", "Voxel count x voxel volume"),
    Column("tla", "TLA", "SUV*mL", "Total lesion activity = SUVmean x volume"),
    Column("voxels", "Voxels", "", "Number of voxels in the VOI"),
    Column("value", "Value", "", "Derived value (TBR, meanSUVmax)"),
    Column("peak_r", "Peak R", "mm", "RAS position of the SUVmax voxel"),
    Column("peak_a", "Peak A", "mm", "RAS position of the SUVmax voxel"),
    Column("peak_s", "Peak S", "mm", "RAS position of the SUVmax voxel"),
    Column("point_r", "Point R", "mm", "RAS position of the placed point"),
    Column("point_a", "Point A", "mm", "RAS position of the placed point"),
    Column("point_s", "Point S", "mm", "RAS position of the placed point"),
    Column("method", "Method", "", "Definition and parameters of the numbers in this row"),
    Column("notes", "Notes", "", "Warnings (one short line each) and errors"),
    Column("details", "Warning details", "", "The full text of each warning in Notes (positions, numbers, what to "
           "do), in the same order, separated by ' | '"),
)

#: Between two warnings' full texts in the ``details`` column (the texts themselves hold semicolons).
DETAILS_SEPARATOR = " | "


def warning_texts(result: LesionResult | SphereResult) -> list[tuple[str, str]]:
    """(short line, full text) of each warning of one site's result: the lesion's typed warnings give both; a
    sphere's warning is one full line, its own short line."""
    if isinstance(result, LesionResult):
        return [(w.short, w.detail) for w in result.warning_records]
    return [(w, w) for w in result.warnings]


def describe_methods(study: StudyResult) -> dict[str, str]:
    """One line per kind of row saying exactly how its numbers were made."""
    p = study.parameters
    iso = p.isocontour
    pct = f"{100 * iso.threshold_fraction:g} %"
    if iso.method == "a50":
        bg = f"background {iso.background_suv:g}" if iso.background_suv is not None else "measured background"
        threshold = f"background-adjusted {pct} isocontour (A50, {bg})"
    else:
        threshold = f"{pct} isocontour of SUVmax"
    peak = (
        f"SUVpeak {p.peak_variant} ({'best sphere centred in the VOI' if p.peak_variant == 'global' else 'sphere centred on SUVmax'}), "
        f"r {p.peak_radius_mm:g} mm, voxel centres inside, image voxels"
    )
    numerator = METRIC_LABELS[p.tbr_numerator]
    n_marrow = len(study.marrow_sites_used)
    return {
        LESION: f"{threshold}, {iso.connectivity}-connected, peak search r {iso.search_radius_mm:g} mm, "
        f"regrown until stable; {peak}; peak by ascent from the click, "
        + f"structures > {iso.leak_ratio:g} x hotter left out"
        + (f", joined structures split at the saddle (depth {100 * iso.saddle_depth:g} %)" if iso.split_at_saddle
           else "")
        + f", focus >= {iso.focus_contrast:g} x local background",
        AORTA: f"sphere {p.blood_pool_diameter_mm:g} mm diameter (voxel centres inside), SUVmean",
        MARROW_KIND: f"sphere {p.marrow_diameter_mm:g} mm diameter (voxel centres inside), SUVmax",
        "TBR": f"{numerator}(target lesion) / SUVmean(blood pool)",
        "meanSUVmax": f"mean of the marrow-site SUVmax ({n_marrow} of {len(MARROW_SITES)} sites)",
    }


def site_method(methods: dict[str, str], site: str) -> str:
    """The VOI method text of one site in :func:`describe_methods`: the lesion's and the blood pool's under their
    own keys, one text for every marrow site (their kind in the table of sites)."""
    return methods[MARROW_KIND if SITES[site].kind == MARROW_KIND else site]


def study_rows(study: StudyResult, points_ras: dict | None = None) -> list[dict]:
    """Table rows: the seven sites (in protocol order) then TBR and meanSUVmax. Empty cells are None."""
    methods = describe_methods(study)
    points_ras = points_ras or {}
    rows = []
    for site in ALL_SITES:
        row = dict.fromkeys(c.key for c in COLUMNS)
        row.update(site=site, title=SITE_TITLES[site], method=site_method(methods, site))
        point = points_ras.get(site)
        result = study.site_result(site)
        if result is not None and SITES[site].voi == ISOCONTOUR:
            les = result
            s = les.stats
            row.update(
                suv_max=s.suv_max, suv_mean=s.suv_mean, suv_sd=s.suv_sd, suv_peak=les.peak.suv_peak,
                volume_ml=s.volume_ml, tla=s.tla, voxels=s.voxels,
                peak_r=les.peak_ras[0], peak_a=les.peak_ras[1], peak_s=les.peak_ras[2],
            )
            point = les.click_ras
        elif result is not None:  # a sphere: the blood pool or a marrow site
            s = result.stats
            row.update(suv_max=s.suv_max, suv_mean=s.suv_mean, suv_sd=s.suv_sd, volume_ml=s.volume_ml, voxels=s.voxels)
            point = result.center_ras
        warnings = [] if result is None else warning_texts(result)
        if site in study.errors:
            row.update(status="error", notes=study.errors[site])
        elif point is None:
            row.update(status="missing", notes="no point placed")
        else:
            row.update(status="warning" if warnings else "ok", notes="; ".join(short for short, _ in warnings),
                       details=DETAILS_SEPARATOR.join(detail for _, detail in warnings))
        if point is not None:
            row.update(point_r=point[0], point_a=point[1], point_s=point[2])
        rows.append(row)
    for key, value, status_missing in (
        ("TBR", study.tbr, "needs the target lesion and the blood pool"),
        ("meanSUVmax", study.mean_suv_max, "needs at least one marrow site"),
    ):
        row = dict.fromkeys(c.key for c in COLUMNS)
        row.update(site=key, title=key, value=value, method=methods[key],
                   status="missing" if value is None else "ok", notes="" if value is not None else status_missing)
        if key == "meanSUVmax" and value is not None:
            row["title"] = f"meanSUVmax ({len(study.marrow_sites_used)} sites)"
        rows.append(row)
    return rows


def study_to_dict(study: StudyResult, *, suv_audit: dict | None = None, units: str = "", source: dict | None = None) -> dict:
    """The ``study.json`` document."""
    out: dict = {"pentixaforquant_version": __version__, "units": units}
    if source:
        out["source"] = source
    les = study.lesion
    out["lesion"] = None if les is None else {
        "suv_max": les.stats.suv_max,
        "suv_mean": les.stats.suv_mean,
        "suv_sd": les.stats.suv_sd,
        "suv_peak": les.peak.suv_peak,
        "volume_ml": les.stats.volume_ml,
        "voxels": les.stats.voxels,
        "tla": les.stats.tla,
        "peak_ras": [float(v) for v in les.peak_ras],
        "click_ras": [float(v) for v in les.click_ras],
        "threshold_suv": les.voi.threshold_suv,
        "background_suv": les.voi.background_suv,
        "suv_peak_center_ras": [float(v) for v in les.peak_center_ras],
        "leaked": les.voi.leaked,
        "touches_border": les.voi.touches_border,
        "regrow_iterations": les.voi.iterations,
        "split": les.voi.split,
        "neighbours": [{"suv_max": n["suv_max"], "peak_ras": [float(v) for v in n["peak_ras"]],
                        "volume_ml": n["volume_ml"]} for n in les.neighbours],
        "warnings": [w.to_dict() for w in les.warning_records],
    }
    bp = study.blood_pool
    out["blood_pool"] = None if bp is None else {
        "suv_mean": bp.stats.suv_mean,
        "suv_sd": bp.stats.suv_sd,
        "suv_max": bp.stats.suv_max,
        "voxels": bp.stats.voxels,
        "center_ras": [float(v) for v in bp.center_ras],
        "diameter_mm": bp.diameter_mm,
    }
    out["tbr"] = study.tbr
    out["tbr_variants"] = {n: study.tbr_with(n) for n in ("suv_max", "suv_peak", "suv_mean")}
    out["marrow"] = {
        site: {
            "suv_max": sp.stats.suv_max,
            "suv_mean": sp.stats.suv_mean,
            "voxels": sp.stats.voxels,
            "center_ras": [float(v) for v in sp.center_ras],
        }
        for site, sp in ((s, study.marrow[s]) for s in study.marrow_sites_used)
    }
    out["mean_suv_max"] = study.mean_suv_max
    out["marrow_sites_used"] = study.marrow_sites_used
    out["parameters"] = study.parameters.to_dict()
    out["methods"] = describe_methods(study)
    out["suv"] = suv_audit
    out["warnings"] = study.warnings
    out["errors"] = dict(study.errors)
    return _clean(out)


def _clean(obj):
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def study_wide_row(study: StudyResult, **ids) -> dict:
    """One flat row per study for cohort tables (ids first, e.g. ``study_id=...``)."""
    row = dict(ids)
    les = study.lesion
    for key in ("suv_max", "suv_mean", "suv_sd", "volume_ml", "tla", "voxels"):
        row[f"lesion_{key}"] = None if les is None else getattr(les.stats, key)
    row["lesion_suv_peak"] = None if les is None else les.peak.suv_peak
    row["blood_pool_suv_mean"] = None if study.blood_pool is None else study.blood_pool.stats.suv_mean
    row["tbr"] = study.tbr
    for site in MARROW_SITES:
        sp = study.marrow.get(site)
        row[f"{site}_suv_max"] = None if sp is None else sp.stats.suv_max
        row[f"{site}_suv_mean"] = None if sp is None else sp.stats.suv_mean
    row["mean_suv_max"] = study.mean_suv_max
    row["marrow_sites_used"] = len(study.marrow_sites_used)
    iso = study.parameters.isocontour
    row.update(threshold_fraction=iso.threshold_fraction, threshold_method=iso.method,
               connectivity=iso.connectivity, suv_peak_variant=study.parameters.peak_variant,
               suv_peak_radius_mm=study.parameters.peak_radius_mm)
    row["warnings"] = " | ".join(study.warnings)
    row["errors"] = " | ".join(f"{k}: {v}" for k, v in study.errors.items())
    return _clean(row)


def write_study_json(doc: dict, path) -> Path:
    path = Path(path)
    path.write_text(json_text(doc), encoding="utf-8")  # valid JSON: a non-finite number becomes a text
    return path


def write_rows_csv(rows: list[dict], path, *, units: str = "", delimiter: str = ",") -> Path:
    """Write table rows with a header naming each column and its unit, e.g. ``SUVmax [{SUVbw}g/ml]``."""
    path = Path(path)
    keys = list(rows[0].keys()) if rows else [c.key for c in COLUMNS]
    by_key = {c.key: c for c in COLUMNS}
    header = []
    for k in keys:
        col = by_key.get(k)
        if col is None:
            header.append(k)
        else:
            unit = units if col.unit == "SUV" else col.unit
            header.append(f"{col.title} [{unit}]" if unit else col.title)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        for row in rows:
            w.writerow(["" if row[k] is None else _fmt(row[k]) for k in keys])
    return path


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    return v
