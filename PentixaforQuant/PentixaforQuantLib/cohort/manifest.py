"""The cohort manifest: one CSV row per study, checked whole before any study is read.

Required columns: ``study_id``, ``dicom`` (folder of the PET series), ``points`` (a ``.mrk.json`` or CSV, as
``quantify`` takes), ``diagnosis``, ``group``, ``uptake`` (yes/no: a scan without discernible uptake is counted,
not measured; its ``dicom`` and ``points`` may be empty), ``activity_mbq`` and ``peptide_mass_ug`` (empty when
unknown). Optional columns override, for their row, the SUV inputs (:data:`SUV_COLUMNS`) and the protocol
parameters (:data:`PROTOCOL_COLUMNS`) of the run. Relative paths are relative to the manifest's folder.

Every problem is named by its line (the header is line 1) and column; all of them are listed at once in one
:class:`ManifestError`, and no study is touched until the manifest is clean.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import PentixaforQuantError, SUVError
from ..outputs.folder_names import safe_folder_name
from ..suv.overrides import parse_override_datetime

__all__ = ["ManifestError", "ManifestEntry", "Manifest", "REQUIRED_COLUMNS", "SUV_COLUMNS", "PROTOCOL_COLUMNS",
           "read_manifest", "protocol_for"]

REQUIRED_COLUMNS = ("study_id", "dicom", "points", "diagnosis", "group", "uptake", "activity_mbq",
                    "peptide_mass_ug")
#: Per-study SUV inputs: normalisation, series choice and header overrides (as ``quantify``'s options).
SUV_COLUMNS = ("suv", "series_uid", "weight_kg", "height_m", "sex", "dose_mbq", "injection_time", "scan_time",
               "half_life_s")
#: Per-study protocol parameters (as ``quantify``'s options).
PROTOCOL_COLUMNS = ("threshold", "a50", "background_suv", "connectivity", "search_radius_mm", "max_volume_ml",
                    "peak", "peak_radius_mm", "blood_pool_diameter_mm", "marrow_diameter_mm", "tbr_numerator")
KNOWN_COLUMNS = REQUIRED_COLUMNS + SUV_COLUMNS + PROTOCOL_COLUMNS

_NORMALIZATIONS = ("bw", "lbm", "lbm-james128", "bsa", "ibw")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ManifestError(PentixaforQuantError):
    """The manifest cannot be run: each line of the message names a line, a column and the problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ManifestEntry:
    """One checked manifest row.

    Attributes
    ----------
    line : int
        Line in the manifest file (header = 1).
    study_id, folder : str
        The id as written, and the output folder name made from it (:func:`safe_folder_name`).
    dicom, points : str or None
        Absolute paths (None only for a scan without uptake).
    diagnosis, group : str
    uptake : bool
    activity_mbq, peptide_mass_ug : float or None
    normalization : str or None
        SUV normalisation for this study (None = the run's).
    series_uid : str or None
    overrides : dict
        ``SUVOverrides`` keyword arguments given in the row.
    protocol : dict
        Protocol columns given in the row (column -> parsed value).
    """

    line: int
    study_id: str
    folder: str
    dicom: str | None
    points: str | None
    diagnosis: str
    group: str
    uptake: bool
    activity_mbq: float | None
    peptide_mass_ug: float | None
    normalization: str | None = None
    series_uid: str | None = None
    overrides: dict = field(default_factory=dict)
    protocol: dict = field(default_factory=dict)

    @property
    def specific_activity_mbq_per_ug(self) -> float | None:
        """Injected activity / peptide mass (MBq/µg), as Buck et al. 2022 record it per scan."""
        if self.activity_mbq is None or not self.peptide_mass_ug:
            return None
        return self.activity_mbq / self.peptide_mass_ug


@dataclass(frozen=True)
class Manifest:
    path: Path
    entries: tuple[ManifestEntry, ...]
    columns: tuple[str, ...]


def _number(text: str, *, positive: bool = False):
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError
    if positive and value <= 0:
        raise ValueError
    return value


def _yes_no(text: str) -> bool:
    t = text.strip().lower()
    if t in ("yes", "y", "true", "1"):
        return True
    if t in ("no", "n", "false", "0"):
        return False
    raise ValueError


def _parse_value(column: str, text: str):
    """Parse one optional column; raises ValueError with what was expected."""
    if column == "suv":
        if text not in _NORMALIZATIONS:
            raise ValueError(f"must be one of {', '.join(_NORMALIZATIONS)}")
        return text
    if column == "series_uid":
        return text
    if column == "sex":
        if text.upper() not in ("M", "F", "O"):
            raise ValueError("must be M, F or O")
        return text.upper()
    if column in ("injection_time", "scan_time"):
        try:  # the rule of the command line's --injection-time: a date without a clock time is refused
            return parse_override_datetime(text, column)
        except SUVError:
            raise ValueError("must be an ISO date-time with a clock time, such as 2024-05-02T09:58:00") from None
    if column == "a50":
        try:
            return _yes_no(text)
        except ValueError:
            raise ValueError("must be yes or no") from None
    if column == "connectivity":
        if text not in ("6", "18", "26"):
            raise ValueError("must be 6, 18 or 26")
        return int(text)
    if column == "peak":
        if text not in ("global", "local"):
            raise ValueError("must be global or local")
        return text
    if column == "tbr_numerator":
        if text not in ("suv_max", "suv_peak", "suv_mean"):
            raise ValueError("must be suv_max, suv_peak or suv_mean")
        return text
    try:
        return _number(text, positive=column != "background_suv")
    except ValueError:
        raise ValueError("must be a positive number" if column != "background_suv" else "must be a number") from None


def protocol_for(protocol_columns: dict, base):
    """The run's ``ProtocolParameters`` with a row's protocol columns applied (threshold in %)."""
    iso = {}
    top = {}
    for column, value in protocol_columns.items():
        if column == "threshold":
            iso["threshold_fraction"] = value / 100.0
        elif column == "a50":
            iso["method"] = "a50" if value else "fixed"
        elif column in ("background_suv", "connectivity", "search_radius_mm", "max_volume_ml"):
            iso[column] = value
        elif column == "peak":
            top["peak_variant"] = value
        else:
            top[column] = value
    params = base.with_isocontour(**iso) if iso else base
    return replace(params, **top) if top else params


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def read_manifest(path, *, base_parameters=None) -> Manifest:
    """Read and check a manifest (see the module text); raises :class:`ManifestError` listing every problem.

    ``base_parameters`` (the run's ``ProtocolParameters``) lets the row's protocol columns be checked now, so a
    bad value stops the run before any work.
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
        raise ManifestError([f"{name} line 1: empty; the first line names the columns ({', '.join(REQUIRED_COLUMNS)})"])
    reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(lines[0]))
    header = [h.strip() for h in next(reader)]
    problems: list[str] = []
    for number, column in enumerate(header, start=1):
        if column not in KNOWN_COLUMNS:
            close = difflib.get_close_matches(column, KNOWN_COLUMNS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known columns: {', '.join(KNOWN_COLUMNS)}"
            problems.append(f"{name} line 1, column {number} {column!r}: unknown column{hint}")
    if len(set(header)) != len(header):
        for column in sorted({c for c in header if header.count(c) > 1}):
            problems.append(f"{name} line 1, column {column!r}: given more than once")
    for column in REQUIRED_COLUMNS:
        if column not in header:
            problems.append(f"{name} line 1: required column {column!r} is missing")
    if problems:
        raise ManifestError(problems)

    base = base_parameters or ProtocolParameters()
    root = path.parent.resolve()
    entries: list[ManifestEntry] = []
    first_line_of_id: dict[str, int] = {}
    first_line_of_folder: dict[str, tuple[int, str]] = {}
    line_start = 2
    for record in reader:
        line = line_start
        line_start = reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue  # blank line
        where = f"{name} line {line}"
        if len(record) != len(header):
            problems.append(f"{where}: {len(record)} cells where the header has {len(header)} columns")
            continue
        cells = {column: cell.strip() for column, cell in zip(header, record)}
        row_problems: list[str] = []

        def bad(column, message, row_problems=row_problems, where=where):
            row_problems.append(f"{where}, column {column!r}: {message}")

        for column, cell in cells.items():
            if _CONTROL.search(cell):
                bad(column, "contains a control character")
        if row_problems:
            problems += row_problems
            continue
        study_id = cells["study_id"]
        folder = safe_folder_name(study_id)
        if not study_id:
            bad("study_id", "empty")
        elif not folder:
            bad("study_id", f"{study_id!r} leaves no usable folder name")
        elif study_id in first_line_of_id:
            bad("study_id", f"{study_id!r} is already used on line {first_line_of_id[study_id]}")
        elif folder.lower() in first_line_of_folder:
            other_line, other_id = first_line_of_folder[folder.lower()]
            bad("study_id", f"{study_id!r} and {other_id!r} (line {other_line}) give the same folder name "
                            f"{folder!r}; make the ids differ in letters or digits")
        if study_id and folder:
            first_line_of_id.setdefault(study_id, line)
            first_line_of_folder.setdefault(folder.lower(), (line, study_id))

        try:
            uptake = _yes_no(cells["uptake"])
        except ValueError:
            bad("uptake", f"{cells['uptake']!r}: write yes or no")
            uptake = True

        def existing(column, want_dir):
            cell = cells[column]
            if not cell:
                if uptake:
                    bad(column, "empty (needed for a scan with uptake)")
                return None
            target = Path(cell)
            target = (target if target.is_absolute() else root / target).resolve()
            if want_dir and not target.is_dir():
                bad(column, f"{cell!r}: folder not found" if not target.exists() else f"{cell!r}: not a folder")
                return None
            if not want_dir:
                if not target.is_file():
                    bad(column, f"{cell!r}: file not found" if not target.exists() else f"{cell!r}: not a file")
                    return None
                if not target.name.lower().endswith((".json", ".csv", ".tsv", ".txt")):
                    bad(column, f"{cell!r}: use a Slicer markups file (.mrk.json) or a CSV (label,r,a,s)")
                    return None
            return str(target)

        dicom = existing("dicom", True)
        points = existing("points", False)
        numbers = {}
        for column in ("activity_mbq", "peptide_mass_ug"):
            cell = cells[column]
            if not cell:
                numbers[column] = None
                continue
            try:
                numbers[column] = _number(cell, positive=True)
            except ValueError:
                bad(column, f"{cell!r} is not a positive number")
        overrides, protocol, normalization, series_uid = {}, {}, None, None
        for column in SUV_COLUMNS + PROTOCOL_COLUMNS:
            cell = cells.get(column, "")
            if not cell:
                continue
            try:
                value = _parse_value(column, cell)
            except ValueError as exc:
                bad(column, f"{cell!r}: {exc}")
                continue
            if column == "suv":
                normalization = value
            elif column == "series_uid":
                series_uid = value
            elif column in PROTOCOL_COLUMNS:
                protocol[column] = value
            elif column == "dose_mbq":
                overrides["dose_bq"] = value * 1e6
            elif column == "injection_time":
                overrides["injection_datetime"] = value
            elif column == "scan_time":
                overrides["scan_datetime"] = value
            else:
                overrides[column] = value
        if protocol and not row_problems:
            try:
                protocol_for(protocol, base)
            except (ValueError, PentixaforQuantError) as exc:  # outside the parameter's stated range
                row_problems.append(f"{where}: protocol columns: {exc}")
        if row_problems:
            problems += row_problems
            continue
        entries.append(ManifestEntry(
            line=line, study_id=study_id, folder=folder, dicom=dicom, points=points, diagnosis=cells["diagnosis"],
            group=cells["group"], uptake=uptake, activity_mbq=numbers["activity_mbq"],
            peptide_mass_ug=numbers["peptide_mass_ug"], normalization=normalization, series_uid=series_uid,
            overrides=overrides, protocol=protocol,
        ))
    if problems:
        raise ManifestError(problems)
    if not entries:
        raise ManifestError([f"{name}: no studies (only the header line)"])
    return Manifest(path=path, entries=tuple(entries), columns=tuple(header))
