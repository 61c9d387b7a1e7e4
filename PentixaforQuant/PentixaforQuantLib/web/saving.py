"""Saving a reading: the study's outputs under ``--out``, whole or not at all, and never over a newer reading.

A reading is saved as the folder ``OUT/<study_id>/`` holding what ``pentixafor-quant quantify`` writes
(``study.json``, ``sites.csv``, ``vois.seg.nrrd``, ``study.mrb``) plus ``points.mrk.json`` (so the reading reloads
when the study is reopened). ``study.json`` gains a ``reading`` record: the reader's name, the time (UTC, ISO 8601),
a revision number and the SUV overrides used.

Two readers on the same study (two servers with one ``--out``; the tabs of one server share one reading): each
remembers the revision it opened; a save whose
revision is no longer the one on disk is refused with a message naming who saved meanwhile and when, and nothing
is written. The check and the folder replacement happen under an exclusive lock file, so two saves never interleave.

The saved files name no folder of the server: ``study.json`` names the study by its id, and the scene bundle
``study.mrb`` is written without the PET's source paths (the DICOM files it was read from). A server stopped in the
middle of a save leaves a hidden scratch folder beside the readings; :func:`remove_stale_folders` removes them at
the next start, under a lock every save holds while it writes, so a save in progress in another server is never
touched.
"""

from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..errors import PentixaforQuantError

__all__ = ["SaveConflict", "save_reading", "read_reading", "read_saved_points", "remove_stale_folders",
           "SERVER_PATH_ATTRIBUTES"]

#: Attributes of the PET volume node that name files on the server (its DICOM files, its source folder); left out
#: of the saved scene bundle. The names are those of ``scene/logic.py`` and ``scene/panel.py``.
SERVER_PATH_ATTRIBUTES = ("PentixaforQuant.DicomFiles", "PentixaforQuant.Source")

#: The scratch and set-aside folders of ``outputs/atomic.py`` (``.pfq-partial-*``, ``.pfq-old-*``; before,
#: ``.<name>.partial-*`` and ``.<name>.old-*``).
_STALE = re.compile(r"^\.(?:pfq-(?:partial|old)-|.+\.(?:partial|old)-)[A-Za-z0-9_]+$")
#: Held shared by every save in ``--out`` (by any server), exclusively while stale folders are removed.
_SAVING_LOCK = ".pentixaforquant-saving.lock"


class SaveConflict(PentixaforQuantError):
    """Someone saved this study after it was opened here; nothing was written."""


@contextmanager
def _exclusive(lock_path: Path, *, shared: bool = False):
    """An advisory lock, exclusive or ``shared`` (POSIX ``flock``; on systems without it, no lock)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as fh:
        try:
            import fcntl
        except ImportError:  # Windows: the atomic folder replacement still keeps the outputs whole
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read_reading(folder) -> dict | None:
    """The ``reading`` record of the ``study.json`` saved in ``folder``, or None (no saved reading)."""
    try:
        doc = json.loads((Path(folder) / "study.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    reading = doc.get("reading") if isinstance(doc, dict) else None
    return reading if isinstance(reading, dict) else None


def save_reading(controller, folder, *, reader: str, seen_revision: int | None, source: dict | None = None) -> dict:
    """Write the controller's measured study into ``folder`` (replacing an earlier reading as a whole).

    Parameters
    ----------
    controller : PanelController
        The panel controller holding the study (PET, points, results, overrides).
    reader : str
        The reader's name (required: a reading without a reader is refused).
    seen_revision : int or None
        The revision this reader opened (None: the study had no saved reading).

    Returns
    -------
    dict
        The ``reading`` record written (reader, saved_at, revision, overrides as typed).

    Raises
    ------
    SaveConflict
        The saved revision is not ``seen_revision`` any more: another reader saved meanwhile.
    """
    from ..scene.panel import OVERRIDE_FIELDS
    from ..scene.quantify import write_study_outputs
    from .security import check_reader_name

    reader = check_reader_name(reader)
    if controller.study is None:
        raise PentixaforQuantError("nothing to save: the study is not measured")
    folder = Path(folder)
    with _exclusive(folder.parent / _SAVING_LOCK, shared=True), _exclusive(folder.parent / f".{folder.name}.lock"):
        current = read_reading(folder)
        current_revision = None if current is None else current.get("revision")
        if current_revision != seen_revision:
            who = current.get("reader", "someone") if current else "someone"
            when = current.get("saved_at", "") if current else ""
            raise SaveConflict(f"{folder.name} was saved by {who} at {when} after you opened it; nothing was "
                               "written: reopen the study to see that reading")
        overrides = {name: controller.get_parameter(name) for name in OVERRIDE_FIELDS
                     if controller.get_parameter(name)}
        reading = {
            "reader": reader,
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "revision": (current_revision or 0) + 1,
            "normalization": controller.get_parameter("normalization"),
            "overrides": overrides,
        }
        with _without_server_paths(controller.pet_node):
            write_study_outputs(controller.logic, controller.pet_node, controller.points_node, controller.study,
                                folder, source=source, figure=False, extra={"reading": reading}, points_file=True)
    return reading


@contextmanager
def _without_server_paths(node):
    """The node without its server-path attributes while the outputs are written (they come back afterwards: the
    open study still converts again from its DICOM files)."""
    kept = {name: node.GetAttribute(name) for name in SERVER_PATH_ATTRIBUTES if node.GetAttribute(name) is not None}
    for name in kept:
        node.RemoveAttribute(name)
    try:
        yield
    finally:
        for name, value in kept.items():
            node.SetAttribute(name, value)


def remove_stale_folders(out_dir) -> int:
    """Remove the unfinished save folders a stopped server left in ``out_dir``; returns how many were removed.

    They are removed under the lock every save holds (shared) while it writes, so a save in progress in another
    server on the same folder finishes first (its own scratch folder is then gone)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return 0
    removed = 0
    with _exclusive(out_dir / _SAVING_LOCK):
        for path in sorted(out_dir.iterdir()):
            if _STALE.match(path.name) is None or not path.is_dir() or path.is_symlink():
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed += not path.exists()
    return removed


def read_saved_points(folder) -> dict | None:
    """The points of a saved reading (site -> RAS), or None when the study has none."""
    from ..outputs.points import read_points

    path = Path(folder) / "points.mrk.json"
    if not path.is_file():
        return None
    return read_points(path)
