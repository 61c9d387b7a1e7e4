"""The cohort manifest: one CSV row per study, checked whole before any study is read.

Required columns: ``study_id``, ``dicom`` (folder of the PET series), ``points`` (a ``.mrk.json`` or CSV, as
``quantify`` takes), ``diagnosis``, ``group``, ``uptake`` (yes/no: a scan without discernible uptake is counted and
left out of the lesion statistics; its ``dicom`` and ``points`` may be empty, and then it is not measured; given,
it is measured, so a visually negative patient keeps its marrow values), ``activity_mbq`` and ``peptide_mass_ug``
(empty when unknown). Optional columns override, for their row, the SUV inputs (:data:`SUV_COLUMNS`) and the
protocol parameters (:data:`PROTOCOL_COLUMNS`) of the run; ``exclude`` (:data:`EXCLUDE_COLUMN`) gives why a study
is left out of an analysis, carried into ``cohort.csv``. Relative paths are relative to the manifest's folder.

The file is read and every value checked by the one manifest reader (``outputs/manifest.py``, which the web
station's worklist uses too); the batch adds that the files exist. Every problem is named by its line (the header
is line 1) and column; all of them are listed at once in one :class:`ManifestError`, and no study is touched
until the manifest is clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..outputs.manifest import (
    COHORT_COLUMNS,
    EXCLUDE_COLUMN,
    IDENTITY_COLUMNS,
    KNOWN_COLUMNS,
    PROTOCOL_COLUMNS,
    SUV_COLUMNS,
    ManifestError,
    ManifestRow,
    protocol_for,
    read_manifest_table,
)

__all__ = ["ManifestError", "ManifestEntry", "Manifest", "REQUIRED_COLUMNS", "SUV_COLUMNS", "PROTOCOL_COLUMNS",
           "EXCLUDE_COLUMN", "KNOWN_COLUMNS", "read_manifest", "protocol_for"]

REQUIRED_COLUMNS = IDENTITY_COLUMNS + COHORT_COLUMNS


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
    exclude : str
        Why the study is left out of an analysis (the ``exclude`` cell; "" = it is not).
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
    exclude: str = ""

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


def read_manifest(path, *, base_parameters=None) -> Manifest:
    """Read and check a manifest (see the module text); raises :class:`ManifestError` listing every problem.

    ``base_parameters`` (the run's ``ProtocolParameters``) lets the row's protocol columns be checked now, so a
    bad value stops the run before any work.
    """
    table = read_manifest_table(path, required=REQUIRED_COLUMNS, base_parameters=base_parameters)
    problems: list[str] = []
    entries: list[ManifestEntry] = []
    for row in table.rows:
        problems += row.problems
        if not row.readable:
            continue
        entry, file_problems = _entry(row, table.root, f"{table.path.name} line {row.line}")
        problems += file_problems
        if entry is not None and not row.problems:
            entries.append(entry)
    if problems:
        raise ManifestError(problems)
    if not entries:
        raise ManifestError([f"{table.path.name}: no studies (only the header line)"])
    return Manifest(path=table.path, entries=tuple(entries), columns=table.columns)


def _entry(row: ManifestRow, root: Path, where: str) -> tuple[ManifestEntry | None, list[str]]:
    """The batch's entry of a checked row: the files must exist (for a scan with uptake)."""
    problems: list[str] = []

    def bad(column, message):
        problems.append(f"{where}, column {column!r}: {message}")

    def existing(column, want_dir):
        cell = row.cells[column]
        if not cell:
            if row.uptake:
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
    if problems:
        return None, problems
    return ManifestEntry(
        line=row.line, study_id=row.study_id, folder=row.folder, dicom=dicom, points=points,
        diagnosis=row.cells["diagnosis"], group=row.cells["group"], uptake=row.uptake,
        activity_mbq=row.activity_mbq, peptide_mass_ug=row.peptide_mass_ug, normalization=row.normalization,
        series_uid=row.series_uid, overrides=row.overrides, protocol=row.protocol, exclude=row.exclude,
    ), problems
