"""The studies a reading station offers: a worklist from a folder of study folders or a manifest CSV.

Nothing here imports slicer or trame, so the rules (which paths are allowed, what a study id may be, a study's
reading state) are tested on their own. The browser never sends a path: it names a study by its index in the
worklist, and every file the station reads or writes is derived here from the folders given on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PentixaforQuantError
from ..outputs.folder_names import safe_folder_name
from ..outputs.manifest import ManifestError, read_manifest_table

__all__ = ["WorklistError", "Study", "Worklist", "safe_study_id", "NOT_READ", "IN_PROGRESS", "DONE", "REFUSED"]

#: Reading states shown in the page.
NOT_READ, IN_PROGRESS, DONE, REFUSED = "not read", "in progress", "done", "refused"



class WorklistError(PentixaforQuantError):
    """The worklist (folder or manifest) cannot be used; names the file and, for a manifest, the line."""


def safe_study_id(raw: str) -> str:
    """A study id usable as one folder name (:func:`~..outputs.folder_names.safe_folder_name`, the rule the cohort
    batch uses too); an id with no usable characters is refused."""
    cleaned = safe_folder_name(raw)
    if not cleaned:
        raise WorklistError(f"study id {raw!r} has no usable characters")
    return cleaned


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Study:
    """One study of the worklist.

    Attributes
    ----------
    study_id : str
        Safe id (see :func:`safe_study_id`); also the name of its output folder under ``--out``.
    dicom : Path or None
        The PET DICOM folder (resolved, inside the worklist's root); None when the entry was refused.
    problem : str or None
        Why the entry cannot be read (shown in the page instead of the study); the rest stays usable.
    points : Path or None
        A points file of the manifest (``points`` column), placed when the study is opened without a saved
        reading (e.g. an expert checking a reader's points).
    panel_settings : dict
        The manifest row's SUV normalisation, overrides and protocol parameters as panel fields (parameter-node
        name -> value), set when the study is opened without a saved reading: the numbers the batch gives.
    series_uid : str or None
        The manifest row's series, when the folder holds several PET series.
    anatomy : Path or None
        A CT or MR series folder of the manifest (``ct`` column), shown under the PET; without it, a CT or MR
        series in the study's own folder is shown (see ``anatomy.py``).
    """

    study_id: str
    dicom: Path | None
    problem: str | None = None
    points: Path | None = None
    panel_settings: dict = field(default_factory=dict)
    series_uid: str | None = None
    anatomy: Path | None = None


def _with_optional_files(study: Study, cells: dict, root: Path, where: str) -> Study:
    """The study with its manifest's ``points`` file and ``ct`` folder (each inside the manifest's folder and
    present), or refused naming the line."""
    from dataclasses import replace

    for column, name, is_there, what in (("points", "points", Path.is_file, "points file"),
                                         ("ct", "anatomy", Path.is_dir, "CT/MR folder")):
        given = cells.get(column)
        if not given:
            continue
        path = (root / given).resolve()
        if not _inside(path, root):
            return Study(study.study_id, None, f"{where}: {given} is outside the manifest's folder")
        if not is_there(path):
            return Study(study.study_id, None, f"{where}: no such {what} {given}")
        study = replace(study, **{name: path})
    return study


class Worklist:
    """Studies in a fixed order, and where each one's outputs go.

    Parameters
    ----------
    studies : list of Study
    out_dir : path
        Outputs of study ``s`` go to ``out_dir / s.study_id`` (written whole or not at all).
    """

    def __init__(self, studies: list[Study], out_dir):
        if not studies:
            raise WorklistError("the worklist holds no study")
        ids = [s.study_id for s in studies]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise WorklistError(f"study id {duplicates[0]!r} appears twice in the worklist")
        self.studies = list(studies)
        self.out_dir = Path(out_dir).resolve()

    # ------------------------------------------------------------------------------------------ building
    @classmethod
    def single(cls, dicom_dir, out_dir) -> Worklist:
        """A worklist of one study: the given PET DICOM folder."""
        path = Path(dicom_dir).resolve()
        if not path.is_dir():
            raise WorklistError(f"no such folder: {dicom_dir}")
        return cls([Study(safe_study_id(path.name), path)], out_dir)

    @classmethod
    def from_path(cls, source, out_dir) -> Worklist:
        """A folder of study folders (each one study, named by its folder) or a manifest CSV."""
        path = Path(source)
        if path.is_dir():
            return cls.from_folder(path, out_dir)
        if path.is_file():
            return cls.from_manifest(path, out_dir)
        raise WorklistError(f"no such worklist folder or manifest: {source}")

    @classmethod
    def from_folder(cls, folder, out_dir) -> Worklist:
        root = Path(folder).resolve()
        studies = []
        for child in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            resolved = child.resolve()
            if not _inside(resolved, root):  # a symbolic link out of the worklist folder
                studies.append(Study(safe_study_id(child.name), None, f"{child.name} points outside {root.name}"))
            else:
                studies.append(Study(safe_study_id(child.name), resolved))
        if not studies:
            raise WorklistError(f"worklist folder {folder} holds no study folder")
        return cls(studies, out_dir)

    @classmethod
    def from_manifest(cls, manifest, out_dir) -> Worklist:
        """A manifest CSV in the cohort format, read by the one manifest reader (``outputs/manifest.py``, the
        batch's rules: delimiter, known columns, every value range-checked): at least the columns ``study_id`` and
        ``dicom`` (optional ``points``, ``ct`` (a CT or MR folder shown under the PET), the cohort columns, and the per-row SUV and protocol columns, which open
        the study with those panel fields).

        ``dicom``, ``points`` and ``ct`` paths are relative to the manifest's folder and must stay inside it (after
        resolving links); an entry that breaks this, whose folder or file is missing, or whose row the reader
        refuses, is kept as a refused study naming the line.
        """
        manifest = Path(manifest)
        try:
            table = read_manifest_table(manifest)
        except ManifestError as exc:
            raise WorklistError(str(exc), field=exc.field) from None
        root = table.root
        studies = []
        for row in table.rows:
            study_id = row.folder or f"line_{row.line}"
            where = f"{manifest.name} line {row.line}"
            if row.problems:
                studies.append(Study(study_id, None, "; ".join(row.problems)))
                continue
            unpanelled = row.unpanelled()
            if unpanelled:
                studies.append(Study(study_id, None, f"{where}: the reading station has no field for column "
                                                     f"{unpanelled[0]!r} ({row.cells[unpanelled[0]]}); use the batch"))
                continue
            given = row.cells["dicom"]
            if not given:
                studies.append(Study(study_id, None, f"{where}: empty dicom column"))
                continue
            dicom = (root / given).resolve()
            settings = {"panel_settings": row.panel_settings, "series_uid": row.series_uid}
            if not _inside(dicom, root):
                studies.append(Study(study_id, None, f"{where}: {given} is outside the manifest's folder"))
            elif not dicom.is_dir():
                studies.append(Study(study_id, None, f"{where}: no such folder {given}"))
            else:
                studies.append(_with_optional_files(Study(study_id, dicom, **settings), row.cells, root, where))
        return cls(studies, out_dir)

    # ------------------------------------------------------------------------------------------ state
    def output_folder(self, index: int) -> Path:
        return self.out_dir / self.studies[index].study_id

    def saved_reading(self, index: int) -> dict | None:
        """The ``reading`` record (reader, time, revision) of the study's saved ``study.json``, if any."""
        from .saving import read_reading

        return read_reading(self.output_folder(index))

    def state(self, index: int, *, open_now: bool = False) -> str:
        """Reading state: refused, done (saved outputs exist), in progress (open, not saved), or not read."""
        if self.studies[index].problem:
            return REFUSED
        if self.saved_reading(index) is not None:
            return DONE
        return IN_PROGRESS if open_now else NOT_READ
