"""The cohort table (``cohort.csv``): one row per study, the input of ``stats``.

The column set is :data:`~..outputs.cohort_row.COHORT_COLUMNS` (in that order), shared by the batch, the ``stats``
command, the Slicer table node and the panel's "Add study to cohort"; this module adds each column's unit and
description, and reads and writes the CSV. Empty cells are missing values.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import PentixaforQuantError
from ..measure.sites import MARROW_SITES
from ..outputs.cohort_row import COHORT_COLUMNS as COLUMN_KEYS
from ..outputs.cohort_row import COHORT_TEXT_COLUMNS as TEXT_COLUMNS

__all__ = ["CohortColumn", "COHORT_COLUMNS", "COLUMN_KEYS", "TEXT_COLUMNS", "MEASUREMENT_KEYS", "CohortTableError",
           "manifest_row", "cohort_csv_text", "read_cohort_csv"]


@dataclass(frozen=True)
class CohortColumn:
    key: str
    unit: str
    description: str


COHORT_COLUMNS = (
    CohortColumn("study_id", "", "Study (scan) identifier from the manifest"),
    CohortColumn("diagnosis", "", "Diagnosis (per-diagnosis statistics)"),
    CohortColumn("group", "", "Patient group (marrow statistics)"),
    CohortColumn("uptake", "", "yes / no: discernible uptake (scans without are counted, not measured); "
                               "empty = not recorded"),
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
    CohortColumn("warnings", "", "Warnings of the study, separated by ' | '"),
    CohortColumn("error", "", "Why the study could not be measured, or the sites that could not be (' | ')"),
)
assert tuple(c.key for c in COHORT_COLUMNS) == COLUMN_KEYS, "units and descriptions for every cohort column"
MEASUREMENT_KEYS = ("suv_max", "suv_mean", "suv_peak", "volume_ml", "tbr", "blood_pool_suv_mean", *MARROW_SITES,
                    "mean_suv_max", "marrow_sites_used")


class CohortTableError(PentixaforQuantError):
    """A cohort table cannot be read (missing column, a value that is not a number), naming line and column."""


def manifest_row(entry, measurements: dict | None = None, *, warnings: str = "", error: str = "") -> dict:
    """The cohort row of a manifest entry: its fields, and when measured the measurement columns of the study's
    cohort row (:func:`~..outputs.cohort_row.cohort_row`, made where the study ran; None = not measured)."""
    row = dict.fromkeys(COLUMN_KEYS)
    row.update(study_id=entry.study_id, diagnosis=entry.diagnosis, group=entry.group,
               uptake="yes" if entry.uptake else "no", activity_mbq=entry.activity_mbq,
               peptide_mass_ug=entry.peptide_mass_ug,
               specific_activity_mbq_per_ug=entry.specific_activity_mbq_per_ug)
    if measurements:
        row.update({k: measurements.get(k) for k in MEASUREMENT_KEYS})
    row["warnings"] = warnings
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
                if not math.isfinite(value):  # "nan": how a Slicer table saved as CSV writes an empty number
                    value = None
                row[key] = int(value) if key == "marrow_sites_used" and value is not None else value
        row["uptake"] = row["uptake"].lower()
        if row["uptake"] not in ("yes", "no", ""):
            raise CohortTableError(f"{path.name} line {line}, column 'uptake': {row['uptake']!r}: write yes, no "
                                   "or leave it empty (not recorded)")
        rows.append(row)
    return rows
