"""Reading and writing the protocol's points: Slicer markups files (``.mrk.json``) and CSV ``label,r,a,s``.

Control-point labels name the sites (``sites.canonical_site``: ``lesion``, ``aorta``, ``C7``, ``T12``, ``L5``,
``right_ilium``, ``left_ilium``, case-insensitive); any site may be absent. Positions are returned in RAS (mm).

Points files are untrusted input. Anything that is not exactly a points file is refused with one line naming the
file and the place (line or point): a size beyond :data:`MAX_POINTS_FILE_BYTES`, text that is not UTF-8, JSON that
is malformed, nested too deeply or holds ``null`` where a value is due, a markup that is not a point list, a CSV
row that is not exactly ``label,r,a,s`` (a decimal comma such as ``12,5`` makes extra fields and is refused,
never read from the first three numbers), a coordinate that is not a finite number, two labels naming one site,
and a file with no points. A Slicer control point that was never placed (``positionStatus`` ``undefined`` or
``preview``; Slicer stores it at 0, 0, 0) is not a site: it is skipped with a note, or refused when the caller
takes no notes.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import PointsError
from ..measure.sites import ALL_SITES, canonical_site

__all__ = ["read_points", "write_markups_json", "MAX_POINTS_FILE_BYTES"]

_MARKUPS_SCHEMA = "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#"

#: A points file holds a handful of points (a few kB); a bigger file is not read (16 MB).
MAX_POINTS_FILE_BYTES = 16 * 2**20

# A decimal number as people write coordinates (no "1_000", no hex, no "nan"/"inf").
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NOT_PLACED = ("undefined", "preview")


def _shown(label, limit: int = 40) -> str:
    """A label as a message shows it: quoted, escaped, and cut to ``limit`` characters."""
    text = str(label)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def read_points(path, *, notes: list | None = None) -> dict[str, np.ndarray]:
    """Site -> RAS position (mm) from a ``.mrk.json`` or ``.csv`` file.

    Parameters
    ----------
    path : path-like
        A Slicer markups file (``.mrk.json``, LPS or RAS as its ``coordinateSystem`` says) or a CSV
        ``label,r,a,s`` (RAS, mm; comma- or tab-separated).
    notes : list, optional
        Receives one line per Slicer control point that is not placed (``positionStatus`` ``undefined`` or
        ``preview``); such a point is not a site and is skipped. Without ``notes`` it is refused.

    Raises
    ------
    PointsError
        Unreadable or malformed file, unknown label, two labels naming one site, a non-finite coordinate, an
        unplaced point without ``notes``, or no (placed) point at all.
    """
    path = Path(path)
    if path.is_dir():
        raise PointsError(f"points file {path} is a folder, not a file")
    if not path.is_file():
        raise PointsError(f"points file not found: {path}")
    name = path.name.lower()
    if name.endswith(".json"):
        reader = _read_markups_json
    elif name.endswith((".csv", ".tsv", ".txt")):
        reader = _read_csv
    else:
        raise PointsError(f"points file {path.name}: use a Slicer markups file (.mrk.json) or a CSV (label,r,a,s)")
    skipped: list[str] = []
    labelled = reader(path, _read_text(path), skipped)
    if skipped and notes is None:
        raise PointsError(f"{skipped[0].removesuffix(': not measured')}; place it or delete it from the list")
    points: dict[str, np.ndarray] = {}
    where_of: dict[str, tuple[str, str]] = {}
    for label, ras, where in labelled:
        try:
            site = canonical_site(label)
        except PointsError:
            raise PointsError(f"points file {path.name}, {where}: label {_shown(label)} names no site; use one of: "
                              f"{', '.join(ALL_SITES)} (case-insensitive)") from None
        if site in points:
            first_label, first_where = where_of[site]
            raise PointsError(f"points file {path.name}: {_shown(first_label)} ({first_where}) and {_shown(label)} "
                              f"({where}) both name site {site!r}; keep one")
        if not np.all(np.isfinite(ras)):
            raise PointsError(f"points file {path.name}, {where}: point {_shown(label)} has a non-finite "
                              f"coordinate ({', '.join(f'{v + 0.0:g}' for v in ras)})")
        points[site] = ras
        where_of[site] = (label, where)
    if not points:
        unplaced = f" ({len(skipped)} not placed)" if skipped else ""
        raise PointsError(f"points file {path.name} holds no placed points{unplaced}: nothing to measure")
    if notes is not None:
        notes.extend(skipped)
    return points


def _read_text(path: Path) -> str:
    """The file as text: at most ``MAX_POINTS_FILE_BYTES``, UTF-8 (a byte-order mark is allowed)."""
    try:
        size = path.stat().st_size
        if size > MAX_POINTS_FILE_BYTES:
            raise PointsError(f"points file {path.name} is {size / 2**20:.0f} MB; a points file holds a few points "
                              f"(limit {MAX_POINTS_FILE_BYTES // 2**20} MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise PointsError(f"points file {path.name} cannot be read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PointsError(f"points file {path.name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                          f"{exc.start})") from None


def _read_markups_json(path: Path, text: str, skipped: list) -> list[tuple[str, np.ndarray, str]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PointsError(f"points file {path.name} is not valid JSON: {exc}") from None
    except RecursionError:
        raise PointsError(f"points file {path.name} is not a Slicer markups file (JSON nested too deeply)") from None
    markups = doc.get("markups") if isinstance(doc, dict) else None
    if not isinstance(markups, list) or not markups:
        raise PointsError(f"points file {path.name} holds no 'markups' list (not a Slicer markups file)")
    out = []
    for m, markup in enumerate(markups, start=1):
        where_markup = f"markup {m}"
        if not isinstance(markup, dict):
            raise PointsError(f"points file {path.name}: {where_markup} is not an object (a Slicer markup)")
        kind = markup.get("type", "Fiducial")
        if kind != "Fiducial":
            raise PointsError(f"points file {path.name}: {where_markup} is a {_shown(kind)}, not a point list "
                              "(Fiducial)")
        system = markup.get("coordinateSystem", "LPS")  # Slicer's default when absent
        if not isinstance(system, str) or system.upper() not in ("LPS", "RAS"):
            raise PointsError(f"points file {path.name}: {where_markup}: unknown coordinateSystem {_shown(system)} "
                              "(LPS or RAS)")
        units = markup.get("coordinateUnits", "mm")
        if not (units == "mm" or (isinstance(units, list) and units and all(u == "mm" for u in units))):
            raise PointsError(f"points file {path.name}: {where_markup}: coordinateUnits {_shown(units)} "
                              "(only mm is supported)")
        control_points = markup.get("controlPoints")
        if control_points is None:
            continue  # a markup without points
        if not isinstance(control_points, list):
            raise PointsError(f"points file {path.name}: {where_markup}: controlPoints is not a list")
        for n, cp in enumerate(control_points, start=1):
            where = f"point {n}" if len(markups) == 1 else f"{where_markup} point {n}"
            if not isinstance(cp, dict):
                raise PointsError(f"points file {path.name}, {where}: not an object (a control point)")
            label = cp.get("label")
            if not isinstance(label, str) or not label.strip():
                raise PointsError(f"points file {path.name}, {where}: no label (name it lesion, aorta, C7, ...)")
            status = cp.get("positionStatus", "defined")
            if status in _NOT_PLACED:
                skipped.append(f"points file {path.name}, {where}: {_shown(label)} is not placed (positionStatus "
                               f"{status!r}): not measured")
                continue
            if status != "defined":
                raise PointsError(f"points file {path.name}, {where}: unknown positionStatus {_shown(status)} "
                                  "(defined, preview or undefined)")
            pos = cp.get("position")
            if not (isinstance(pos, list) and len(pos) == 3
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pos)):
                raise PointsError(f"points file {path.name}, {where}: point {_shown(label)} has no position of "
                                  "three numbers")
            try:
                ras = np.array([float(v) for v in pos])
            except OverflowError:  # an integer beyond float range
                ras = np.full(3, np.inf)
            if system.upper() == "LPS":
                ras = ras * np.array([-1.0, -1.0, 1.0])
            out.append((label, ras, where))
    return out


def _read_csv(path: Path, text: str, skipped: list) -> list[tuple[str, np.ndarray, str]]:
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise PointsError(f"points file {path.name} is empty (expected the header label,r,a,s and one line per point)")
    dialect = "excel-tab" if "\t" in lines[0] else "excel"
    try:
        rows = list(csv.reader(lines, dialect=dialect))
    except csv.Error as exc:
        raise PointsError(f"points file {path.name} is not a CSV file: {exc}") from None
    header = [h.strip().lower() for h in rows[0]]
    if header != ["label", "r", "a", "s"]:
        raise PointsError(f"points file {path.name}: the first line must be the header label,r,a,s (RAS, mm)")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"line {n}"
        if len(row) != 4:
            hint = "; a decimal comma (12,5) is not read: use a decimal point" if len(row) > 4 else ""
            raise PointsError(f"points file {path.name}, {where}: {len(row)} fields, expected 4 (label,r,a,s){hint}")
        label = row[0].strip()
        if not label:
            raise PointsError(f"points file {path.name}, {where}: no label (name it lesion, aorta, C7, ...)")
        values = []
        for cell in row[1:]:
            cell = cell.strip()
            if cell.lower().lstrip("+-") in ("nan", "inf", "infinity"):
                values.append(float(cell))  # refused as non-finite, naming the point
            elif _NUMBER.fullmatch(cell):
                values.append(float(cell))
            else:
                raise PointsError(f"points file {path.name}, {where}: {_shown(cell)} is not a number "
                                  "(label,r,a,s in mm, with a decimal point)")
        out.append((label, np.array(values), where))
    return out


def write_markups_json(points: Mapping[str, object], path, *, name: str = "Pentixafor points") -> Path:
    """Write points (site -> RAS) as a Slicer markups fiducial file in LPS, as Slicer itself writes them."""
    control_points = []
    for n, (label, ras) in enumerate(points.items(), start=1):
        r, a, s = (float(v) for v in ras)
        control_points.append(
            {
                "id": str(n),
                "label": label,
                "position": [-r, -a, s],
                "orientation": [-1.0, -0.0, -0.0, -0.0, -1.0, -0.0, 0.0, 0.0, 1.0],
                "selected": True,
                "locked": False,
                "visibility": True,
                "positionStatus": "defined",
            }
        )
    doc = {
        "@schema": _MARKUPS_SCHEMA,
        "markups": [
            {
                "type": "Fiducial",
                "coordinateSystem": "LPS",
                "coordinateUnits": "mm",
                "name": name,
                "controlPoints": control_points,
            }
        ],
    }
    path = Path(path)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path
