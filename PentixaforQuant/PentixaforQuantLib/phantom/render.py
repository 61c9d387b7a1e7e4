"""Rendering the phantom: paint the design on a grid, then blur, then noise (:func:`make_phantom`), and the
phantom on a clinical whole-body grid for benchmarks (:func:`make_whole_body_grid_phantom`).

* **Point sampling, priority.** Each structure of :func:`.design.design_structures` is painted in turn (later
  wins) at the voxel centres it holds (:mod:`.sampling`), into a float32 SUV map and a uint8 label map.
* **Blur, then noise.** An optional Gaussian PSF (``fwhm_mm``) is applied to the point-sampled map; multiplicative
  Gaussian noise (``noise`` = relative SD, fixed ``seed``) comes after the blur. The truth and the label map
  always describe the noise-free, unblurred design.
* **Speed.** Blur and noise run on the body box plus the kernel reach only, so a 440 x 440 x 600 grid builds in
  seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..geometry import VoxelGrid
from .design import TARGET_LESION, body_bbox, design_structures, radionuclide_info, seed_points
from .options import PhantomOptions
from .sampling import CHUNK_VOXELS, design_grid, paint
from .truth import PhantomTruth, StructureTruth, expected_answers, plain

__all__ = ["FWHM_TO_SIGMA", "Phantom", "make_phantom", "make_whole_body_grid_phantom"]

#: sigma = FWHM / (2 sqrt(2 ln 2)).
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
_BLUR_TRUNCATE = 4.0  # kernel reach in sigmas


@dataclass
class Phantom:
    """A sampled phantom.

    Attributes
    ----------
    suv : ndarray, float32, shape (k, j, i)
        SUVbw map (g/mL), blurred and noisy as the options say.
    labels : ndarray, uint8, shape (k, j, i)
        Voxelised design: one label per structure (0 = outside the body).
    label_names : dict
        Label value -> structure name.
    grid : VoxelGrid
        Sampling grid.
    truth : PhantomTruth
        Design, seed points and expected values.
    options : PhantomOptions
        The options used.
    """

    suv: np.ndarray
    labels: np.ndarray
    label_names: dict[int, str]
    grid: VoxelGrid
    truth: PhantomTruth
    options: PhantomOptions

    def mask(self, name: str) -> np.ndarray:
        """Boolean [k, j, i] mask of the structure called ``name``."""
        return self.labels == self.truth.structure(name).label


def make_phantom(options: PhantomOptions | None = None) -> Phantom:
    """Sample the Pentixafor reference phantom.

    Parameters
    ----------
    options : PhantomOptions or None
        Grid, blur, noise, radionuclide and extra lesions; None = defaults (4 mm isotropic, Ga-68, no blur, no
        noise).

    Returns
    -------
    Phantom
        SUV map (float32, [k, j, i]), label map (uint8), grid and truth.
    """
    opt = options or PhantomOptions()
    nuc = radionuclide_info(opt.radionuclide)
    if opt.fwhm_mm < 0 or opt.noise < 0:
        raise ValueError("fwhm_mm and noise must be >= 0")
    grid = opt.grid or design_grid(
        opt.spacing_mm, opt.directions, opt.fov_ras, fov_margin_mm=opt.fov_margin_mm, offgrid=opt.offgrid,
        grid_shift_mm=opt.grid_shift_mm,
    )
    structures = design_structures(opt.extra_lesions)
    targets = [les.name for les in opt.extra_lesions if les.target]
    if len(targets) > 1:
        raise ValueError("at most one extra lesion can be the target")
    target = targets[0] if targets else TARGET_LESION

    suv = np.zeros(grid.shape_kji, dtype=np.float32)
    labels = np.zeros(grid.shape_kji, dtype=np.uint8)
    for label, st in enumerate(structures, start=1):
        for part in st.parts:
            paint(suv, labels, grid, part, st.suv, label)

    counts = np.bincount(labels.ravel(), minlength=len(structures) + 1)
    records = tuple(
        StructureTruth(
            name=st.name, kind=st.kind, label=label, center_ras=tuple(float(v) for v in st.center_ras),
            size=plain(st.size), suv=float(st.suv), voxel_count=int(counts[label]), group=st.group,
        )
        for label, st in enumerate(structures, start=1)
    )
    seeds = seed_points(structures, target)
    expected = expected_answers(grid, records, seeds, target)
    truth = PhantomTruth(
        grid=grid, radionuclide=nuc.name, half_life_s=nuc.half_life_s, fwhm_mm=float(opt.fwhm_mm),
        noise=float(opt.noise), seed=int(opt.seed), structures=records, seeds_ras=seeds, target_lesion=target,
        expected=expected,
    )
    # Outside the body the map is 0 and stays 0 beyond the kernel reach (noise is multiplicative), so blur and
    # noise work on the body box plus that reach: the same result as on the whole image, much faster on big grids.
    reach = [0, 0, 0]
    if opt.fwhm_mm > 0:
        sigma_kji = _blur_sigma_kji(grid, opt.fwhm_mm)
        reach = [int(math.ceil(_BLUR_TRUNCATE * s)) + 1 for s in sigma_kji]
    box = _nonzero_box(labels, reach)
    if opt.fwhm_mm > 0:
        _blur(suv, box, sigma_kji)
    if opt.noise > 0:
        _add_noise(suv, box, opt.noise, opt.seed)
    return Phantom(suv=suv, labels=labels, label_names=truth.label_names, grid=grid, truth=truth, options=opt)


def make_whole_body_grid_phantom(
    shape_kji=(600, 440, 440),
    spacing_mm=(1.6, 1.6, 2.0),
    *,
    fwhm_mm: float = 6.0,
    noise: float = 0.0,
    seed: int = 0,
    radionuclide: str = "Ga-68",
) -> Phantom:
    """The phantom on a clinical whole-body grid, for benchmarks.

    The default is 440 x 440 pixels of 1.6 mm (704 mm transaxial FOV) and 600 slices of 2 mm (1200 mm axial),
    centred on the body; slices beyond the trunk are empty (SUV 0).

    Parameters
    ----------
    shape_kji : tuple of int
        Array shape (slices, rows, columns).
    spacing_mm : tuple of float
        Spacing along i, j, k in mm.
    fwhm_mm, noise, seed, radionuclide
        As in :class:`.options.PhantomOptions`.

    Returns
    -------
    Phantom
    """
    lo, hi = body_bbox()
    center = (lo + hi) / 2.0
    spacing = np.asarray(spacing_mm, float)
    size_ijk = np.asarray(shape_kji[::-1], float)
    # Snap the origin to the spacing lattice so RAS 0 stays a voxel centre when the spacing allows it.
    origin = np.round((center - (size_ijk - 1) / 2.0 * spacing) / spacing) * spacing
    grid = VoxelGrid.from_spacing(tuple(shape_kji), tuple(spacing), origin)
    return make_phantom(
        PhantomOptions(radionuclide=radionuclide, spacing_mm=tuple(spacing), grid=grid, fwhm_mm=fwhm_mm,
                       noise=noise, seed=seed)
    )


def _nonzero_box(labels: np.ndarray, margin_kji) -> tuple[slice, slice, slice]:
    """Slices of the bounding box of labelled voxels, grown by ``margin_kji`` voxels and clipped to the image."""
    out = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hit = np.flatnonzero(labels.any(axis=other))
        if hit.size == 0:
            return (slice(0, 0),) * 3
        a = max(int(hit[0]) - margin_kji[axis], 0)
        b = min(int(hit[-1]) + 1 + margin_kji[axis], labels.shape[axis])
        out.append(slice(a, b))
    return tuple(out)


def _blur_sigma_kji(grid: VoxelGrid, fwhm_mm: float) -> np.ndarray:
    """Per-axis sigma in voxels: sigma_mm / spacing. Exact for any orthogonal grid, because an isotropic
    Gaussian is separable along any orthonormal axes."""
    return (fwhm_mm * FWHM_TO_SIGMA) / grid.spacing_mm[::-1]


def _blur(suv: np.ndarray, box, sigma_kji) -> None:
    """In-place isotropic Gaussian PSF inside ``box`` (which must hold all activity plus the kernel reach)."""
    block = suv[box]
    if block.size == 0:
        return
    # mode="reflect" keeps the total activity exactly (mass reaching an image border is folded back).
    suv[box] = ndimage.gaussian_filter(
        block, sigma=sigma_kji, mode="reflect", truncate=_BLUR_TRUNCATE, output=np.float32
    )


def _add_noise(suv: np.ndarray, box, noise: float, seed: int) -> None:
    """In-place multiplicative Gaussian noise inside ``box``, chunked along k so temporaries stay small."""
    rng = np.random.default_rng(seed)
    block = suv[box]  # a view: changed in place
    if block.size == 0:
        return
    per_slice = block.shape[1] * block.shape[2]
    step = max(1, CHUNK_VOXELS // max(per_slice, 1))
    for ka in range(0, block.shape[0], step):
        sub = block[ka : ka + step]
        z = rng.standard_normal(sub.shape, dtype=np.float32)
        z *= np.float32(noise)
        z += np.float32(1.0)
        sub *= z
