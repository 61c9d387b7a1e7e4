"""The geometry of the phantom's structures: analytic shapes in continuous RAS millimetres.

Every shape has ``bbox_ras()`` (low and high RAS corners that hold it) and ``contains(x, y, z)``, which takes
broadcastable coordinate arrays, so axis-aligned grids can pass 1-D arrays and never build a full 3-D
coordinate volume. Primitives: :class:`Ellipsoid` (spheres, organs, ilia), :class:`Cylinder` (body, vertebral
bodies, aortic tubes) and :class:`HalfTorus` (aortic arch); constructions: :func:`sphere`,
:func:`vertebral_bodies_between`, :func:`ilium_axes` and :func:`arch_and_tubes`. The numbers (where each
structure sits, how large it is) live in :mod:`.design`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "INCLUSION_TOLERANCE",
    "Ellipsoid",
    "Cylinder",
    "HalfTorus",
    "sphere",
    "vertebral_bodies_between",
    "ilium_axes",
    "arch_and_tubes",
]

#: Inclusion tolerance of the shape tests (relative), the same as VoxelGrid.ball_offsets_kji uses, so that voxel
#: centres lying exactly on a sphere surface are inside in both places.
INCLUSION_TOLERANCE = 1e-9


def _project(coords, origin, axis) -> np.ndarray:
    """sum_w axis[w] * (coords[w] - origin[w]), skipping zero terms so axis-aligned inputs stay 1-D."""
    out = None
    for w in range(3):
        a = float(axis[w])
        if abs(a) < 1e-12:
            continue
        term = (coords[w] - origin[w]) * a if a != 1.0 else coords[w] - origin[w]
        out = term if out is None else out + term
    return np.zeros((1, 1, 1)) if out is None else out


def _rotation(rotation) -> np.ndarray:
    r = np.eye(3) if rotation is None else np.asarray(rotation, float)
    if r.shape != (3, 3) or not np.allclose(r.T @ r, np.eye(3), atol=1e-9):
        raise ValueError("rotation must be an orthonormal 3x3 matrix (columns = local axes in RAS)")
    return r


@dataclass(frozen=True)
class Ellipsoid:
    """Ellipsoid with semi-axes along the columns of ``rotation`` (local axes in RAS)."""

    center_ras: tuple[float, float, float]
    semi_axes_mm: tuple[float, float, float]
    rotation: Any = None

    def bbox_ras(self):
        r = _rotation(self.rotation)
        half = np.sqrt(((r * np.asarray(self.semi_axes_mm, float)) ** 2).sum(axis=1))
        c = np.asarray(self.center_ras, float)
        return c - half, c + half

    def contains(self, x, y, z):
        r = _rotation(self.rotation)
        q = 0.0
        for a in range(3):
            q = q + (_project((x, y, z), self.center_ras, r[:, a]) / self.semi_axes_mm[a]) ** 2
        return q <= 1.0 + INCLUSION_TOLERANCE


@dataclass(frozen=True)
class Cylinder:
    """Elliptic cylinder: cross-section semi-axes along local axes 0, 1; ``height_mm`` along local axis 2."""

    center_ras: tuple[float, float, float]
    semi_axes_mm: tuple[float, float]
    height_mm: float
    rotation: Any = None

    def bbox_ras(self):
        r = _rotation(self.rotation)
        a, b = self.semi_axes_mm
        half = np.sqrt((r[:, 0] * a) ** 2 + (r[:, 1] * b) ** 2) + np.abs(r[:, 2]) * self.height_mm / 2.0
        c = np.asarray(self.center_ras, float)
        return c - half, c + half

    def contains(self, x, y, z):
        r = _rotation(self.rotation)
        p = (x, y, z)
        q = (_project(p, self.center_ras, r[:, 0]) / self.semi_axes_mm[0]) ** 2 + (
            _project(p, self.center_ras, r[:, 1]) / self.semi_axes_mm[1]
        ) ** 2
        h = np.abs(_project(p, self.center_ras, r[:, 2]))
        return (q <= 1.0 + INCLUSION_TOLERANCE) & (h <= self.height_mm / 2.0 * (1.0 + INCLUSION_TOLERANCE))


@dataclass(frozen=True)
class HalfTorus:
    """Tube of radius ``tube_radius_mm`` around the half circle ``center + R (cos t u + sin t v)``, t in [0, pi]."""

    center_ras: tuple[float, float, float]
    u: tuple[float, float, float]
    v: tuple[float, float, float]
    major_radius_mm: float
    tube_radius_mm: float

    def bbox_ras(self):
        t = np.linspace(0.0, np.pi, 361)
        c = np.asarray(self.center_ras, float)
        arc = np.cos(t)[:, None] * np.asarray(self.u) + np.sin(t)[:, None] * np.asarray(self.v)
        pts = c + self.major_radius_mm * arc
        pad = self.tube_radius_mm + 1.0  # the sampled arc can miss the true extreme by < 0.01 mm
        return pts.min(axis=0) - pad, pts.max(axis=0) + pad

    def contains(self, x, y, z):
        p = (x, y, z)
        w = np.cross(self.u, self.v)
        a = _project(p, self.center_ras, self.u)
        b = _project(p, self.center_ras, self.v)
        n = _project(p, self.center_ras, w)
        rho = np.sqrt(a * a + b * b)
        return ((rho - self.major_radius_mm) ** 2 + n * n <= self.tube_radius_mm**2 * (1.0 + INCLUSION_TOLERANCE)) & (
            b >= 0.0
        )


def sphere(center_ras, radius_mm: float) -> Ellipsoid:
    """A sphere (a lesion): an ellipsoid with three equal semi-axes."""
    return Ellipsoid(tuple(center_ras), (radius_mm,) * 3)


def vertebral_bodies_between(upper, lower, names, disc_mm: float) -> list[tuple[str, tuple, tuple, float]]:
    """Vertebral bodies filling the gap between two given ones, separated by equal discs.

    Parameters
    ----------
    upper, lower : (centre RAS, semi-axes R/A, height mm)
        The vertebral bodies above and below the gap (elliptic cylinders along S).
    names : sequence of str
        Names of the bodies to place, from top to bottom.
    disc_mm : float
        Height of each disc, including the discs touching ``upper`` and ``lower``.

    Returns
    -------
    list of (name, centre RAS, semi-axes R/A, height mm)
        Equal heights; centre A and the semi-axes interpolated linearly in S between ``upper`` and ``lower``.
    """
    out = []
    top = upper[0][2] - upper[2] / 2.0  # bottom face of the upper vertebra
    bottom = lower[0][2] + lower[2] / 2.0  # top face of the lower one
    n = len(names)
    height = (top - bottom - (n + 1) * disc_mm) / n
    for m, name in enumerate(names):
        s = top - disc_mm - height / 2.0 - m * (height + disc_mm)
        f = (upper[0][2] - s) / (upper[0][2] - lower[0][2])
        a = upper[0][1] + f * (lower[0][1] - upper[0][1])
        semi = tuple(upper[1][q] + f * (lower[1][q] - upper[1][q]) for q in range(2))
        out.append((name, (0.0, a, s), semi, height))
    return out


def ilium_axes(angle_deg: float, side: int) -> np.ndarray:
    """Local axes (thickness, width, height) of an ilium as columns in RAS; side = +1 right (R > 0), -1 left.

    The wide axis points anterior-lateral at ``angle_deg`` from the A axis; the height axis is S.
    """
    t = math.radians(angle_deg)
    width = np.array([side * math.sin(t), math.cos(t), 0.0])
    thick = np.array([side * math.cos(t), -math.sin(t), 0.0])
    return np.column_stack([thick, width, [0.0, 0.0, 1.0]])


def arch_and_tubes(center_ras, u, major_radius_mm: float, lumen_radius_mm: float, ascending_bottom_s_mm: float,
                   descending_bottom_s_mm: float):
    """An aortic arch (half torus in the plane of ``u`` and S) continued at both ends by vertical tubes.

    The arch runs from ``center - R u`` (descending end) over the apex ``center + R S`` to ``center + R u``
    (ascending end); each tube hangs from its end down to the given S.

    Returns
    -------
    parts : tuple of shapes
        The half torus, the ascending tube, the descending tube.
    apex_ras : tuple of float
        Top of the arch on the lumen centre line.
    ascending_ras, descending_ras : ndarray
        Arch ends on the lumen centre line (the tube axes).
    """
    u_ = np.asarray(u)
    arch_c = np.asarray(center_ras)
    asc = arch_c + major_radius_mm * u_
    desc = arch_c - major_radius_mm * u_
    h_asc = arch_c[2] - ascending_bottom_s_mm
    h_desc = arch_c[2] - descending_bottom_s_mm
    r = lumen_radius_mm
    parts = (
        HalfTorus(center_ras, u, (0.0, 0.0, 1.0), major_radius_mm, r),
        Cylinder((asc[0], asc[1], arch_c[2] - h_asc / 2), (r, r), float(h_asc), None),
        Cylinder((desc[0], desc[1], arch_c[2] - h_desc / 2), (r, r), float(h_desc), None),
    )
    apex = tuple(float(v) for v in arch_c + np.array([0.0, 0.0, major_radius_mm]))
    return parts, apex, asc, desc
