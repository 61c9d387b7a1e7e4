"""Real tumours for the VOI tests: the IBSI validation set's 51 FDG PET sarcomas (CC BY 3.0) and the few cropped
cases kept in ``Testing/data/ibsi-sts-pet``, with the independent references the tests compare against.

Nothing here uses the code under test's VOI or SUVpeak: the published isocontour is computed with
``scipy.ndimage.label`` on the whole image, SUVpeak with explicit sphere sums over voxel-centre distances.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from PentixaforQuantLib.geometry import VoxelGrid

REPO_DATA = Path(__file__).resolve().parents[1] / "data" / "ibsi-sts-pet"
ONE_ML_RADIUS_MM = (3.0 / (4.0 * np.pi)) ** (1.0 / 3.0) * 10.0  # 6.2035 mm: IBSI's 1 cm^3 sphere


@dataclass
class Case:
    """One real tumour: the SUV image [k, j, i], its grid, the GTV_Mass contour as a mask on it, and the click (the
    RAS of the GTV's hottest voxel, the lowest flat index among ties)."""

    name: str
    image: np.ndarray
    grid: VoxelGrid
    gtv: np.ndarray

    @property
    def gtv_max_kji(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in np.unravel_index(int(np.argmax(np.where(self.gtv, self.image, -np.inf))),
                                                      self.image.shape))

    @property
    def click_ras(self) -> np.ndarray:
        return self.grid.ijk_to_ras_points(np.asarray(self.gtv_max_kji[::-1], float))


def read_shared_case(root: Path, name: str) -> Case:
    """A case of the shared archive: the DICOM series through the project's reader (the values are already SUVbw,
    factor 1) and the NIfTI contour mask mapped onto its grid voxel by voxel (SimpleITK reads the NIfTI)."""
    import SimpleITK as sitk

    from PentixaforQuantLib.suv.series_reader import read_pet_volume

    pet = read_pet_volume(root / "dicom" / name / "PET" / "image")
    nifti = sitk.ReadImage(str(root / "nifti" / name / "PET_mask.nii.gz"))
    xyz = np.argwhere(sitk.GetArrayFromImage(nifti) > 0)[:, ::-1].astype(float)
    direction = np.array(nifti.GetDirection()).reshape(3, 3) * np.array(nifti.GetSpacing())
    ras = (xyz @ direction.T + np.array(nifti.GetOrigin())) * [-1.0, -1.0, 1.0]  # ITK is LPS
    ijk = pet.grid.ras_to_continuous_ijk(ras)
    assert np.allclose(ijk, np.rint(ijk), atol=1e-3), f"{name}: the mask is not on the PET grid"
    ijk = np.rint(ijk).astype(int)
    gtv = np.zeros(pet.grid.shape_kji, bool)
    gtv[ijk[:, 2], ijk[:, 1], ijk[:, 0]] = True
    return Case(name, np.asarray(pet.suv), pet.grid, gtv)


def committed_case_names() -> list[str]:
    return sorted(p.stem for p in REPO_DATA.glob("STS_*.npz"))


def read_committed_case(name: str) -> Case:
    """A cropped case kept in the repository (written by :func:`write_committed_case`)."""
    with np.load(REPO_DATA / f"{name}.npz") as z:
        grid = VoxelGrid(np.asarray(z["ijk_to_ras"], float), tuple(int(v) for v in z["shape_kji"]))
        return Case(name, z["suv"].astype(np.float32), grid, z["gtv"].astype(bool))


def write_committed_case(case: Case, box) -> Path:
    """Keep ``box`` (slices k, j, i) of a case: SUV as float32, the contour, the cropped grid."""
    shift = np.array([s.start for s in box], float)[::-1]  # i, j, k
    m = case.grid.ijk_to_ras.copy()
    m[:3, 3] = case.grid.ijk_to_ras_points(shift)
    suv = np.ascontiguousarray(case.image[box], dtype=np.float32)
    REPO_DATA.mkdir(parents=True, exist_ok=True)
    path = REPO_DATA / f"{case.name}.npz"
    np.savez_compressed(path, suv=suv, gtv=case.gtv[box], ijk_to_ras=m, shape_kji=np.array(suv.shape))
    return path


def mirp_reference() -> dict:
    """SUVpeak of the committed cases' default VOIs as computed by MIRP (see ``README.md`` beside the data)."""
    path = REPO_DATA / "mirp_reference.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def published_isocontour(image: np.ndarray, peak_kji, fraction: float = 0.40, mask=None) -> tuple[np.ndarray, tuple]:
    """The published VOI, computed independently: the 6-connected component of {SUV >= f x SUVmax} holding the
    peak, the peak moved to the component's hottest voxel (lowest flat index) until stable. ``mask`` confines it
    (a structure to leave out). Returns (mask of the whole image, final peak)."""
    p = tuple(int(v) for v in peak_kji)
    while True:
        above = image >= fraction * float(image[p])
        if mask is not None:
            above &= mask
        labels, _ = ndimage.label(above)
        comp = labels == labels[p]
        q = tuple(int(v) for v in np.unravel_index(int(np.argmax(np.where(comp, image, -np.inf))), image.shape))
        if not image[q] > image[p]:
            return comp, q
        p = q


def ibsi_peaks(image: np.ndarray, grid: VoxelGrid, voi: np.ndarray, radius_mm: float = ONE_ML_RADIUS_MM):
    """IBSI local and global intensity peak (reference manual, "Local intensity" features): the mean of the image
    voxels whose centres lie within ``radius_mm`` (1 cm^3) of a centre voxel; local: centred on the VOI's maximum
    (the highest such mean among tied maxima), global: the highest mean over all VOI voxels. Brute force over the
    voxel-centre distances. Returns (local, global)."""
    m = grid.ijk_to_ras[:3, :3]
    n = np.ceil(radius_mm / grid.spacing_mm).astype(int)  # i, j, k half-widths of the cube holding the ball
    di, dj, dk = np.meshgrid(*[np.arange(-v, v + 1) for v in n], indexing="ij")
    off = np.stack([di.ravel(), dj.ravel(), dk.ravel()], axis=1)
    d = off @ m.T
    off = off[np.einsum("nx,nx->n", d, d) <= radius_mm**2 * (1 + 1e-9)]
    shape = np.array(image.shape)

    def mean_at(kji):
        idx = np.asarray(kji)[::-1] + off  # i, j, k
        idx = idx[np.all((idx >= 0) & (idx < shape[::-1]), axis=1)]
        return float(np.mean(image[idx[:, 2], idx[:, 1], idx[:, 0]].astype(np.float64)))

    centres = np.argwhere(voi)
    values = image[voi]
    means = np.array([mean_at(c) for c in centres])
    local = float(means[values == values.max()].max())
    return local, float(means.max())


def _write_nifti(array: np.ndarray, grid: VoxelGrid, path) -> None:
    """An image [k, j, i] on ``grid`` as NIfTI through SimpleITK (LPS: the RAS x and y axes negated)."""
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(array)
    img.SetSpacing([float(v) for v in grid.spacing_mm])
    m = grid.ijk_to_ras
    img.SetOrigin([float(-m[0, 3]), float(-m[1, 3]), float(m[2, 3])])
    img.SetDirection([float(v) for v in ((m[:3, :3] / grid.spacing_mm) * np.array([[-1.0], [-1.0], [1.0]])).ravel()])
    sitk.WriteImage(img, str(path))


def mirp_peaks(image: np.ndarray, grid: VoxelGrid, voi: np.ndarray) -> tuple[float, float]:
    """MIRP's local and global intensity peak (features ``loc_peak_loc``, ``loc_peak_glob``) of a VOI: the image and
    the mask go to ``mirp.extract_features`` as NIfTI files, modality PET, no resampling or re-segmentation."""
    import logging
    import tempfile
    import warnings

    import mirp

    with tempfile.TemporaryDirectory() as folder:
        _write_nifti(image.astype(np.float64), grid, f"{folder}/image.nii.gz")
        _write_nifti(voi.astype(np.uint8), grid, f"{folder}/mask.nii.gz")
        previous = logging.root.manager.disable
        logging.disable(logging.INFO)  # MIRP logs every step at INFO
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                [table] = mirp.extract_features(image=f"{folder}/image.nii.gz", mask=f"{folder}/mask.nii.gz",
                                                image_modality="pet", base_feature_families="local_intensity")
        finally:
            logging.disable(previous)
    return float(table["loc_peak_loc"].iloc[0]), float(table["loc_peak_glob"].iloc[0])
