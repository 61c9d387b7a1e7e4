"""Where the panel's *Export study folder…* writes: a folder of the study's own, never another study's export.

An export folder is replaced as a whole by the next export (``outputs.atomic.atomic_output_folder``): right for
the same study exported again, a silent loss for another patient's export in the same place. So the panel writes
into ``<chosen folder>/<study name>``, and when that folder already holds the export of a different study (another
PET series), into ``<study name>-2``, ``-3`` ... instead. The study is recognised by the PET series in
``study.json`` (``suv.series_uid``, else its ``source``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..outputs.atomic import OutputFolderError
from ..outputs.folder_names import safe_folder_name

__all__ = ["study_identity", "export_identity", "study_export_folder", "check_same_study"]

_MAX_SUFFIX = 999


def study_identity(doc: dict | None) -> str | None:
    """What identifies the study of a ``study.json`` document: its PET series UID, else its source."""
    if not doc:
        return None
    uid = (doc.get("suv") or {}).get("series_uid")
    if uid:
        return f"series {uid}"
    return json.dumps(doc["source"], sort_keys=True) if doc.get("source") else None


def export_identity(folder) -> str | None:
    """The identity of the export in ``folder`` (None: no export there, or one that does not say its study)."""
    path = Path(folder) / "study.json"
    try:
        return study_identity(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _holds_other_study(folder: Path, identity: str | None) -> bool:
    """Whether writing to ``folder`` would replace something that is not this study's export."""
    if not folder.exists():
        return False
    if not folder.is_dir():
        return True
    if not any(folder.iterdir()):
        return False
    theirs = export_identity(folder)
    return theirs is None or theirs != identity  # another study, or files that do not say whose they are


def study_export_folder(parent, study_name: str, identity: str | None) -> Path:
    """``parent/<study name>``, or the first ``<study name>-N`` that is free or holds this study's own export."""
    name = safe_folder_name(study_name) or "study"
    for n in range(1, _MAX_SUFFIX + 1):
        folder = Path(parent) / (name if n == 1 else f"{name}-{n}")
        if not _holds_other_study(folder, identity):
            return folder
    raise OutputFolderError(f"{parent} already holds {_MAX_SUFFIX} exports named {name!r}; choose another folder")


def check_same_study(folder, identity: str | None) -> None:
    """Refuse (one line) to replace ``folder`` when it holds the export of another study."""
    folder = Path(folder)
    theirs = export_identity(folder) if folder.is_dir() else None
    if theirs is not None and theirs != identity:
        raise OutputFolderError(f"{folder} holds the export of another study ({theirs}); it is not replaced: "
                                "choose another folder")
