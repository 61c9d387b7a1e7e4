"""Pictures of what was measured, rendered offscreen (numpy pixels, Pillow text; no display, no OpenGL).

:func:`study_figure` draws a coronal maximum-intensity projection with every VOI outlined, and one axial slice
through the centre of each VOI with its outline, so a reader sees exactly which voxels made each number. Every
panel states its plane (and the slice's S coordinate), carries a scale bar, and the grey window is written on the
picture. The panels are composed as pixel arrays with numpy (nearest-neighbour, square millimetres) and the words
written with Pillow in matplotlib's DejaVu fonts (no figure, axes, contours or layout engine), so a whole-body
scan takes a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..geometry import VoxelGrid
from ..measure.protocol import StudyResult
from ..measure.sites import BLOOD_POOL_KIND, ISOCONTOUR, LESION_KIND, SITE_TITLES, SITES
from ..measure.regions import RegionMask

__all__ = ["study_figure"]

_COLORS = {key: site.colour for key, site in SITES.items()}  # the table of sites' display colours


_PANEL_PX = 230  # a VOI panel: +-40 mm around the VOI centre
_FIELD_MM = 80.0
_MIP_HEIGHT_PX = 2 * (_PANEL_PX + 70)
_TITLE_PX = 62
_MARGIN_PX = 12


def _voi_centre(region: RegionMask) -> np.ndarray:
    """The VOI voxel nearest to the VOI's centroid (k, j, i): the centre of a sphere or a blob, never a pole."""
    idx = region.indices_kji()
    centroid = idx.mean(axis=0)
    return idx[int(np.argmin(((idx - centroid) ** 2).sum(axis=1)))]


def _axes_roles(grid: VoxelGrid) -> tuple[int, int, int]:
    """Array axes (0=k, 1=j, 2=i) closest to the patient's R-L, A-P and S-I directions."""
    d = np.abs(grid.directions)  # rows: R, A, S; columns: i, j, k
    lr, ap, si = (2 - int(np.argmax(d[row])) for row in range(3))
    if len({lr, ap, si}) != 3:  # strongly oblique: fall back to the array order
        return 2, 1, 0
    return lr, ap, si


def _oriented(plane: np.ndarray, rows_axis: int, cols_axis: int, grid: VoxelGrid, lr: int, ap: int, si: int):
    """A plane whose rows/columns run along ``rows_axis``/``cols_axis``, turned radiologically: superior or anterior
    up, the patient's right on the viewer's left."""
    d = grid.directions  # columns: i, j, k
    row_dir, col_dir = d[:, 2 - rows_axis], d[:, 2 - cols_axis]
    if cols_axis == lr and col_dir[0] > 0:
        plane = plane[:, ::-1]
    if (rows_axis == si and row_dir[2] > 0) or (rows_axis == ap and row_dir[1] < 0):
        plane = plane[::-1, :]
    return plane


def _resample(plane: np.ndarray, height_px: int, width_px: int) -> np.ndarray:
    """Nearest-neighbour resampling to ``height_px`` x ``width_px`` (a few index look-ups, no interpolation)."""
    rows = np.minimum((np.arange(height_px) + 0.5) * plane.shape[0] / height_px, plane.shape[0] - 1).astype(int)
    cols = np.minimum((np.arange(width_px) + 0.5) * plane.shape[1] / width_px, plane.shape[1] - 1).astype(int)
    return plane[np.ix_(rows, cols)]


def _grey(plane: np.ndarray, vmax: float) -> np.ndarray:
    """Inverted grey RGB, uint8 (SUV 0 white, ``vmax`` and above black)."""
    level = 255.0 - 255.0 * np.clip(np.nan_to_num(plane, nan=0.0, posinf=vmax, neginf=0.0) / vmax, 0.0, 1.0)
    return np.repeat(level.astype(np.uint8)[..., None], 3, axis=2)


def _outline(rgb: np.ndarray, mask: np.ndarray, colour: tuple[float, float, float], width: int = 2) -> None:
    """Paint the border pixels of ``mask`` (already at display resolution) in ``colour``."""
    edge = np.zeros_like(mask)
    for _ in range(width):
        inner = mask.copy()
        inner[1:, :] &= mask[:-1, :]
        inner[:-1, :] &= mask[1:, :]
        inner[:, 1:] &= mask[:, :-1]
        inner[:, :-1] &= mask[:, 1:]
        edge |= mask & ~inner
        mask = inner
    rgb[edge] = [int(round(255 * c)) for c in colour]  # the table of sites' colour (0-1)


def _scale_bar(rgb: np.ndarray, px_per_mm: float, length_mm: float) -> None:
    """A black bar of ``length_mm`` at the lower left (white-backed, so it shows on any uptake)."""
    n = max(1, int(round(length_mm * px_per_mm)))
    y, x = rgb.shape[0] - 10, 8
    rgb[y - 3:y + 4, x - 2:x + n + 2] = 255
    rgb[y - 1:y + 2, x:x + n] = 0


def study_figure(image: np.ndarray, grid: VoxelGrid, study: StudyResult, path, *, title: str = "",
                 window_suv: float | None = None) -> Path:
    """Write a PNG: coronal MIP with VOI outlines, and an axial slice through the centre of each VOI.

    Each slice panel names its plane and S coordinate; every panel has a scale bar (100 mm on the MIP, 20 mm on
    the slices); the grey window is written under the picture (an isocontour VOI's panel widens it to the
    VOI's SUVmax and says so).

    Parameters
    ----------
    image : (k, j, i) array
        SUV image.
    window_suv : float, optional
        Upper end of the grey scale (default 6 SUV, the reading preset).
    """
    lr, ap, si = _axes_roles(grid)
    vmax = float(window_suv or 6.0)
    spacing_kji = np.asarray(grid.spacing_mm[::-1], float)
    regions = dict(study.regions)
    n_cols = max(1, (len(regions) + 1) // 2)

    # Coronal MIP: rows along S-I, columns along R-L, square millimetres.
    mip = np.max(image, axis=ap)
    transpose = [a for a in (0, 1, 2) if a != ap][0] != si
    mip = _oriented(mip.T if transpose else mip, si, lr, grid, lr, ap, si)
    extent_mm = (mip.shape[0] * spacing_kji[si], mip.shape[1] * spacing_kji[lr])
    mip_px_per_mm = _MIP_HEIGHT_PX / extent_mm[0]
    mip_w = max(1, int(round(extent_mm[1] * mip_px_per_mm)))
    mip_rgb = _grey(_resample(mip, _MIP_HEIGHT_PX, mip_w), vmax)
    for site, region in regions.items():
        flat = _flat_region(image.shape, region, ap)
        flat = _oriented(flat.T if transpose else flat, si, lr, grid, lr, ap, si)
        _outline(mip_rgb, _resample(flat, _MIP_HEIGHT_PX, mip_w), _COLORS[site])
    _scale_bar(mip_rgb, mip_px_per_mm, 100.0)

    row_px = _PANEL_PX + _TITLE_PX
    width = _MARGIN_PX * (n_cols + 2) + mip_w + n_cols * _PANEL_PX
    top = _MARGIN_PX + (22 if title else 0) + _TITLE_PX
    height = top + max(_MIP_HEIGHT_PX, 2 * row_px - _TITLE_PX) + 2 * _MARGIN_PX + 16
    canvas = np.full((height, width, 3), 255, np.uint8)
    canvas[top:top + _MIP_HEIGHT_PX, _MARGIN_PX:_MARGIN_PX + mip_w] = mip_rgb
    texts = [(_MARGIN_PX, top - 24, "Coronal MIP with VOIs", dict(fontsize=10, weight="bold")),
             (_MARGIN_PX + 4, top + 4, "R", dict(fontsize=9))]

    for n_panel, (site, region) in enumerate(regions.items()):
        centre = _voi_centre(region)
        index = [slice(None)] * 3
        index[si] = int(centre[si])
        plane = np.asarray(image[tuple(index)])
        mask = _flat_region(image.shape, region, si, int(centre[si]))
        rows_axis, cols_axis = ap, lr
        if [a for a in (0, 1, 2) if a != si][0] != ap:
            plane, mask = plane.T, mask.T
        half = [int(_FIELD_MM / 2 // spacing_kji[a]) for a in (rows_axis, cols_axis)]  # whole voxels
        px_per_mm = _PANEL_PX / max((2 * h + 1) * spacing_kji[a] for h, a in zip(half, (rows_axis, cols_axis)))
        crop = tuple(slice(max(0, int(centre[a]) - h), min(plane.shape[m], int(centre[a]) + h + 1))
                     for m, (a, h) in enumerate(zip((rows_axis, cols_axis), half)))
        size_px = [max(1, int(round((crop[m].stop - crop[m].start) * spacing_kji[a] * px_per_mm)))
                   for m, a in enumerate((rows_axis, cols_axis))]
        part = _oriented(plane[crop], rows_axis, cols_axis, grid, lr, ap, si)
        part_mask = _oriented(mask[crop], rows_axis, cols_axis, grid, lr, ap, si)
        # An isocontour's own grey scale reaches its maximum (a sphere's stays at the reading window), said below.
        window = max(vmax, float(np.nanmax(region.values(image)))) if SITES[site].voi == ISOCONTOUR else vmax
        rgb = _grey(_resample(part, *size_px), window)
        _outline(rgb, _resample(part_mask, *size_px), _COLORS[site])
        _scale_bar(rgb, px_per_mm, 20.0)
        x = _MARGIN_PX * (2 + n_panel // 2) + mip_w + (n_panel // 2) * _PANEL_PX
        y = top + (n_panel % 2) * row_px
        canvas[y:y + size_px[0], x:x + size_px[1]] = rgb
        s_mm = float(grid.ijk_to_ras_points(np.asarray(centre[::-1], float))[2])
        plane_words = f"axial, S {s_mm:.0f} mm" + (f", SUV 0-{window:.3g}" if window != vmax else "")
        texts.append((x, y - _TITLE_PX + 2, f"{_panel_title(site, study)}\n{plane_words}", dict(fontsize=8)))
    texts.append((_MARGIN_PX, height - _MARGIN_PX - 12,
                  f"Grey: SUV 0 (white) to {vmax:g} (black) unless a panel says otherwise; VOI outlines in colour; "
                  "slices through each VOI's centre; scale bars 100 mm (MIP) and 20 mm (slices); patient's right "
                  "on the left.", dict(fontsize=7.5, color="#404040")))
    if title:
        texts.append((_MARGIN_PX, _MARGIN_PX - 4, title, dict(fontsize=11, weight="bold")))

    # Text on the composed pixels with Pillow (matplotlib's own dependency) and matplotlib's DejaVu fonts: a figure
    # of artists would spend most of the time in its image and layout machinery.
    from PIL import Image, ImageDraw

    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    for x_px, y_px, words, style in texts:
        draw.multiline_text((x_px, y_px), words, fill=style.get("color", "#000000"), spacing=2,
                            font=_font(style.get("fontsize", 8), style.get("weight") == "bold"))
    path = Path(path)
    picture.save(path, format="PNG", compress_level=3)
    return path


_FONTS: dict = {}


def _font(points: float, bold: bool):
    """matplotlib's bundled DejaVu Sans at ``points`` (100 dpi), loaded once."""
    key = (points, bold)
    if key not in _FONTS:
        import matplotlib
        from PIL import ImageFont

        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        _FONTS[key] = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name),
                                         size=int(round(points * 100 / 72)))
    return _FONTS[key]


def _flat_region(shape, region: RegionMask, axis: int, index: int | None = None) -> np.ndarray:
    """A region's projection along ``axis`` (``index`` None) or its plane at ``index``, as a 2-D mask of the
    image's other two axes, built from the region's box alone (no full-size mask of a whole-body image)."""
    out = np.zeros([n for a, n in enumerate(shape) if a != axis], bool)
    box = region.box
    if index is None:
        flat = region.mask.any(axis=axis)
    elif box[axis].start <= index < box[axis].stop:
        flat = np.take(region.mask, index - box[axis].start, axis=axis)
    else:
        return out
    out[tuple(sl for a, sl in enumerate(box) if a != axis)] = flat
    return out


def _panel_title(site: str, study: StudyResult) -> str:
    """The site's title (table of sites) and the values of its kind: the lesion's, the blood pool's with the TBR,
    a marrow site's."""
    result, kind = study.site_result(site), SITES[site].kind
    s = result.stats
    if kind == LESION_KIND:
        return (f"{SITE_TITLES[site]}\nSUVmax {s.suv_max:.2f}  SUVpeak {result.peak.suv_peak:.2f}\n"
                f"SUVmean {s.suv_mean:.2f}  {s.volume_ml:.2f} mL")
    if kind == BLOOD_POOL_KIND:
        tbr = study.tbr
        return f"{SITE_TITLES[site]}\nSUVmean {s.suv_mean:.2f}" + (f"  TBR {tbr:.2f}" if tbr else "")
    return f"{SITE_TITLES[site]}\nSUVmax {s.suv_max:.2f}  SUVmean {s.suv_mean:.2f}"
