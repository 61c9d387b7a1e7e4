"""Saving a reading: the study's outputs under ``--out``, whole or not at all, and never over a newer reading.

A reading is saved as the folder ``OUT/<study_id>/`` holding what ``pentixafor-quant quantify`` writes
(``study.json``, ``sites.csv``, ``vois.seg.nrrd``, ``study.mrb``) plus ``points.mrk.json`` (so the reading reloads
when the study is reopened). ``study.json`` gains a ``reading`` record: the reader's name, the time (UTC, ISO 8601),
a revision number and the SUV overrides used.

Two readers (two browser tabs, two servers) on the same study: each remembers the revision it opened; a save whose
revision is no longer the one on disk is refused with a message naming who saved meanwhile and when, and nothing
is written. The check and the folder replacement happen under an exclusive lock file, so two saves never interleave.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from ..errors import PentixaforQuantError

__all__ = ["SaveConflict", "save_reading", "read_saved_points", "overrides_to_dict", "overrides_from_dict"]


class SaveConflict(PentixaforQuantError):
    """Someone saved this study after it was opened here; nothing was written."""


@contextmanager
def _exclusive(lock_path: Path):
    """An exclusive advisory lock (POSIX ``flock``; on systems without it, no lock)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as fh:
        try:
            import fcntl
        except ImportError:  # Windows: the atomic folder replacement still keeps the outputs whole
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _current_reading(folder: Path) -> dict | None:
    try:
        doc = json.loads((folder / "study.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    reading = doc.get("reading") if isinstance(doc, dict) else None
    return reading if isinstance(reading, dict) else None


def overrides_to_dict(overrides) -> dict:
    """SUV overrides as JSON (only the fields that are set; date-times in ISO 8601)."""
    if overrides is None:
        return {}
    out = {}
    for key, value in asdict(overrides).items():
        if value is not None:
            out[key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def overrides_from_dict(d: dict | None):
    from ..suv import SUVOverrides

    d = dict(d or {})
    for key in ("injection_datetime", "scan_datetime"):
        if d.get(key):
            d[key] = datetime.fromisoformat(d[key])
    known = set(SUVOverrides.__dataclass_fields__)
    return SUVOverrides(**{k: v for k, v in d.items() if k in known})


def save_reading(logic, pet_node, points_node, study, folder, *, reader: str, seen_revision: int | None,
                 overrides=None, source: dict | None = None) -> dict:
    """Write one study's outputs into ``folder`` (replacing an earlier reading as a whole).

    Parameters
    ----------
    logic : StudyLogic
        The logic that measured ``study`` (its scene is bundled into ``study.mrb``).
    reader : str
        The reader's name (required: a reading without a reader is refused).
    seen_revision : int or None
        The revision this reader opened (None: the study had no saved reading).

    Returns
    -------
    dict
        The ``reading`` record written (reader, saved_at, revision, overrides).

    Raises
    ------
    SaveConflict
        The saved revision is not ``seen_revision`` any more: another reader saved meanwhile.
    """
    from ..outputs.atomic import atomic_output_folder
    from ..outputs.points import write_markups_json
    from ..outputs.results import study_rows, study_to_dict, write_rows_csv, write_study_json
    from ..scene.mrml import AUDIT_ATTRIBUTE, markups_site_points, save_node, save_scene_bundle, volume_suv_units

    reader = (reader or "").strip()
    if not reader:
        raise PentixaforQuantError("enter the reader's name before saving")
    folder = Path(folder)
    with _exclusive(folder.parent / f".{folder.name}.lock"):
        current = _current_reading(folder)
        current_revision = None if current is None else current.get("revision")
        if current_revision != seen_revision:
            who = current.get("reader", "someone") if current else "someone"
            when = current.get("saved_at", "") if current else ""
            raise SaveConflict(f"{folder.name} was saved by {who} at {when} after you opened it; nothing was "
                               "written: reopen the study to see that reading")
        reading = {
            "reader": reader,
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "revision": (current_revision or 0) + 1,
            "overrides": overrides_to_dict(overrides),
        }
        units = volume_suv_units(pet_node) or ""
        points = markups_site_points(points_node)
        doc = study_to_dict(study, suv_audit=json.loads(pet_node.GetAttribute(AUDIT_ATTRIBUTE) or "null"),
                            units=units, source=source)
        doc["reading"] = reading
        nodes = logic.output_nodes(points_node)
        with atomic_output_folder(folder) as scratch:
            write_study_json(doc, scratch / "study.json")
            write_rows_csv(study_rows(study, points), scratch / "sites.csv", units=units)
            write_markups_json(points, scratch / "points.mrk.json")
            save_node(nodes.segmentation, scratch / "vois.seg.nrrd")
            save_scene_bundle(logic.scene, scratch / "study.mrb")
            for path in scratch.iterdir():  # on disk before the folder is swapped in
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
    return reading


def read_saved_points(folder) -> dict | None:
    """The points of a saved reading (site -> RAS), or None when the study has none."""
    from ..outputs.points import read_points

    path = Path(folder) / "points.mrk.json"
    if not path.is_file():
        return None
    return read_points(path)
