"""Folder names made from study ids (a manifest's ``study_id``, a worklist folder's name): untrusted text that
must never reach the file system as a path."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["safe_folder_name"]

_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_MAX_NAME = 120


def safe_folder_name(study_id: str) -> str:
    """A folder name made from a study id: the same id always gives the same name, and no name can escape.

    Unicode is normalised (NFKC); every character other than ASCII letters, digits, ``.``, ``_`` and ``-`` (path
    separators, spaces, control characters, accented letters, ...) becomes ``_``; leading dots and runs of dots
    are replaced (no ``.``, ``..`` or hidden folders); Windows device names get a ``_`` prefix; the name is cut to
    120 characters. Returns "" for an id that leaves nothing usable (the caller refuses it).
    """
    text = unicodedata.normalize("NFKC", str(study_id)).strip()
    name = re.sub(r"[^\w.\-]", "_", text, flags=re.ASCII)
    name = re.sub(r"^\.+|\.{2,}", lambda m: "_" * len(m.group()), name)
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = "_" + name
    name = name[:_MAX_NAME]
    return "" if set(name) <= {"_"} else name
