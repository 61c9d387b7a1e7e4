"""Reading and writing the protocol's points: Slicer markups files (``.mrk.json``) and CSV ``label,r,a,s``.

Control-point labels name the sites (``sites.canonical_site``: ``lesion``, ``aorta``, ``C7``, ``T12``, ``L5``,
``right_ilium``, ``left_ilium``, case-insensitive); any site may be absent. Positions are returned in RAS (mm).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import PointsError
from ..measure.sites import canonical_site

__all__ = ["read_points", "write_markups_json"]

_MARKUPS_SCHEMA = "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#"


def read_points(path) -> dict[str, np.ndarray]:
    """Site -> RAS position (mm) from a ``.mrk.json`` or ``.csv`` file.

    Raises
    ------
    PointsError
        Unreadable file, unknown label, a site given twice, or a non-finite coordinate.
    """
    path = Path(path)
    if not path.is_file():
        raise PointsError(f"points file not found: {path}")
    name = path.name.lower()
    if name.endswith(".json"):
        labelled = _read_markups_json(path)
    elif name.endswith((".csv", ".tsv", ".txt")):
        labelled = _read_csv(path)
    else:
        raise PointsError(f"points file {path.name}: use a Slicer markups file (.mrk.json) or a CSV (label,r,a,s)")
    points: dict[str, np.ndarray] = {}
    for label, ras in labelled:
        site = canonical_site(label)
        if site in points:
            raise PointsError(f"points file {path.name}: site {site!r} is given more than once")
        if not np.all(np.isfinite(ras)):
            raise PointsError(f"points file {path.name}: point {label!r} has a non-finite coordinate")
        points[site] = ras
    return points


def _read_markups_json(path: Path) -> list[tuple[str, np.ndarray]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PointsError(f"points file {path.name} is not valid JSON: {exc}") from None
    markups = doc.get("markups") if isinstance(doc, dict) else None
    if not isinstance(markups, list) or not markups:
        raise PointsError(f"points file {path.name} holds no 'markups' list (not a Slicer markups file)")
    out = []
    for markup in markups:
        system = str(markup.get("coordinateSystem", "LPS")).upper()  # Slicer's default when absent
        if system not in ("LPS", "RAS"):
            raise PointsError(f"points file {path.name}: unknown coordinateSystem {system!r} (LPS or RAS)")
        units = str(markup.get("coordinateUnits", "mm")).lower()
        if units != "mm":
            raise PointsError(f"points file {path.name}: coordinateUnits {units!r} (only mm is supported)")
        for cp in markup.get("controlPoints", []):
            try:
                label = str(cp["label"])
                pos = np.asarray(cp["position"], float)
            except (KeyError, TypeError, ValueError):
                raise PointsError(f"points file {path.name}: a control point lacks a label or a position") from None
            if pos.shape != (3,):
                raise PointsError(f"points file {path.name}: point {label!r} has no 3-D position")
            if system == "LPS":
                pos = pos * np.array([-1.0, -1.0, 1.0])
            out.append((label, pos))
    return out


def _read_csv(path: Path) -> list[tuple[str, np.ndarray]]:
    text = path.read_text(encoding="utf-8-sig")
    dialect = "excel-tab" if "\t" in text.splitlines()[0] else "excel"
    rows = list(csv.reader(text.splitlines(), dialect=dialect))
    if not rows:
        raise PointsError(f"points file {path.name} is empty")
    header = [h.strip().lower() for h in rows[0]]
    if header[:4] != ["label", "r", "a", "s"]:
        raise PointsError(f"points file {path.name}: the first line must be the header label,r,a,s (RAS, mm)")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            out.append((row[0].strip(), np.array([float(row[1]), float(row[2]), float(row[3])])))
        except (IndexError, ValueError):
            raise PointsError(f"points file {path.name}, line {n}: expected label,r,a,s with numbers") from None
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
