"""Voxel geometry: where each voxel of an image array lies in patient space (RAS, millimetres).

Arrays follow Slicer's ``arrayFromVolume`` convention: ``volume[k, j, i]`` (slice, row, column), while
matrices and index triples are ``(i, j, k)`` like Slicer's IJK. World coordinates are RAS in mm, as in Slicer;
DICOM (and ITK) use LPS, which differs by the sign of the first two axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["VoxelGrid", "LPS_TO_RAS"]

#: Multiplying an LPS position (homogeneous) by this matrix gives RAS, and vice versa.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class VoxelGrid:
    """The sampling grid of a 3-D image.

    Parameters
    ----------
    ijk_to_ras : (4, 4) array
        Homogeneous matrix mapping voxel indices ``(i, j, k, 1)`` to RAS positions in mm of the voxel centres.
        Columns 0-2 are the i, j, k axis directions scaled by the spacing; column 3 is the origin.
    shape_kji : tuple of int
        Array shape ``(k, j, i)``.
    """

    ijk_to_ras: np.ndarray
    shape_kji: tuple[int, int, int]

    def __post_init__(self) -> None:
        m = np.array(self.ijk_to_ras, dtype=float)
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise ValueError("ijk_to_ras must be a finite 4x4 matrix")
        if abs(np.linalg.det(m[:3, :3])) < 1e-12:
            raise ValueError("ijk_to_ras is singular (zero spacing or degenerate directions)")
        m.setflags(write=False)
        object.__setattr__(self, "ijk_to_ras", m)
        object.__setattr__(self, "shape_kji", tuple(int(n) for n in self.shape_kji))

    @classmethod
    def from_spacing(cls, shape_kji, spacing_mm=(1.0, 1.0, 1.0), origin_ras=(0.0, 0.0, 0.0), directions=None):
        """Grid from spacing ``(i, j, k)`` in mm, origin (RAS of voxel 0,0,0) and a 3x3 direction matrix
        whose columns are the unit i, j, k axes in RAS (identity if omitted)."""
        d = np.eye(3) if directions is None else np.asarray(directions, float)
        m = np.eye(4)
        m[:3, :3] = d * np.asarray(spacing_mm, float)
        m[:3, 3] = origin_ras
        return cls(m, tuple(shape_kji))

    @property
    def ras_to_ijk(self) -> np.ndarray:
        """Inverse of :attr:`ijk_to_ras`."""
        return np.linalg.inv(self.ijk_to_ras)

    @property
    def spacing_mm(self) -> np.ndarray:
        """Voxel spacing along i, j, k in mm."""
        return np.linalg.norm(self.ijk_to_ras[:3, :3], axis=0)

    @property
    def directions(self) -> np.ndarray:
        """3x3 matrix whose columns are the unit i, j, k axis directions in RAS."""
        return self.ijk_to_ras[:3, :3] / self.spacing_mm

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in mL (cm^3)."""
        return float(abs(np.linalg.det(self.ijk_to_ras[:3, :3])) / 1000.0)

    @property
    def shape_ijk(self) -> tuple[int, int, int]:
        return self.shape_kji[::-1]

    def ras_to_continuous_ijk(self, ras) -> np.ndarray:
        """Continuous ``(i, j, k)`` index of RAS point(s) of shape (3,) or (n, 3)."""
        p = np.asarray(ras, float)
        m = self.ras_to_ijk
        return p @ m[:3, :3].T + m[:3, 3]

    def ijk_to_ras_points(self, ijk) -> np.ndarray:
        """RAS position(s) in mm of voxel index(es) ``(i, j, k)`` of shape (3,) or (n, 3)."""
        p = np.asarray(ijk, float)
        m = self.ijk_to_ras
        return p @ m[:3, :3].T + m[:3, 3]

    def index_radius_ijk(self, radius_mm: float) -> np.ndarray:
        """Half-extent along i, j, k (continuous index units) of a sphere of ``radius_mm``: the largest index step
        a point within the radius can be from the centre, ``r * |row_a|`` of the RAS-to-IJK matrix (exact on
        anisotropic and oblique grids)."""
        return radius_mm * np.linalg.norm(self.ras_to_ijk[:3, :3], axis=1)

    def contains_ijk(self, ijk) -> bool:
        """Whether the continuous index lies inside the image (within half a voxel of the outer centres)."""
        ijk = np.asarray(ijk, float)
        return bool(np.all(ijk >= -0.5) and np.all(ijk <= np.asarray(self.shape_ijk) - 0.5))

    def nearest_kji(self, ras) -> tuple[int, int, int]:
        """Array index ``(k, j, i)`` of the voxel whose centre is nearest to a RAS point (must be inside)."""
        i, j, k = np.rint(self.ras_to_continuous_ijk(ras)).astype(int)
        return int(k), int(j), int(i)

    def ball_offsets_kji(self, radius_mm: float) -> np.ndarray:
        """Integer ``(dk, dj, di)`` offsets of all voxels whose centres lie within ``radius_mm`` of a voxel centre.

        Distances are physical (spacing and direction cosines included), so the ball is correct on anisotropic
        and oblique grids. The centre offset (0, 0, 0) is always included.
        """
        a = self.ijk_to_ras[:3, :3]
        # Bound the index range from the smallest singular value: |A d| >= s_min |d|.
        s_min = np.linalg.svd(a, compute_uv=False).min()
        n = int(np.floor(radius_mm / s_min)) + 1
        r = np.arange(-n, n + 1)
        di, dj, dk = np.meshgrid(r, r, r, indexing="ij")
        d_ijk = np.stack([di.ravel(), dj.ravel(), dk.ravel()], axis=1)
        dist = np.linalg.norm(d_ijk @ a.T, axis=1)
        keep = d_ijk[dist <= radius_mm * (1 + 1e-9)]
        return keep[:, ::-1].copy()
