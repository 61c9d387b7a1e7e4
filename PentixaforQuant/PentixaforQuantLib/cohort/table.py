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
from ..outputs.manifest import EXCLUDE_COLUMN  # declared with the manifest columns: the batch carries it here
from ..outputs.cohort_row import COHORT_COLUMNS as COLUMN_KEYS
from ..outputs.cohort_row import COHORT_TEXT_COLUMNS as TEXT_COLUMNS
from .value_ranges import COHORT_VALUE_RANGES, INTEGER_COLUMNS

__all__ = ["CohortColumn", "COHORT_COLUMNS", "COLUMN_KEYS", "TEXT_COLUMNS", "MEASUREMENT_KEYS", "CohortTableError",
           "CohortTable", "EXCLUDE_COLUMN", "REQUIRED_COLUMNS", "manifest_row", "cohort_csv_text", "read_cohort_table",
           "read_cohort_csv"]


@dataclass(frozen=True)
class CohortColumn:
    key: str
    unit: str
    description: str


COHORT_COLUMNS = (
    CohortColumn("study_id", "", "Study (scan) identifier from the manifest"),
    CohortColumn("diagnosis", "", "Diagnosis (per-diagnosis statistics)"),
    CohortColumn("group", "", "Patient group (marrow statistics)"),
    CohortColumn("uptake", "", "yes / no: discernible uptake (scans without are counted and left out of the "
                               "lesion statistics); empty = not recorded"),
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
    """The cohort row of a manifest entry: its fields (with its ``exclude`` cell), and when measured the measurement
    columns of the study's cohort row (:func:`~..outputs.cohort_row.cohort_row`, made where the study ran; None =
    not measured)."""
    row = dict.fromkeys(COLUMN_KEYS)
    row.update(study_id=entry.study_id, diagnosis=entry.diagnosis, group=entry.group,
               uptake="yes" if entry.uptake else "no", activity_mbq=entry.activity_mbq,
               peptide_mass_ug=entry.peptide_mass_ug,
               specific_activity_mbq_per_ug=entry.specific_activity_mbq_per_ug)
    if measurements:
        row.update({k: measurements.get(k) for k in MEASUREMENT_KEYS})
    row["warnings"] = warnings
    row["error"] = error
    row[EXCLUDE_COLUMN] = entry.exclude
    return row


#: Columns written as given (the user's own numbers); every other number carries 7 significant digits, the
#: precision of the float32 image data it comes from (so 5.184 is not written as 5.1839999999999975).
_AS_GIVEN = frozenset({"activity_mbq", "peptide_mass_ug"})
SIGNIFICANT_DIGITS = 7


def _cell(value, key: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return repr(value) if key in _AS_GIVEN else f"{value:.{SIGNIFICANT_DIGITS}g}"
    return str(value)


def cohort_csv_text(rows: list[dict]) -> str:
    """The CSV text of a cohort table (header = :data:`COLUMN_KEYS`, then ``exclude`` when a row has one); the
    injected activity and peptide mass as given, measured and derived numbers with 7 significant digits."""
    keys = COLUMN_KEYS + ((EXCLUDE_COLUMN,) if any(row.get(EXCLUDE_COLUMN) for row in rows) else ())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    for row in rows:
        w.writerow([_cell(row.get(k), k) for k in keys])
    return buf.getvalue()


#: The one column every cohort table needs; the others are needed only by the statistics that use them.
REQUIRED_COLUMNS = ("study_id",)
#: Relative difference above which a stored derived value is reported as replaced by the recomputed one (the
#: table holds 7 significant digits).
_DERIVED_TOLERANCE = 1e-5


@dataclass
class CohortTable:
    """A checked cohort table: ``rows`` (every cohort column and ``exclude`` in each; None = empty number),
    ``columns`` (the cohort columns the file has) and ``warnings`` (one line each, naming the line)."""

    rows: list[dict]
    columns: tuple[str, ...]
    warnings: list[str]


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CohortTableError(f"cohort table {path} not found") from None
    except IsADirectoryError:
        raise CohortTableError(f"cohort table {path} is a folder; give the cohort.csv file") from None
    except OSError as exc:
        raise CohortTableError(f"cohort table {path}: {exc.strerror or exc}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) > 1 and (data[1:2] == b"\0" or data[:1] == b"\0")):
        raise CohortTableError(f"{path.name}: UTF-16 text; save the cohort table as UTF-8 CSV")
    if b"\0" in data:
        raise CohortTableError(f"{path.name}: a binary file, not a CSV text table")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CohortTableError(f"{path.name}: not UTF-8 text (byte {exc.start}); save the cohort table as UTF-8 "
                               "CSV") from None


def _spelling_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _merge_spellings(rows: list[dict], lines: list[int], column: str, name: str, warnings: list[str]) -> None:
    """Names of ``column`` that differ only in case or spaces are one name (the most used spelling, first seen on
    a tie), with a warning naming every spelling."""
    spellings: dict[str, dict[str, list[int]]] = {}
    for row, line in zip(rows, lines):
        if row[column]:
            spellings.setdefault(_spelling_key(row[column]), {}).setdefault(row[column], []).append(line)
    for variants in spellings.values():
        if len(variants) < 2:
            continue
        chosen = max(variants, key=lambda v: len(variants[v]))  # max keeps the first on a tie
        listed = "; ".join(f"{v!r} (line{'s' if len(ls) > 1 else ''} {', '.join(map(str, ls[:5]))}"
                           f"{', ...' if len(ls) > 5 else ''})" for v, ls in variants.items())
        warnings.append(f"{name}: {column} spellings that differ only in case or spaces are taken as one, "
                        f"{chosen!r}: {listed}")
        for row in rows:
            if row[column] in variants:
                row[column] = chosen


def _recompute_derived(row: dict, line: int, name: str, warnings: list[str]) -> None:
    """Specific activity = activity / peptide mass; meanSUVmax and the sites used from the site columns. A stored
    value that disagrees is replaced, with a warning (an edited activity must not leave a stale ratio)."""

    def replace_value(column, value):
        stored = row[column]
        differs = stored is not None and value is not None and \
            abs(stored - value) > _DERIVED_TOLERANCE * max(abs(value), 1e-12)
        if differs:
            warnings.append(f"{name} line {line}, column {column!r}: stored {stored:g} differs from the value "
                            f"recomputed from the table ({value:.7g}); the recomputed value is used")
        row[column] = value

    activity, mass = row["activity_mbq"], row["peptide_mass_ug"]
    if activity is not None and mass is not None:
        replace_value("specific_activity_mbq_per_ug", activity / mass)
    elif activity is not None or mass is not None:
        row["specific_activity_mbq_per_ug"] = None  # half an input: no ratio (a stored one would be stale)
    sites = [row[s] for s in MARROW_SITES if row[s] is not None]
    if sites:
        replace_value("mean_suv_max", sum(sites) / len(sites))
        if row["marrow_sites_used"] is not None and row["marrow_sites_used"] != len(sites):
            warnings.append(f"{name} line {line}, column 'marrow_sites_used': stored {row['marrow_sites_used']} "
                            f"but {len(sites)} site values are given; {len(sites)} is used")
        row["marrow_sites_used"] = len(sites)


def _number_cell(cell: str, key: str, where: str):
    try:
        value = float(cell)
    except ValueError:
        raise CohortTableError(f"{where}, column {key!r}: {cell!r} is not a number") from None
    if math.isnan(value):  # "nan": how a Slicer table saved as CSV writes an empty number
        return None
    rng = COHORT_VALUE_RANGES.get(key)
    if rng is not None and not rng.contains(value):
        raise CohortTableError(f"{where}, column {key!r}: {cell} is outside the plausible range: must be "
                               f"{rng.describe()} ({rng.what})")
    if key in INTEGER_COLUMNS:
        if not value.is_integer():
            raise CohortTableError(f"{where}, column {key!r}: {cell} is not a whole number")
        return int(value)
    return value


def read_cohort_table(path) -> CohortTable:
    """Read and check a cohort table (``cohort.csv``, or one made elsewhere with the same column names).

    - Only ``study_id`` is required; a statistic whose columns are missing is reported as not computed.
    - Every number is checked against :data:`~.value_ranges.COHORT_VALUE_RANGES` (the SUV header limits);
      ``nan`` and empty cells are missing values; infinities and text in a number column are refused.
    - ``study_id`` must be unique and not empty; ``uptake`` yes, no or empty.
    - Derived columns are recomputed (specific activity; meanSUVmax and the sites used when site values are
      given), a stored value that disagrees is named in a warning.
    - Diagnoses and groups that differ only in case or spaces are one (warning).

    Raises
    ------
    CohortTableError
        One line naming the file, the line, the column and the problem.
    """
    path = Path(path)
    name = path.name
    text = _decode(path)
    try:
        reader = csv.DictReader(io.StringIO(text))
        fieldnames = [f.strip() for f in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise CohortTableError(f"{name} line 1: not a CSV table ({exc})") from None
    if not fieldnames:
        raise CohortTableError(f"{name}: empty; the first line names the columns (study_id, ...)")
    reader.fieldnames = fieldnames
    for column in sorted({f for f in fieldnames if fieldnames.count(f) > 1}):
        raise CohortTableError(f"{name} line 1, column {column!r}: given more than once")
    missing = [k for k in REQUIRED_COLUMNS if k not in fieldnames]
    if missing:
        raise CohortTableError(f"{name} line 1: missing column(s) {', '.join(missing)} (the header names "
                               f"{', '.join(fieldnames[:8])}{', ...' if len(fieldnames) > 8 else ''})")
    warnings: list[str] = []
    known = set(COLUMN_KEYS) | {EXCLUDE_COLUMN}
    unknown = [f for f in fieldnames if f not in known and f]
    if unknown:
        warnings.append(f"{name} line 1: column(s) {', '.join(map(repr, unknown))} are not cohort columns; ignored")
    rows: list[dict] = []
    lines: list[int] = []
    first_line: dict[str, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            where = f"{name} line {line}"
            if None in record:
                raise CohortTableError(f"{where}: more cells than the header has columns")
            if not any((v or "").strip() for v in record.values()):
                continue  # blank line
            row = {}
            for key in (*COLUMN_KEYS, EXCLUDE_COLUMN):
                cell = (record.get(key) or "").strip()
                if key in TEXT_COLUMNS or key == EXCLUDE_COLUMN:
                    row[key] = cell
                elif not cell:
                    row[key] = None
                else:
                    row[key] = _number_cell(cell, key, where)
            if not row["study_id"]:
                raise CohortTableError(f"{where}, column 'study_id': empty")
            if row["study_id"] in first_line:
                raise CohortTableError(f"{where}, column 'study_id': {row['study_id']!r} is already used on line "
                                       f"{first_line[row['study_id']]}; every study once")
            first_line[row["study_id"]] = line
            row["uptake"] = row["uptake"].lower()
            if row["uptake"] not in ("yes", "no", ""):
                raise CohortTableError(f"{where}, column 'uptake': {row['uptake']!r}: write yes, no or leave it "
                                       "empty (not recorded)")
            _recompute_derived(row, line, name, warnings)
            rows.append(row)
            lines.append(line)
    except csv.Error as exc:
        raise CohortTableError(f"{name} line {reader.line_num}: not a CSV table ({exc})") from None
    if not rows:
        raise CohortTableError(f"{name}: no studies (only the header line)")
    _merge_spellings(rows, lines, "diagnosis", name, warnings)
    _merge_spellings(rows, lines, "group", name, warnings)
    present = tuple(k for k in COLUMN_KEYS if k in fieldnames)
    if "specific_activity_mbq_per_ug" not in present and {"activity_mbq", "peptide_mass_ug"} <= set(present):
        present += ("specific_activity_mbq_per_ug",)  # recomputed from its inputs
    return CohortTable(rows=rows, columns=present, warnings=warnings)


def read_cohort_csv(path) -> list[dict]:
    """The rows of :func:`read_cohort_table` (numbers as floats, ``marrow_sites_used`` an int, empty cells None).

    Raises
    ------
    CohortTableError
        See :func:`read_cohort_table`.
    """
    return read_cohort_table(path).rows
