"""The cohort table (``cohort.csv``): one row per study, the input of ``stats``.

The column set is fixed (:data:`COHORT_COLUMNS`, in this order) and shared by the batch, the ``stats`` command,
the Slicer table node and the panel's "Add study to cohort". Empty cells are missing values.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import PentixaforQuantError
from ..measure.sites import MARROW_SITES

__all__ = ["CohortColumn", "COHORT_COLUMNS", "COLUMN_KEYS", "TEXT_COLUMNS", "CohortTableError",
           "measurements_from_study_json", "cohort_row", "cohort_csv_text", "read_cohort_csv"]


@dataclass(frozen=True)
class CohortColumn:
    key: str
    unit: str
    description: str


COHORT_COLUMNS = (
    CohortColumn("study_id", "", "Study (scan) identifier from the manifest"),
    CohortColumn("diagnosis", "", "Diagnosis (per-diagnosis statistics)"),
    CohortColumn("group", "", "Patient group (marrow statistics)"),
    CohortColumn("uptake", "", "yes / no: discernible uptake; scans without are counted, not measured"),
    CohortColumn("activity_mbq", "MBq", "Injected activity"),
    CohortColumn("peptide_mass_ug", "ug", "Injected peptide mass"),
    CohortColumn("specific_activity_mbq_per_ug", "MBq/ug", "activity_mbq / peptide_mass_ug"),
    CohortColumn("suv_max", "SUV", "Target lesion SUVmax (40 % isocontour VOI unless the run says otherwise)"),
    CohortColumn("suv_mean", "SUV", "Target lesion SUVmean"),
    CohortColumn("suv_peak", "SUV", "Target lesion SUVpeak"),
    CohortColumn("volume_ml", "mL", "Target lesion VOI volume"),
    CohortColumn("tbr", "", "Target-to-blood-pool ratio = SUVmax / blood-pool SUVmean"),
    CohortColumn("blood_pool_suv_mean", "SUV", "Aortic-arch blood-pool SUVmean"),
    CohortColumn("C7", "SUV", "Marrow SUVmax at C7"),
    CohortColumn("T12", "SUV", "Marrow SUVmax at T12"),
    CohortColumn("L5", "SUV", "Marrow SUVmax at L5"),
    CohortColumn("right_ilium", "SUV", "Marrow SUVmax at the right ilium"),
    CohortColumn("left_ilium", "SUV", "Marrow SUVmax at the left ilium"),
    CohortColumn("mean_suv_max", "SUV", "meanSUVmax = mean of the marrow-site SUVmax"),
    CohortColumn("marrow_sites_used", "", "Number of marrow sites behind mean_suv_max (0-5)"),
    CohortColumn("warnings", "", "Warnings and per-site errors of the study, separated by ' | '"),
    CohortColumn("error", "", "Why the study could not be measured (empty when it was)"),
)
COLUMN_KEYS = tuple(c.key for c in COHORT_COLUMNS)
TEXT_COLUMNS = frozenset({"study_id", "diagnosis", "group", "uptake", "warnings", "error"})
MEASUREMENT_KEYS = ("suv_max", "suv_mean", "suv_peak", "volume_ml", "tbr", "blood_pool_suv_mean", *MARROW_SITES,
                    "mean_suv_max", "marrow_sites_used")


class CohortTableError(PentixaforQuantError):
    """A cohort table cannot be read (missing column, a value that is not a number), naming line and column."""


def measurements_from_study_json(doc: dict) -> dict:
    """The measurement columns of a cohort row, from a ``study.json`` document (``quantify``'s output)."""
    lesion = doc.get("lesion") or {}
    blood = doc.get("blood_pool") or {}
    marrow = doc.get("marrow") or {}
    out = {
        "suv_max": lesion.get("suv_max"), "suv_mean": lesion.get("suv_mean"), "suv_peak": lesion.get("suv_peak"),
        "volume_ml": lesion.get("volume_ml"), "tbr": doc.get("tbr"), "blood_pool_suv_mean": blood.get("suv_mean"),
    }
    for site in MARROW_SITES:
        out[site] = (marrow.get(site) or {}).get("suv_max")
    out["mean_suv_max"] = doc.get("mean_suv_max")
    out["marrow_sites_used"] = len(doc.get("marrow_sites_used") or [])
    return out


def study_warnings(doc: dict) -> list[str]:
    """The study's warnings, then each site that could not be measured as ``"<site>: <why>"``."""
    return list(doc.get("warnings") or []) + [f"{site}: {why}" for site, why in (doc.get("errors") or {}).items()]


def cohort_row(entry, measurements: dict | None = None, *, warnings=(), error: str = "") -> dict:
    """One cohort row from a manifest entry and, when measured, its measurements (None = not measured)."""
    row = dict.fromkeys(COLUMN_KEYS)
    row.update(study_id=entry.study_id, diagnosis=entry.diagnosis, group=entry.group,
               uptake="yes" if entry.uptake else "no", activity_mbq=entry.activity_mbq,
               peptide_mass_ug=entry.peptide_mass_ug,
               specific_activity_mbq_per_ug=entry.specific_activity_mbq_per_ug)
    if measurements:
        row.update({k: measurements.get(k) for k in MEASUREMENT_KEYS})
    row["warnings"] = " | ".join(warnings)
    row["error"] = error
    return row


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    return str(value)


def cohort_csv_text(rows: list[dict]) -> str:
    """The CSV text of a cohort table (header = :data:`COLUMN_KEYS`); floats at full precision."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMN_KEYS)
    for row in rows:
        w.writerow([_cell(row.get(k)) for k in COLUMN_KEYS])
    return buf.getvalue()


def read_cohort_csv(path) -> list[dict]:
    """Read a cohort table; numbers become floats (``marrow_sites_used`` an int), empty cells None.

    Raises
    ------
    CohortTableError
        A column of :data:`COHORT_COLUMNS` is missing, or a numeric cell is not a number (line and column named).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CohortTableError(f"cohort table {path} not found") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [k for k in COLUMN_KEYS if k not in (reader.fieldnames or [])]
    if missing:
        raise CohortTableError(f"{path.name} line 1: missing column(s) {', '.join(missing)}")
    rows = []
    for record in reader:
        line = reader.line_num
        row = {}
        for key in COLUMN_KEYS:
            cell = (record.get(key) or "").strip()
            if key in TEXT_COLUMNS:
                row[key] = cell
            elif not cell:
                row[key] = None
            else:
                try:
                    value = float(cell)
                except ValueError:
                    raise CohortTableError(f"{path.name} line {line}, column {key!r}: {cell!r} is not a number") from None
                row[key] = int(value) if key == "marrow_sites_used" else value
        if row["uptake"] not in ("yes", "no"):
            raise CohortTableError(f"{path.name} line {line}, column 'uptake': {row['uptake']!r}: write yes or no")
        rows.append(row)
    return rows
