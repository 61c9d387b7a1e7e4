"""The truth of a sampled phantom: its structures as painted, the protocol seed points and the expected answers.

The truth always describes the noise-free, unblurred design on the phantom's grid; its JSON form
(``pentixafor-phantom-truth/1``, :meth:`PhantomTruth.to_dict`) is what ``truth.json`` holds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..geometry import VoxelGrid
from ..measure.sites import MARROW_SITES
from .sampling import count_voxels_in_sphere

__all__ = [
    "PROTOCOL_SPHERE_DIAMETER_MM",
    "StructureTruth",
    "PhantomTruth",
    "expected_answers",
    "grid_to_dict",
    "plain",
]

#: Diameter of the blood-pool and marrow spheres of the protocol (docs/measurements.md), used for the expected values.
PROTOCOL_SPHERE_DIAMETER_MM = 15.0


@dataclass(frozen=True)
class StructureTruth:
    """One painted structure.

    Attributes
    ----------
    name, kind : str
        Structure name (= label name) and shape kind.
    label : int
        Value in the label map.
    center_ras : tuple of float
        Centre (RAS mm); for the aorta the arch apex on the lumen centre line.
    size : dict
        Shape parameters in mm (radius_mm, semi_axes_mm, height_mm, ...).
    suv : float
        Design SUV (g/mL).
    voxel_count : int
        Voxels carrying this label on the phantom's grid (after priority compositing).
    group : str
        "body", "organ", "blood", "marrow" or "lesion".
    """

    name: str
    kind: str
    label: int
    center_ras: tuple[float, float, float]
    size: dict
    suv: float
    voxel_count: int
    group: str


@dataclass(frozen=True)
class PhantomTruth:
    """Everything a test needs to know about a phantom.

    Attributes
    ----------
    grid : VoxelGrid
        The sampling grid.
    radionuclide : str
        ``"Ga-68"`` or ``"F-18"``.
    half_life_s : float
        Half-life the DICOM writer records, in s.
    fwhm_mm, noise : float
        Blur and noise applied to :attr:`Phantom.suv` (the expected values below ignore both).
    seed : int
        Noise seed.
    structures : tuple of StructureTruth
        In painting order.
    seeds_ras : dict
        Protocol points (RAS mm): ``lesion`` (target lesion centre), ``aorta`` (arch apex on the lumen centre
        line), ``C7``, ``T12``, ``L5``, ``right_ilium``, ``left_ilium`` (centres of the marrow structures; a
        15 mm sphere there lies fully in marrow).
    target_lesion : str
        Name of the target lesion.
    expected : dict
        Answers for the noise-free, unblurred design on this grid: ``lesion`` (name, suv_max, suv_mean, voxels,
        volume_ml, design_volume_ml), ``blood_pool`` (suv_mean, voxels), ``marrow`` (per site suv_max, suv_mean,
        voxels), ``tbr``, ``mean_suv_max`` and ``sphere_diameter_mm``. Sphere voxel counts are the voxel centres
        within 7.5 mm of the seed.
    """

    grid: VoxelGrid
    radionuclide: str
    half_life_s: float
    fwhm_mm: float
    noise: float
    seed: int
    structures: tuple[StructureTruth, ...]
    seeds_ras: dict[str, tuple[float, float, float]]
    target_lesion: str
    expected: dict

    def structure(self, name: str) -> StructureTruth:
        """The structure called ``name``."""
        for st in self.structures:
            if st.name == name:
                return st
        raise KeyError(name)

    @property
    def seed_points(self) -> dict[str, tuple[float, float, float]]:
        """Alias of :attr:`seeds_ras` (site name -> RAS mm), in protocol order."""
        return dict(self.seeds_ras)

    def summary_lines(self) -> list[str]:
        """The expected protocol answers as short human-readable lines."""
        e = self.expected
        les = e["lesion"]
        lines = [
            f"target lesion {les['name']}: SUVmax {les['suv_max']:.2f}, SUVmean {les['suv_mean']:.2f}, "
            f"{les['voxels']} voxels = {les['volume_ml']:.2f} mL (sphere {les['design_volume_ml']:.2f} mL)",
            f"blood pool (aortic arch, {e['sphere_diameter_mm']:g} mm sphere): "
            f"SUVmean {e['blood_pool']['suv_mean']:.2f}",
            f"TBR {e['tbr']:.2f}",
        ]
        lines += [f"marrow {site}: SUVmax {m['suv_max']:.2f}" for site, m in e["marrow"].items()]
        lines.append(f"meanSUVmax {e['mean_suv_max']:.2f}")
        return lines

    @property
    def label_names(self) -> dict[int, str]:
        """Label value -> structure name (0 = ``outside`` the body)."""
        return {0: "outside", **{st.label: st.name for st in self.structures}}

    def to_dict(self) -> dict:
        """JSON-able dict (plain lists, floats and strings)."""
        return plain(
            {
                "format": "pentixafor-phantom-truth/1",
                "grid": grid_to_dict(self.grid),
                "radionuclide": self.radionuclide,
                "half_life_s": self.half_life_s,
                "fwhm_mm": self.fwhm_mm,
                "noise": self.noise,
                "seed": self.seed,
                "structures": [asdict(st) for st in self.structures],
                "seeds_ras": self.seeds_ras,
                "target_lesion": self.target_lesion,
                "expected": self.expected,
                "label_names": {str(k): v for k, v in self.label_names.items()},
            }
        )

    @classmethod
    def from_dict(cls, d: dict) -> PhantomTruth:
        """Inverse of :meth:`to_dict` (e.g. for a ``truth.json`` read back)."""
        g = d["grid"]
        return cls(
            grid=VoxelGrid(np.asarray(g["ijk_to_ras"], float), tuple(g["shape_kji"])),
            radionuclide=d["radionuclide"],
            half_life_s=float(d["half_life_s"]),
            fwhm_mm=float(d["fwhm_mm"]),
            noise=float(d["noise"]),
            seed=int(d["seed"]),
            structures=tuple(
                StructureTruth(**{**st, "center_ras": tuple(st["center_ras"])}) for st in d["structures"]
            ),
            seeds_ras={k: tuple(v) for k, v in d["seeds_ras"].items()},
            target_lesion=d["target_lesion"],
            expected=d["expected"],
        )


def expected_answers(grid: VoxelGrid, records, seeds, target: str) -> dict:
    """Protocol answers for the noise-free, unblurred design (spheres fully inside uniform structures).

    Parameters
    ----------
    grid : VoxelGrid
        The phantom's grid (the sphere voxel counts depend on it).
    records : sequence of StructureTruth
        The painted structures.
    seeds : dict
        Protocol seed points (RAS mm), as :func:`.design.seed_points` gives them.
    target : str
        Name of the target lesion.

    Returns
    -------
    dict
        See :attr:`PhantomTruth.expected`.
    """
    by = {r.name: r for r in records}
    radius = PROTOCOL_SPHERE_DIAMETER_MM / 2.0
    tl = by[target]
    blood = by["aorta"].suv
    marrow = {
        site: {
            "suv_max": by[site].suv,
            "suv_mean": by[site].suv,
            "voxels": count_voxels_in_sphere(grid, seeds[site], radius),
        }
        for site in MARROW_SITES
    }
    r_mm = tl.size["radius_mm"]
    return {
        "lesion": {
            "name": target,
            "suv_max": tl.suv,
            "suv_mean": tl.suv,
            # The 40 % isocontour of a uniform sphere in a background below 40 % is the voxelised sphere.
            "voxels": tl.voxel_count,
            "volume_ml": tl.voxel_count * grid.voxel_volume_ml,
            "design_volume_ml": 4.0 / 3.0 * math.pi * r_mm**3 / 1000.0,
        },
        "blood_pool": {"suv_mean": blood, "voxels": count_voxels_in_sphere(grid, seeds["aorta"], radius)},
        "marrow": marrow,
        "tbr": tl.suv / blood,
        "mean_suv_max": float(np.mean([m["suv_max"] for m in marrow.values()])),
        "sphere_diameter_mm": PROTOCOL_SPHERE_DIAMETER_MM,
    }


def grid_to_dict(grid: VoxelGrid) -> dict:
    """JSON form of a grid: its ijk-to-RAS matrix, shape and spacing."""
    return {
        "ijk_to_ras": np.asarray(grid.ijk_to_ras, float).tolist(),
        "shape_kji": [int(v) for v in grid.shape_kji],
        "spacing_mm": [float(v) for v in grid.spacing_mm],
    }


def plain(obj):
    """Recursively turn numpy scalars/arrays and tuples into JSON-able Python objects."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, VoxelGrid):
        return grid_to_dict(obj)
    return obj
