"""Pictures of what was measured, rendered offscreen (matplotlib's Agg backend; no display, no OpenGL).

:func:`study_figure` draws a coronal maximum-intensity projection with every VOI outlined and the points marked,
and one axial slice through each VOI with its outline, so a reader sees exactly which voxels made each number.
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


def _regions(study: StudyResult) -> dict[str, tuple[RegionMask, np.ndarray]]:
    """Site -> (region, centre voxel (k, j, i)) of every measured VOI, in protocol order: an isocontour's peak
    voxel, a sphere's mean voxel."""
    return {
        site: (region, np.asarray(study.site_result(site).voi.peak_kji) if SITES[site].voi == ISOCONTOUR
               else np.rint(region.indices_kji().mean(axis=0)).astype(int))
        for site, region in study.regions.items()
    }


def _axes_roles(grid: VoxelGrid) -> tuple[int, int, int]:
    """Array axes (0=k, 1=j, 2=i) closest to the patient's R-L, A-P and S-I directions."""
    d = np.abs(grid.directions)  # rows: R, A, S; columns: i, j, k
    lr, ap, si = (2 - int(np.argmax(d[row])) for row in range(3))
    if len({lr, ap, si}) != 3:  # strongly oblique: fall back to the array order
        return 2, 1, 0
    return lr, ap, si


def study_figure(image: np.ndarray, grid: VoxelGrid, study: StudyResult, path, *, title: str = "",
                 window_suv: float | None = None) -> Path:
    """Write a PNG: coronal MIP with VOI outlines, and an axial slice through each VOI.

    Parameters
    ----------
    image : (k, j, i) array
        SUV image.
    window_suv : float, optional
        Upper end of the grey scale (default: 6 SUV or the blood-pool based reading window).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    lr, ap, si = _axes_roles(grid)
    regions = _regions(study)
    vmax = window_suv or 6.0
    spacing_kji = grid.spacing_mm[::-1]

    def display(plane: np.ndarray, axes_rc: tuple[int, int]) -> np.ndarray:
        """Orient a 2-D plane (rows, cols = array axes) radiologically: superior/anterior up, patient right left."""
        row_axis, col_axis = axes_rc
        d = grid.directions  # columns: i, j, k
        col_dir = d[:, 2 - col_axis]
        row_dir = d[:, 2 - row_axis]
        out = plane
        if col_dir[0] > 0:  # columns run towards the patient's right, which belongs on the viewer's left
            out = out[:, ::-1]
        if row_axis == si and row_dir[2] > 0:
            out = out[::-1, :]
        if row_axis == ap and row_dir[1] < 0:
            out = out[::-1, :]
        return out

    n = len(regions)
    fig = plt.figure(figsize=(4 + 2.6 * max(1, (n + 1) // 2), 8), dpi=110)
    grid_spec = fig.add_gridspec(2, 1 + max(1, (n + 1) // 2), width_ratios=[1.6] + [1] * max(1, (n + 1) // 2))
    ax = fig.add_subplot(grid_spec[:, 0])
    mip = image.max(axis=ap)
    if not np.isfinite(mip).all():  # rare: a non-finite voxel counts as 0 (the full-size copy only then)
        mip = np.where(np.isfinite(image), image, 0).max(axis=ap)
    rows_cols = tuple(a for a in (0, 1, 2) if a != ap)  # remaining array axes in order
    # rows must be the S-I axis
    if rows_cols[0] != si:
        mip = mip.T
        rows_cols = rows_cols[::-1]
    aspect = spacing_kji[rows_cols[0]] / spacing_kji[rows_cols[1]]
    ax.imshow(display(mip, rows_cols), cmap="gray_r", vmin=0, vmax=vmax, aspect=aspect, interpolation="nearest")
    for site, (region, _) in regions.items():
        proj = _flat_region(image.shape, region, ap)
        if proj.shape != mip.shape:
            proj = proj.T
        ax.contour(display(proj.astype(float), rows_cols), levels=[0.5], colors=_COLORS[site], linewidths=1.2)
    ax.set_title("Coronal MIP with VOIs", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.01, 0.99, "R", transform=ax.transAxes, va="top", fontsize=9, color="k")

    for n_panel, (site, (region, center)) in enumerate(regions.items()):
        sub = fig.add_subplot(grid_spec[n_panel % 2, 1 + n_panel // 2])
        index = [slice(None)] * 3
        index[si] = int(center[si])
        plane = image[tuple(index)]
        plane = np.where(np.isfinite(plane), plane, 0)
        mask_plane = _flat_region(image.shape, region, si, int(center[si]))
        rc = tuple(a for a in (0, 1, 2) if a != si)
        if rc[0] != ap:
            plane, mask_plane, rc = plane.T, mask_plane.T, rc[::-1]
        # Crop to +-40 mm around the VOI centre.
        half = [int(np.ceil(40.0 / spacing_kji[a])) for a in rc]
        c = [int(center[a]) for a in rc]
        crop = tuple(slice(max(0, c[m] - half[m]), c[m] + half[m] + 1) for m in range(2))
        p = display(plane[crop], rc)
        mk = display(mask_plane[crop].astype(float), rc)
        # An isocontour's own grey scale reaches its maximum (a sphere's stays at the reading window).
        local_vmax = max(vmax, float(np.nanmax(region.values(image)))) if SITES[site].voi == ISOCONTOUR else vmax
        sub.imshow(p, cmap="gray_r", vmin=0, vmax=local_vmax, aspect=spacing_kji[rc[0]] / spacing_kji[rc[1]],
                   interpolation="nearest")
        if mk.any():
            sub.contour(mk, levels=[0.5], colors=_COLORS[site], linewidths=1.5)
        sub.set_title(_panel_title(site, study), fontsize=8)
        sub.set_xticks([])
        sub.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


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
