"""Arguments of the panel controller's public methods, checked at entry with one shared set of checks.

A face (the Slicer widget, the web reader, a Python console) may pass anything: a point with two coordinates or
a string, a folder where a file is due, None, a path under ``/proc``, a points list where a PET volume is due.
Each check refuses with the project's own error and one line naming the method and the argument, so that no
``TypeError``, ``ValueError`` or ``OSError`` from deep inside reaches the user; :func:`writing` turns an
operating-system refusal while writing into the same kind of line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import NodeError, PentixaforQuantError, PointsError
from ..outputs.atomic import OutputFolderError

__all__ = ["node_or_none", "output_file", "output_folder", "ras_point", "site_name", "source_path", "text_or_none",
           "writing"]


def _shown(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def ras_point(ras, role: str) -> tuple[float, float, float]:
    """Three finite numbers (world RAS, mm)."""
    values = None
    if not isinstance(ras, (str, bytes)):
        try:
            values = np.asarray(ras, dtype=float)
        except (TypeError, ValueError):
            values = None
    if values is None or values.shape != (3,) or not np.all(np.isfinite(values)):
        raise PointsError(f"{role}: expected a point as three finite numbers (R, A, S in mm), got {_shown(ras)}")
    return float(values[0]), float(values[1]), float(values[2])


def _path(value, role: str, what: str) -> Path:
    if value is None or not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise OutputFolderError(f"{role}: expected {what} (a path), got {_shown(value)}")
    if "\x00" in str(value):
        raise OutputFolderError(f"{role}: the path {_shown(str(value))} holds a NUL character")
    return Path(value).expanduser()


def output_file(value, role: str) -> Path:
    """A path to write one file to: not an existing folder, in a folder (or where one can be made)."""
    path = _path(value, role, "a file to write")
    if path.is_dir():
        raise OutputFolderError(f"{role}: {path} is a folder; give a file name in it (e.g. {path / 'sites.csv'})")
    _writable_parent(path, role)
    return path


def output_folder(value, role: str) -> Path:
    """A path to write a folder of outputs to: not an existing file."""
    path = _path(value, role, "a folder to write")
    if path.exists() and not path.is_dir():
        raise OutputFolderError(f"{role}: {path} is a file; give a folder")
    _writable_parent(path, role)
    return path


def _writable_parent(path: Path, role: str) -> None:
    """The nearest existing ancestor must be a folder that can be written (checked before any work is done)."""
    parent = path.resolve().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputFolderError(f"{role}: cannot write {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK) or _virtual(parent):
        raise OutputFolderError(f"{role}: cannot write {path}: the folder {parent} is not writable")


def _virtual(folder: Path) -> bool:
    """Kernel file systems (/proc, /sys) accept no files even where the permission bits say so (as root)."""
    return any(str(folder) == root or str(folder).startswith(root + os.sep) for root in ("/proc", "/sys"))


def source_path(value, role: str) -> Path:
    """A path to read from (a folder or a file); existence is the reader's to check."""
    if value is None or not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise PentixaforQuantError(f"{role}: expected a folder or a file (a path), got {_shown(value)}")
    return Path(value).expanduser()


def site_name(site, role: str, sites) -> str:
    """One of ``sites`` (the panel's site names)."""
    if not isinstance(site, str) or site not in sites:
        raise PentixaforQuantError(f"{role}: unknown site {_shown(site)}; use one of {', '.join(sites)}")
    return site


def text_or_none(value, role: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise PentixaforQuantError(f"{role}: expected text (or None), got {_shown(value)}")
    return value


def node_or_none(node, class_name: str, role: str, scene) -> None:
    """None, or an MRML node of ``class_name`` in ``scene``."""
    if node is None:
        return
    is_a = getattr(node, "IsA", None)
    if not callable(is_a) or not is_a(class_name):
        kind = node.GetClassName() if callable(getattr(node, "GetClassName", None)) else type(node).__name__
        raise NodeError(f"{role}: expected a {class_name}, got {kind}")
    if node.GetScene() is not scene:
        raise NodeError(f"{role}: node {node.GetName()!r} is not in this panel's scene")


@contextmanager
def writing(path: Path, role: str) -> Iterator[None]:
    """Within the block, an operating-system refusal to write becomes one line naming ``path``."""
    try:
        yield
    except OSError as exc:  # named by the user's path: a scratch name of the writer never reaches the message
        raise OutputFolderError(f"{role}: cannot write {path}: {exc.strerror or exc}") from None
