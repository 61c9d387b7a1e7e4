"""The one manifest reader: a CSV with one row per study, read by the batch (``cohort/manifest.py``) and the web
station's worklist (``web/worklist.py``) with the same rules.

Columns: ``study_id``, ``dicom`` (folder of the PET series), ``points`` (a ``.mrk.json`` or CSV), the cohort
columns ``diagnosis``, ``group``, ``uptake`` (yes/no), ``activity_mbq`` and ``peptide_mass_ug``, the optional
analysis column ``exclude`` (why a study is left out of an analysis; the batch carries it into ``cohort.csv``),
the optional per-row inputs of the table of inputs (``inputs.py``: each input with a ``manifest_column``): the SUV
normalisation, the series, the SUV overrides and the protocol parameters. Each face says which columns it
requires. The delimiter is found from the header line (``,``, ``;`` or tab, as spreadsheets write them).

Every value is checked here, with the limits the rest of the program uses: the protocol columns with the
protocol's ranges (``measure/parameter_ranges.py``), the weight, height, activity and half-life with the
plausibility limits of the DICOM header values (``suv/limits.py``; an activity of 150 000 MBq is refused naming
the likely unit, kBq). A study id that is empty, already used or gives the same folder name as another is refused.
A problem in the header refuses the file (:class:`ManifestError`); a problem in a row is listed with that row,
named by its line (the header is line 1) and column, and the face decides (batch: the whole manifest is refused;
web station: the row is shown as refused).
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import PentixaforQuantError
from ..inputs import OVERRIDE, PROTOCOL, by_manifest_column
from ..suv.limits import DOSE_RANGE_BQ, HALF_LIFE_RANGE_S, HEIGHT_RANGE_M, WEIGHT_RANGE_KG
from ..suv.overrides import parse_override_datetime
from .folder_names import safe_folder_name

__all__ = ["ManifestError", "ManifestRow", "ManifestTable", "IDENTITY_COLUMNS", "COHORT_COLUMNS", "SUV_COLUMNS",
           "PROTOCOL_COLUMNS", "EXCLUDE_COLUMN", "ANALYSIS_COLUMNS", "VIEWING_COLUMNS", "KNOWN_COLUMNS", "read_manifest_table", "protocol_for", "yes_no"]

IDENTITY_COLUMNS = ("study_id", "dicom", "points")
COHORT_COLUMNS = ("diagnosis", "group", "uptake", "activity_mbq", "peptide_mass_ug")
_BY_COLUMN = by_manifest_column()
#: Per-study SUV inputs: normalisation, series choice and header overrides (as ``quantify``'s options).
SUV_COLUMNS = tuple(c for c, i in _BY_COLUMN.items() if i.group != PROTOCOL)
#: Per-study protocol parameters (as ``quantify``'s options).
PROTOCOL_COLUMNS = tuple(c for c, i in _BY_COLUMN.items() if i.group == PROTOCOL)
#: Columns only shown, never measured (the batch reads past them): ``ct``, a CT or MR folder the reading station
#: shows under the PET.
VIEWING_COLUMNS = ("ct",)
#: Why a study is left out of an analysis, as the papers did: ``REASON`` (every statistic), ``marrow: REASON`` or
#: ``lesion: REASON`` (that analysis only). Never measured: the batch writes it into ``cohort.csv`` as given, where
#: ``stats`` reads it (``cohort/analysis.py``).
EXCLUDE_COLUMN = "exclude"
#: Columns of the cohort analysis, not of the measurement (optional).
ANALYSIS_COLUMNS = (EXCLUDE_COLUMN,)
KNOWN_COLUMNS = IDENTITY_COLUMNS + COHORT_COLUMNS + SUV_COLUMNS + PROTOCOL_COLUMNS + ANALYSIS_COLUMNS + VIEWING_COLUMNS

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

_ACTIVITY_MBQ = ((DOSE_RANGE_BQ[0] / 1e6, DOSE_RANGE_BQ[1] / 1e6), "MBq",
                 ((1e-3, "in kBq", "MBq"), (1e3, "in GBq", "MBq"), (37.0, "in mCi", "MBq")))
#: Plausibility limits of the numeric columns, in the column's unit: those of the DICOM header values.
_PLAUSIBLE = {
    "weight_kg": (WEIGHT_RANGE_KG, "kg", ((1e-3, "in grams", "kg"),)),
    "height_m": (HEIGHT_RANGE_M, "m", ((1e-2, "in centimetres", "m"), (1e-3, "in millimetres", "m"))),
    "dose_mbq": _ACTIVITY_MBQ,  # the SUV override and the cohort's activity are the same injected activity
    "activity_mbq": _ACTIVITY_MBQ,
    "half_life_s": (HALF_LIFE_RANGE_S, "s", ((60.0, "in minutes", "s"), (3600.0, "in hours", "s"))),
}


class ManifestError(PentixaforQuantError):
    """The manifest cannot be run: each line of the message names a line, a column and the problem."""

    def __init__(self, problems: list[str], *, field: str | None = None):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems), field=field)


@dataclass(frozen=True)
class ManifestRow:
    """One row, its values checked.

    Attributes
    ----------
    line : int
        Line in the file (header = 1).
    cells : dict
        Column -> text as written (stripped).
    problems : tuple of str
        Every problem of the row, each naming the file, the line and the column; empty when the row is usable.
    readable : bool
        False when the row's cells could not be read at all (wrong number of cells, control characters): only
        ``line`` and ``problems`` are then set.
    study_id, folder : str
        The id as written, and the output folder name made from it (:func:`safe_folder_name`).
    uptake : bool
        True when the column is absent.
    exclude : str
        The ``exclude`` cell ("" when empty or absent).
    activity_mbq, peptide_mass_ug : float or None
    normalization, series_uid : str or None
        The row's SUV normalisation and series (None = the run's).
    overrides : dict
        ``SUVOverrides`` keyword arguments given in the row.
    protocol : dict
        Protocol columns given in the row (column -> parsed value, in the column's unit: threshold in %).
    """

    line: int
    cells: dict
    problems: tuple[str, ...]
    readable: bool = True
    study_id: str = ""
    folder: str = ""
    uptake: bool = True
    exclude: str = ""
    activity_mbq: float | None = None
    peptide_mass_ug: float | None = None
    normalization: str | None = None
    series_uid: str | None = None
    overrides: dict = field(default_factory=dict)
    protocol: dict = field(default_factory=dict)

    @property
    def panel_settings(self) -> dict:
        """The row's SUV and protocol inputs as panel fields (parameter-node name -> value in the panel's unit;
        an override as its text), for a face that opens the study in the panel. Inputs without a panel field
        (series, A50 background) are left out; see :meth:`unpanelled`."""
        out = {}
        for column, text in self.cells.items():
            i = _BY_COLUMN.get(column)
            if i is None or not text or i.panel_field is None:
                continue
            if i.group == OVERRIDE:
                out[i.panel_field] = text
            elif column == "suv":
                out[i.panel_field] = self.normalization
            elif i.flag_choice is not None:
                out[i.panel_field] = i.flag_choice if self.protocol[column] else i.default
            else:
                out[i.panel_field] = self.protocol[column]
        return out

    def unpanelled(self) -> list[str]:
        """The row's columns the panel cannot take: an input without a panel field, or a choice it does not offer."""
        out = []
        for column, text in self.cells.items():
            i = _BY_COLUMN.get(column)
            if i is None or not text or column == "series_uid":
                continue
            if i.panel_field is None or (i.panel_choices and self.normalization not in i.panel_choices):
                out.append(column)
        return out


@dataclass(frozen=True)
class ManifestTable:
    path: Path
    columns: tuple[str, ...]
    rows: tuple[ManifestRow, ...]

    @property
    def root(self) -> Path:
        """The folder relative paths are relative to."""
        return self.path.parent.resolve()


def _number(text: str, *, positive: bool = False):
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError
    if positive and value <= 0:
        raise ValueError
    return value


def yes_no(text: str) -> bool:
    """``yes``/``no`` (also y/n, true/false, 1/0); ValueError otherwise."""
    t = text.strip().lower()
    if t in ("yes", "y", "true", "1"):
        return True
    if t in ("no", "n", "false", "0"):
        return False
    raise ValueError


class _Refused(Exception):
    """A cell that cannot be used: the message says what was expected (internal to the reader)."""


def _plausible(column: str, value: float) -> float:
    limits = _PLAUSIBLE.get(column)
    if limits is None:
        return value
    (lo, hi), unit, hints = limits
    if not lo <= value <= hi:
        hint = next((f"; {label}? that would be {value * factor:.4g} {shown}" for factor, label, shown in hints
                     if lo <= value * factor <= hi), "")
        raise _Refused(f"{value:g} {unit} is outside {lo:g}-{hi:g} {unit}, the limits of the DICOM header value{hint}")
    return value


def _parse_value(column: str, text: str):
    """Parse one input column by its entry in the table of inputs; raises _Refused with what was expected."""
    i = _BY_COLUMN[column]
    if i.flag_choice is not None:
        try:
            return yes_no(text)
        except ValueError:
            raise _Refused("must be yes or no") from None
    if i.key in ("injection_datetime", "scan_datetime"):
        try:  # the rule of the command line's --injection-time: a date without a clock time is refused
            return parse_override_datetime(text, column)
        except PentixaforQuantError:
            raise _Refused("must be an ISO date-time with a clock time, such as 2024-05-02T09:58:00") from None
    if i.choices:
        value = text.upper() if i.key == "sex" else text
        allowed = {str(c): c for c in i.choice_values}
        if value not in allowed:
            names = [str(c) for c in i.choice_values]
            raise _Refused(f"must be {', '.join(names[:-1])} or {names[-1]}" if len(names) > 2
                           else f"must be {names[0]} or {names[1]}")
        return allowed[value]
    if i.type is str:
        return text
    try:
        value = _number(text, positive=column != "background_suv")
    except ValueError:
        raise _Refused("must be a positive number" if column != "background_suv" else "must be a number") from None
    return _plausible(column, value)


def protocol_for(protocol_columns: dict, base):
    """The run's ``ProtocolParameters`` with a row's protocol columns applied (each in its column's unit)."""
    iso = {}
    top = {}
    for column, value in protocol_columns.items():
        i = _BY_COLUMN[column]
        if i.flag_choice is not None:
            value = i.flag_choice if value else i.default
        elif i.type is float:
            value = i.from_shown(value)
        if i.key.startswith("isocontour."):
            iso[i.key.split(".", 1)[1]] = value
        else:
            top[i.key] = value
    params = base.with_isocontour(**iso) if iso else base
    return replace(params, **top) if top else params


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _header(name: str, header: list[str], required) -> list[str]:
    problems = []
    for number, column in enumerate(header, start=1):
        if column not in KNOWN_COLUMNS:
            close = difflib.get_close_matches(column, KNOWN_COLUMNS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known columns: {', '.join(KNOWN_COLUMNS)}"
            problems.append(f"{name} line 1, column {number} {column!r}: unknown column{hint}")
    if len(set(header)) != len(header):
        for column in sorted({c for c in header if header.count(c) > 1}):
            problems.append(f"{name} line 1, column {column!r}: given more than once")
    for column in required:
        if column not in header:
            problems.append(f"{name} line 1: required column {column!r} is missing")
    return problems


def read_manifest_table(path, *, required=IDENTITY_COLUMNS[:2], base_parameters=None) -> ManifestTable:
    """Read a manifest and check every value (see the module text).

    Parameters
    ----------
    required : tuple of str
        The columns this face needs (batch: all of ``IDENTITY_COLUMNS + COHORT_COLUMNS``).
    base_parameters : ProtocolParameters, optional
        The run's parameters, with which a row's protocol columns are checked (default: the protocol's).

    Raises
    ------
    ManifestError
        The file cannot be read, or its header names an unknown, repeated or missing column.
    """
    from ..measure.protocol import ProtocolParameters

    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManifestError([f"manifest {path} not found"]) from None
    except UnicodeDecodeError:
        raise ManifestError([f"{name}: not UTF-8 text; save the manifest as UTF-8 CSV"]) from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ManifestError([f"{name} line 1: empty; the first line names the columns ({', '.join(required)})"])
    reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(lines[0]))
    header = [h.strip() for h in next(reader)]
    problems = _header(name, header, required)
    if problems:
        raise ManifestError(problems)

    base = base_parameters or ProtocolParameters()
    ids = _StudyIds()
    rows: list[ManifestRow] = []
    line_start = 2
    for record in reader:
        line = line_start
        line_start = reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue  # blank line
        where = f"{name} line {line}"
        if len(record) != len(header):
            rows.append(ManifestRow(line, {}, (f"{where}: {len(record)} cells where the header has {len(header)} "
                                               "columns",), readable=False))
            continue
        cells = {column: cell.strip() for column, cell in zip(header, record)}
        rows.append(_row(line, where, cells, base, ids))
    return ManifestTable(path=path, columns=tuple(header), rows=tuple(rows))


class _StudyIds:
    """The study ids and folder names seen so far, to refuse a repeated one naming the first line."""

    def __init__(self):
        self.line_of_id: dict[str, int] = {}
        self.line_of_folder: dict[str, tuple[int, str]] = {}

    def check(self, study_id: str, folder: str, line: int) -> str | None:
        problem = None
        if not study_id:
            problem = "empty"
        elif not folder:
            problem = f"{study_id!r} leaves no usable folder name"
        elif study_id in self.line_of_id:
            problem = f"{study_id!r} is already used on line {self.line_of_id[study_id]}"
        elif folder.lower() in self.line_of_folder:
            other_line, other_id = self.line_of_folder[folder.lower()]
            problem = (f"{study_id!r} and {other_id!r} (line {other_line}) give the same folder name {folder!r}; "
                       "make the ids differ in letters or digits")
        if study_id and folder:
            self.line_of_id.setdefault(study_id, line)
            self.line_of_folder.setdefault(folder.lower(), (line, study_id))
        return problem


def _row(line: int, where: str, cells: dict, base, ids: _StudyIds) -> ManifestRow:
    problems: list[str] = []

    def bad(column, message):
        problems.append(f"{where}, column {column!r}: {message}")

    for column, cell in cells.items():
        if _CONTROL.search(cell):
            bad(column, "contains a control character")
    if problems:
        return ManifestRow(line, cells, tuple(problems), readable=False)
    study_id = cells.get("study_id", "")
    folder = safe_folder_name(study_id)
    problem = ids.check(study_id, folder, line)
    if problem:
        bad("study_id", problem)
    uptake = True
    if "uptake" in cells:
        try:
            uptake = yes_no(cells["uptake"])
        except ValueError:
            bad("uptake", f"{cells['uptake']!r}: write yes or no")
    numbers = {}
    for column in ("activity_mbq", "peptide_mass_ug"):
        cell = cells.get(column, "")
        if not cell:
            numbers[column] = None
            continue
        try:
            numbers[column] = _plausible(column, _number(cell, positive=True))
        except ValueError:
            bad(column, f"{cell!r} is not a positive number")
        except _Refused as exc:
            bad(column, f"{cell!r}: {exc}")
    overrides, protocol, normalization, series_uid = {}, {}, None, None
    for column in SUV_COLUMNS + PROTOCOL_COLUMNS:
        cell = cells.get(column, "")
        if not cell:
            continue
        try:
            value = _parse_value(column, cell)
        except _Refused as exc:
            bad(column, f"{cell!r}: {exc}")
            continue
        i = _BY_COLUMN[column]
        if column == "suv":
            normalization = value
        elif column == "series_uid":
            series_uid = value
        elif i.group == PROTOCOL:
            protocol[column] = value
        else:
            overrides[i.key] = i.from_shown(value) if i.type is float else value
    if protocol and not problems:
        try:
            protocol_for(protocol, base)
        except PentixaforQuantError as exc:  # outside the parameter's stated range
            problems.append(f"{where}: protocol columns: {exc}")
    return ManifestRow(line, cells, tuple(problems), study_id=study_id, folder=folder, uptake=uptake,
                       exclude=cells.get(EXCLUDE_COLUMN, ""), activity_mbq=numbers.get("activity_mbq"), peptide_mass_ug=numbers.get("peptide_mass_ug"),
                       normalization=normalization, series_uid=series_uid, overrides=overrides, protocol=protocol)
