"""What the reading station's page shows, computed without slicer or trame: the results table's rows, the
orientation letters of a view, the PET's hot spots and the SUV under the cursor.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TABLE_COLUMNS", "table_rows", "orientation_letters", "hot_spots", "suv_at"]

#: Columns of the HTML results table: (key, title).
TABLE_COLUMNS = (
    ("title", "Site"), ("suv_max", "SUVmax"), ("suv_mean", "SUVmean"), ("suv_peak", "SUVpeak"),
    ("volume_ml", "Volume (mL)"), ("tbr", "TBR"), ("mean_suv_max", "meanSUVmax"), ("notes", "Warnings"),
)


def _fmt(value, digits=2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def table_rows(study) -> list[dict]:
    """Rows of the HTML table: the seven sites, then TBR and meanSUVmax (each value in its own column).

    Each cell carries its full-precision value (``values``: for tests and an exact reading) and its display text.
    A site's ``warnings`` are its (short line, full text) pairs, the page showing the full text a click away;
    ``notes`` is the row's text without a warning (an error, a missing point).
    """
    from ..measure.sites import SITES
    from ..outputs.results import study_rows, warning_texts

    rows = []
    for row in study_rows(study):
        out = {"site": row["site"], "title": row["title"], "status": row["status"], "notes": row["notes"] or ""}
        result = study.site_result(row["site"]) if row["site"] in SITES and row["status"] == "warning" else None
        out["warnings"] = [] if result is None else [{"short": short, "detail": detail}
                                                     for short, detail in warning_texts(result)]
        values = {"suv_max": row["suv_max"], "suv_mean": row["suv_mean"], "suv_peak": row["suv_peak"],
                  "volume_ml": row["volume_ml"], "tbr": None, "mean_suv_max": None}
        if row["site"] == "TBR":
            values["tbr"] = row["value"]
        elif row["site"] == "meanSUVmax":
            values["mean_suv_max"] = row["value"]
        out["values"] = {k: (None if v is None else float(v)) for k, v in values.items()}
        out["text"] = {k: _fmt(v) for k, v in values.items()}
        rows.append(out)
    return rows


# ------------------------------------------------------------------------------------------------ views
_AXIS_LETTERS = (("L", "R"), ("P", "A"), ("I", "S"))  # (negative, positive) direction of R, A, S


def orientation_letters(xy_to_ras) -> dict:
    """The patient directions at the four edges of a slice view (``left``, ``right``, ``top``, ``bottom``), from
    its XY-to-RAS matrix (4x4, row-major; screen x to the right, y up as in VTK display coordinates)."""
    m = np.asarray(xy_to_ras, float).reshape(4, 4)

    def letter(column, sign):
        axis = int(np.argmax(np.abs(m[:3, column])))
        positive = (m[axis, column] * sign) > 0
        return _AXIS_LETTERS[axis][int(positive)]

    return {"right": letter(0, 1), "left": letter(0, -1), "top": letter(1, 1), "bottom": letter(1, -1)}


def suv_at(image, grid, ras) -> float | None:
    """The SUV of the voxel holding ``ras`` (nearest voxel), or None outside the image."""
    ijk = np.rint(grid.ras_to_continuous_ijk(np.asarray(ras, float)[None, :])[0]).astype(int)
    shape_ijk = np.array(grid.shape_kji[::-1])
    if np.any(ijk < 0) or np.any(ijk >= shape_ijk):
        return None
    value = float(image[ijk[2], ijk[1], ijk[0]])
    return value if math.isfinite(value) else None


def hot_spots(image, grid, *, separation_mm: float = 20.0, min_suv: float = 2.0, count: int = 30) -> list[dict]:
    """The PET's foci from the hottest: local maxima at least ``separation_mm`` apart with SUV >= ``min_suv``.

    A voxel is a candidate when it is the maximum of the box ``separation_mm`` wide around it; candidates are taken
    from the hottest, skipping any within ``separation_mm`` of one already taken (a plateau gives one spot).
    Returns at most ``count`` dicts ``{"ras": [r, a, s], "suv": value}`` (the voxel's centre).
    """
    from scipy import ndimage

    spacing_kji = np.array(grid.spacing_mm[::-1], float)
    size = np.maximum(1, np.round(separation_mm / spacing_kji).astype(int) | 1)
    data = np.nan_to_num(np.asarray(image, np.float32), nan=-np.inf)
    candidates = (data >= min_suv) & (data >= ndimage.maximum_filter(data, size=tuple(size), mode="nearest"))
    kji = np.argwhere(candidates)
    if kji.size == 0:
        return []
    values = data[tuple(kji.T)]
    order = np.argsort(-values, kind="stable")
    ras_all = grid.ijk_to_ras_points(kji[order][:, ::-1].astype(float))
    chosen: list[int] = []
    for n, ras in enumerate(ras_all):
        if all(np.linalg.norm(ras - ras_all[c]) >= separation_mm for c in chosen):
            chosen.append(n)
            if len(chosen) == count:
                break
    return [{"ras": [float(v) for v in ras_all[n]], "suv": float(values[order][n])} for n in chosen]
