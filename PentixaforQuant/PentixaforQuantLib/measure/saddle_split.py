"""The explicit ``split_at_saddle`` option of the lesion VOI: the isocontour component divided into structures.

Not the default (the default VOI is the whole 40 % isocontour component, Buck et al. 2022). With the option the VOI
is the clicked structure's watershed basins, merged across shallow saddles (docs/measurements.md, "Splitting at a
saddle"). The smoothing used here is also the level on which the checks compare structures (:func:`smoothed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["Partition", "partition", "smoothed", "SMOOTH_MM"]


def _flat_zones(sub: np.ndarray, comp: np.ndarray, structure, limit: int = 20) -> list[np.ndarray]:
    """Plateaus of exactly equal SUV in the component that have an interior voxel (all face neighbours in the
    component with the same value); the largest ``limit`` of them.

    Noise-free phantoms are made of such plateaus; a plateau is a structure of its own even where it touches a
    hotter one (a terrace), which no regional maximum would mark.
    """
    interior = comp.copy()
    for axis in range(3):
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis], b[axis] = slice(0, -1), slice(1, None)
        same = np.zeros_like(comp)
        same[tuple(a)] = (sub[tuple(a)] == sub[tuple(b)]) & comp[tuple(b)]
        interior &= same
        same = np.zeros_like(comp)
        same[tuple(b)] = (sub[tuple(b)] == sub[tuple(a)]) & comp[tuple(a)]
        interior &= same
    if not interior.any():
        return []
    labels, n = ndimage.label(interior, structure=structure)
    sizes = np.bincount(labels.ravel())[1:]
    zones = []
    for lab in (np.argsort(-sizes, kind="stable")[:limit] + 1):
        seed = labels == lab
        value = sub[tuple(np.argwhere(seed)[0])]
        zones.append(ndimage.binary_propagation(seed, structure=structure, mask=comp & (sub == value)))
    return zones


# Two plateaus in contact are two structures when their SUV differ by at least this fraction: far above the
# quantisation of stored PET values (about 1e-4 of the maximum), far below any real difference between structures.
_PLATEAU_STEP = 0.01

# Smoothing (Gaussian sigma, mm) of the SUV on which saddles and structure levels are compared (never the VOI's own
# values). Noise of 10 % per 2 mm voxel becomes about 1.5 %.
SMOOTH_MM = 2.0


def smoothed(sub, mask, sigma_mm: float, spacing_kji) -> np.ndarray:
    """SUV of the ``mask`` voxels smoothed by a Gaussian of ``sigma_mm`` among themselves (normalised convolution:
    voxels outside the mask, e.g. a neighbouring bladder or the background, do not contribute). 0 outside."""
    sigma = [sigma_mm / s for s in spacing_kji]
    weight = ndimage.gaussian_filter(mask.astype(np.float64), sigma=sigma, mode="constant", truncate=2.5)
    total = ndimage.gaussian_filter(np.where(mask, sub, 0.0), sigma=sigma, mode="constant", truncate=2.5)
    return np.where(mask, total / np.where(weight > 0, weight, 1.0), 0.0)


@dataclass
class Partition:
    """The isocontour component divided into structures (watershed basins merged by the saddle rules)."""

    own: np.ndarray  # the clicked structure's voxels (over the box)
    others: list[dict]  # the other structures: suv_max, peak (local index), voxels


def partition(sub, comp, structure, anchor, saddle_depth: float, leak_ratio: float,
               spacing_kji=(1.0, 1.0, 1.0)) -> Partition | None:
    """Split ``comp`` into structures; None if it holds one structure only.

    Markers: the plateaus of exactly equal SUV in the component (the structures of noise-free phantoms), then its
    regional maxima of SUV outside them. Each voxel goes to a marker by a watershed on -SUV (flooding from the
    hottest voxels). The rules compare SUV smoothed by a Gaussian of ``SMOOTH_MM`` (sigma, mm; noise divided by
    about six on 2 mm voxels): a basin's peak P is the smoothed SUV at its hottest voxel, the saddle s between two
    basins the highest min(smoothed SUV) over adjacent voxel pairs across their boundary. Neighbouring basins with
    P_A >= P_B merge unless:

    - the dip is deep: P_B - s >= saddle_depth * P_B;
    - both are plateaus whose SUV differ by at least 1 %: two flat structures side by side, the lower a terrace
      without a saddle;
    - B holds the clicked voxel and P_A > leak_ratio * P_B: the clicked structure never merges into a much hotter
      one, however shallow the saddle (a lesion next to the bladder).

    Saddles are taken highest first (union-find), so a noise bump merges before a real neighbour is considered.
    """
    from skimage.morphology import local_maxima
    from skimage.segmentation import watershed

    vals = np.where(comp, sub, -np.inf)
    # Fast path: one connected set of voxels that are not below any neighbour holds every maximum and plateau,
    # so the component is one structure (the usual isolated lesion).
    candidates = comp & (vals >= ndimage.maximum_filter(vals, footprint=structure, mode="constant", cval=-np.inf))
    if ndimage.label(candidates, structure=structure)[1] <= 1:
        return None
    zones = _flat_zones(sub, comp, structure)
    markers = np.zeros(comp.shape, np.int32)
    for n_zone, zone in enumerate(zones, start=1):
        markers[zone & (markers == 0)] = n_zone
    n_zones = len(zones)
    maxima = local_maxima(vals, footprint=structure, allow_borders=True) & comp & (markers == 0)
    more, n_more = ndimage.label(maxima, structure=structure)
    markers[more > 0] = more[more > 0] + n_zones
    n = n_zones + n_more
    if n <= 1:
        return None
    plateau = np.zeros(n + 1, bool)
    plateau[1:n_zones + 1] = True
    labels = watershed(np.where(comp, -sub, 0.0), markers, mask=comp, connectivity=structure)
    if labels[anchor] == 0:  # pragma: no cover - the anchor is in the component
        return None
    level = smoothed(sub, comp, SMOOTH_MM, spacing_kji)

    # Contacts between basins along every neighbour offset of the connectivity (each pair once).
    offsets = [o for o in np.argwhere(structure) - 1 if tuple(o) > (0, 0, 0)]
    la_all, lb_all, s_all = [], [], []
    for o in offsets:
        sa, sb = [], []
        for d, size in zip(o, comp.shape):
            sa.append(slice(max(0, -d), size - max(0, d)))
            sb.append(slice(max(0, d), size - max(0, -d)))
        la, lb = labels[tuple(sa)], labels[tuple(sb)]
        m = (la != lb) & (la > 0) & (lb > 0)
        if not m.any():
            continue
        la_all.append(np.minimum(la[m], lb[m]))
        lb_all.append(np.maximum(la[m], lb[m]))
        s_all.append(np.minimum(level[tuple(sa)][m], level[tuple(sb)][m]))
    if not la_all:  # pragma: no cover - basins of one connected component always touch
        return None
    la, lb, s = np.concatenate(la_all), np.concatenate(lb_all), np.concatenate(s_all)
    key = la.astype(np.int64) * (n + 1) + lb
    order = np.argsort(key, kind="stable")
    key, s = key[order], s[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    saddle = np.maximum.reduceat(s, starts)
    pair_a, pair_b = key[starts] // (n + 1), key[starts] % (n + 1)

    # Per basin: SUVmax, its voxel (lowest flat index among ties) and the smoothed SUV there.
    top = np.r_[-np.inf, ndimage.maximum(vals, labels, np.arange(1, n + 1))]
    flat = np.flatnonzero(labels.ravel() > 0)
    lab_flat = labels.ravel()[flat]
    at_max = sub.ravel()[flat] == top[lab_flat]
    first = np.full(n + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, lab_flat[at_max], flat[at_max])
    peak = np.r_[-np.inf, level.ravel()[first[1:]]]
    # The union-find runs on Python lists: thousands of noise basins are merged one saddle at a time.
    parent = list(range(n + 1))
    peak_l, first_l, top_l, plateau_l = peak.tolist(), first.tolist(), top.tolist(), plateau.tolist()

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    clicked = int(labels[anchor])
    order = np.lexsort((pair_b, pair_a, -saddle))  # highest saddle first; ties in label order
    for a, b, sd in zip(pair_a[order].tolist(), pair_b[order].tolist(), saddle[order].tolist()):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        hi, lo = (ra, rb) if (peak_l[ra], -first_l[ra]) >= (peak_l[rb], -first_l[rb]) else (rb, ra)
        deep = peak_l[lo] - sd >= saddle_depth * abs(peak_l[lo])
        step = plateau_l[a] and plateau_l[b] and (
            abs(top_l[a] - top_l[b]) >= _PLATEAU_STEP * max(abs(top_l[a]), abs(top_l[b])))
        much_hotter = find(clicked) == lo and peak_l[hi] > leak_ratio * peak_l[lo]
        if deep or step or much_hotter:
            continue
        parent[lo] = hi
    roots = np.array([find(x) for x in range(n + 1)], dtype=np.int64)
    root_of_voxel = roots[labels]
    mine = roots[clicked]
    if np.all(root_of_voxel[comp] == mine):
        return None
    counts = np.bincount(root_of_voxel[comp], minlength=n + 1)
    others = []
    for r in np.unique(roots[1:]):
        if r == mine:
            continue
        members = np.flatnonzero(roots == r)
        best = members[np.lexsort((first[members], -top[members]))[0]]  # its hottest voxel
        others.append({"suv_max": float(top[best]), "peak": np.unravel_index(int(first[best]), comp.shape),
                       "voxels": int(counts[r])})
    others.sort(key=lambda o: -o["suv_max"])
    return Partition(own=(root_of_voxel == mine) & comp, others=others)

