"""VOIs against known answers: voxelised spheres, blurred-sphere oracles, click invariance, leaks, refusals.

Oracles: reference/suv-and-metrics.md §1.5 C (unblurred spheres) and §3.6 (closed-form blurred sphere profile).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import erf

from PentixaforQuantLib.errors import MeasurementError, ParameterError
from PentixaforQuantLib.geometry import VoxelGrid
from PentixaforQuantLib.measure.metrics import region_statistics, suv_peak
from PentixaforQuantLib.measure.isocontour import IsocontourParameters, find_peak, grow_isocontour
from PentixaforQuantLib.measure.regions import RegionMask, box_region, sphere_region
from grids import OBLIQUE, rotation

FIXED_40 = IsocontourParameters()
FIXED_41 = IsocontourParameters(threshold_fraction=0.41)
A50_BG1 = IsocontourParameters(method="a50", threshold_fraction=0.5, background_suv=1.0)
A50_MEASURED = IsocontourParameters(method="a50", threshold_fraction=0.5)


# -- helpers (independent of the code under test) ------------------------------------------------------------------




def centres_ras(grid: VoxelGrid) -> np.ndarray:
    """RAS of every voxel centre, shape (k, j, i, 3): brute force over the whole image."""
    kk, jj, ii = np.indices(grid.shape_kji)
    ijk = np.stack([ii, jj, kk], axis=-1).astype(float)
    m = grid.ijk_to_ras
    return ijk @ m[:3, :3].T + m[:3, 3]


def distance_map(grid: VoxelGrid, point_ras) -> np.ndarray:
    return np.linalg.norm(centres_ras(grid) - np.asarray(point_ras, float), axis=-1)


def voxel_centre(grid: VoxelGrid, kji) -> np.ndarray:
    return grid.ijk_to_ras_points(np.asarray(kji[::-1], float))


def sphere_phantom(grid, centre_ras, radius_mm, suv, background=1.0, dtype=np.float64):
    """Unblurred sphere: voxels whose centres lie within radius_mm get ``suv``; returns (image, sphere mask)."""
    inside = distance_map(grid, centre_ras) <= radius_mm * (1 + 1e-9)
    image = np.full(grid.shape_kji, background, dtype=dtype)
    image[inside] = suv
    return image, inside


SIGMA_6MM = 6.0 / (2 * np.sqrt(2 * np.log(2)))


def blurred_profile(r, radius_mm, sigma=SIGMA_6MM):
    """C(r) of a uniform sphere convolved with an isotropic Gaussian (suv-and-metrics.md §3.6)."""
    r = np.asarray(r, float)
    s2 = sigma * np.sqrt(2)
    c0 = erf(radius_mm / s2) - 2 * radius_mm / (sigma * np.sqrt(2 * np.pi)) * np.exp(-(radius_mm**2) / (2 * sigma**2))
    with np.errstate(divide="ignore", invalid="ignore"):
        c = 0.5 * (erf((radius_mm - r) / s2) + erf((radius_mm + r) / s2)) - sigma / (r * np.sqrt(2 * np.pi)) * (
            np.exp(-((radius_mm - r) ** 2) / (2 * sigma**2)) - np.exp(-((radius_mm + r) ** 2) / (2 * sigma**2))
        )
    return np.where(r < 1e-9, c0, c)


# §3.6 table (FWHM 6 mm, S = 4, BG = 1): diameter -> SUVmax, r40 mm, V40 mL, rA50 mm, VA50 mL, continuous SUVpeak.
TABLE_3_6 = {
    10: (3.1659, 7.333, 1.652, 4.462, 0.372, 2.0202),
    13: (3.7319, 8.075, 2.206, 5.687, 0.770, 2.7511),
    17: (3.9668, 9.971, 4.152, 7.721, 1.928, 3.5308),
    22: (3.9990, 12.590, 8.359, 10.388, 4.696, 3.9298),
    28: (4.0000, 15.705, 16.224, 13.526, 10.365, 3.9976),
    37: (4.0000, 20.309, 35.086, 18.145, 25.022, 4.0000),
}


def blurred_phantom(diameter_mm, spacing_mm=2.0, suv=4.0, background=1.0, margin_mm=40.0):
    """Point-sampled blurred sphere centred on the central voxel; returns (image, grid, centre, distance map)."""
    n = int(np.ceil((diameter_mm / 2 + margin_mm) / spacing_mm))
    grid = VoxelGrid.from_spacing((2 * n + 1,) * 3, (spacing_mm,) * 3, origin_ras=(-n * spacing_mm,) * 3)
    centre = np.zeros(3)
    r = distance_map(grid, centre)
    return background + (suv - background) * blurred_profile(r, diameter_mm / 2), grid, centre, r


# -- RegionMask, sphere and box regions --------------------------------------------------------------------------


def test_region_mask_basics():
    full = np.zeros((6, 7, 8), bool)
    full[1, 2, 3] = full[4, 5, 6] = full[2, 2, 2] = True
    region = RegionMask.from_full_mask(full)
    assert region.box == (slice(1, 5), slice(2, 6), slice(2, 7))
    assert region.voxel_count == 3
    assert region.indices_kji().tolist() == [[1, 2, 3], [2, 2, 2], [4, 5, 6]]
    assert np.array_equal(region.full_mask(full.shape), full)
    image = np.arange(full.size, dtype=float).reshape(full.shape)
    assert region.values(image).tolist() == [image[1, 2, 3], image[2, 2, 2], image[4, 5, 6]]
    assert region.contains_kji((4, 5, 6)) and not region.contains_kji((0, 0, 0))
    other = RegionMask((slice(3, 6), slice(4, 7), slice(5, 8)), np.ones((3, 3, 3), bool))
    both = region.intersection(other)
    assert both.indices_kji().tolist() == [[4, 5, 6]]
    assert region.intersection(RegionMask((slice(0, 1),) * 3, np.ones((1, 1, 1), bool))) is None
    with pytest.raises(ValueError):
        RegionMask((slice(0, 2), slice(0, 2), slice(0, 2)), np.ones((2, 2, 3), bool))
    with pytest.raises(ValueError):
        RegionMask((slice(0, 2), slice(None), slice(0, 2)), np.ones((2, 2, 2), bool))


def _brute_force_sphere_count(spacing_mm, centre_ijk, radius_mm):
    """Explicit loops over a cube of voxel indices (axis-aligned grid)."""
    n = int(radius_mm / min(spacing_mm)) + 2
    count = 0
    base = np.floor(centre_ijk).astype(int)
    for di, dj, dk in itertools.product(range(-n, n + 2), repeat=3):
        d = (np.array([base[0] + di, base[1] + dj, base[2] + dk]) - centre_ijk) * spacing_mm
        if d @ d <= radius_mm**2 * (1 + 1e-9) ** 2:
            count += 1
    return count


@pytest.mark.parametrize("spacing", [4.0, 2.0])
@pytest.mark.parametrize(
    "offset_vox, expected",
    [
        ((0.0, 0.0, 0.0), {4.0: 27, 2.0: 251}),  # on a voxel centre
        ((0.5, 0.5, 0.5), {4.0: 32, 2.0: 208}),  # between voxels (a corner shared by 8 voxels)
        ((0.5, 0.0, 0.0), None),
        ((0.3, -0.2, 0.45), None),
    ],
)
def test_sphere_region_counts_15mm(spacing, offset_vox, expected):
    grid = VoxelGrid.from_spacing((20, 20, 20) if spacing == 4 else (40, 40, 40), (spacing,) * 3)
    centre_ijk = np.array([10.0, 10.0, 10.0]) + offset_vox
    centre_ras = grid.ijk_to_ras_points(centre_ijk)
    region = sphere_region(grid, centre_ras, 7.5)
    reference = _brute_force_sphere_count(np.array([spacing] * 3), centre_ijk, 7.5)
    assert region.voxel_count == reference
    if expected is not None:
        assert region.voxel_count == expected[spacing]
    assert np.array_equal(region.full_mask(grid.shape_kji), distance_map(grid, centre_ras) <= 7.5 * (1 + 1e-9))
    # The box is tight around the voxels.
    assert region.mask.any(axis=(1, 2))[[0, -1]].all()


@pytest.mark.parametrize(
    "spacing, directions",
    [((4.07, 4.07, 3.0), None), ((4.07, 4.07, 3.0), OBLIQUE), ((2.0, 2.0, 2.0), OBLIQUE), ((3.65, 2.5, 5.0), None)],
)
def test_sphere_region_anisotropic_and_oblique(spacing, directions):
    grid = VoxelGrid.from_spacing((24, 26, 28), spacing, origin_ras=(-30, 20, -40), directions=directions)
    rng = np.random.default_rng(7)
    for _ in range(5):
        centre = grid.ijk_to_ras_points(rng.uniform(8, 16, size=3))
        radius = rng.uniform(3, 12)
        region = sphere_region(grid, centre, radius)
        assert np.array_equal(region.full_mask(grid.shape_kji), distance_map(grid, centre) <= radius * (1 + 1e-9))


def test_sphere_region_clipped_at_border_and_refusals():
    grid = VoxelGrid.from_spacing((10, 10, 10), (2.0, 2.0, 2.0))
    region = sphere_region(grid, (0.0, 9.0, 9.0), 5.0)  # centre on the i = 0 face
    assert np.array_equal(region.full_mask(grid.shape_kji), distance_map(grid, (0, 9, 9)) <= 5.0)
    with pytest.raises(MeasurementError, match=r"RAS \(50\.0, 9\.0, 9\.0\) lies outside the image"):
        sphere_region(grid, (50.0, 9.0, 9.0), 5.0)
    with pytest.raises(MeasurementError, match="holds no voxel centre"):
        sphere_region(grid, (1.0, 1.0, 1.0), 0.5)  # between voxel centres


@pytest.mark.parametrize("directions", [None, OBLIQUE])
def test_box_region_rotated_exact(directions):
    grid = VoxelGrid.from_spacing((30, 30, 30), (2.0, 2.5, 3.0), origin_ras=(-30, -37.5, -45), directions=directions)
    axes = rotation([1, 1, 0], 35)
    half = np.array([12.0, 6.0, 9.0])
    centre = np.array([1.3, -2.0, 0.7])
    region = box_region(grid, centre, half, axes)
    coords = (centres_ras(grid) - centre) @ axes  # coordinates along the box axes
    expected = np.all(np.abs(coords) <= half + 1e-9, axis=-1)
    assert region.voxel_count > 100
    assert np.array_equal(region.full_mask(grid.shape_kji), expected)
    # Axis-aligned default.
    region = box_region(grid, centre, half)
    expected = np.all(np.abs(centres_ras(grid) - centre) <= half + 1e-9, axis=-1)
    assert np.array_equal(region.full_mask(grid.shape_kji), expected)
    with pytest.raises(MeasurementError, match="holds no voxel centre"):
        box_region(grid, (500, 0, 0), half)


# -- unblurred spheres (§1.5 C) ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spacing, voxels", [(2.0, 81), (4.0, 7)])
@pytest.mark.parametrize("suv", [4.0, 10.0])
@pytest.mark.parametrize("params", [FIXED_40, FIXED_41, A50_BG1, A50_MEASURED], ids=["40", "41", "A50bg1", "A50meas"])
def test_unblurred_sphere_is_the_voxelised_sphere(spacing, voxels, suv, params):
    n = 21 if spacing == 2 else 13
    grid = VoxelGrid.from_spacing((n, n, n), (spacing,) * 3)
    centre = voxel_centre(grid, (n // 2,) * 3)
    image, sphere = sphere_phantom(grid, centre, 5.0, suv)
    voi = grow_isocontour(image, grid, centre + [1.0, -0.5, 0.3], params)
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), sphere)
    assert voi.region.voxel_count == voxels
    assert not voi.leaked and not voi.touches_border and voi.warnings == []
    if params.method == "a50":
        assert voi.background_suv == 1.0
        assert voi.threshold_suv == pytest.approx(0.5 * (suv + 1.0))
    else:
        assert voi.threshold_suv == pytest.approx(params.threshold_fraction * suv)
    stats = region_statistics(image, grid, voi.region)
    assert stats.suv_max == suv and stats.suv_mean == suv and stats.suv_sd == 0.0
    assert stats.volume_ml == pytest.approx(voxels * spacing**3 / 1000)
    if spacing == 2:
        assert stats.volume_ml == pytest.approx(0.648)


def test_a50_measured_background_in_warm_surroundings():
    grid = VoxelGrid.from_spacing((31, 31, 31), (2.0, 2.0, 2.0))
    centre = voxel_centre(grid, (15, 15, 15))
    image, sphere = sphere_phantom(grid, centre, 8.0, 10.0, background=2.5)
    voi = grow_isocontour(image, grid, centre, A50_MEASURED)
    assert voi.background_suv == 2.5
    assert voi.background_voxels > 1000
    assert voi.threshold_suv == pytest.approx(2.5 + 0.5 * (10 - 2.5))
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), sphere)
    # The same background on a sheared grid (dilation path instead of the distance transform).
    sheared = np.array([[1.0, 0.2, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    grid2 = VoxelGrid.from_spacing((31, 31, 31), (2.0, 2.0, 2.0), directions=sheared / np.linalg.norm(sheared, axis=0))
    centre2 = voxel_centre(grid2, (15, 15, 15))
    image2, sphere2 = sphere_phantom(grid2, centre2, 8.0, 10.0, background=2.5)
    voi2 = grow_isocontour(image2, grid2, centre2, A50_MEASURED)
    assert voi2.background_suv == 2.5
    assert np.array_equal(voi2.region.full_mask(grid2.shape_kji), sphere2)


def test_a50_without_contrast_is_refused():
    grid = VoxelGrid.from_spacing((15, 15, 15), (2.0, 2.0, 2.0))
    image = np.full(grid.shape_kji, 2.0)
    image[7, 7, 7] = 3.0
    with pytest.raises(MeasurementError, match=r"background SUV 5 >= peak SUV 3"):
        grow_isocontour(image, grid, voxel_centre(grid, (7, 7, 7)), IsocontourParameters(
            method="a50", threshold_fraction=0.5, background_suv=5.0))


# -- blurred spheres (§3.6) ----------------------------------------------------------------------------------------


def test_blurred_profile_reproduces_table():
    """The oracle itself: the closed form gives the tabulated SUVmax and isocontour radii."""
    for diameter, (suv_max, r40, _, r_a50, _, _) in TABLE_3_6.items():
        c0 = float(blurred_profile(0.0, diameter / 2))
        assert 1 + 3 * c0 == pytest.approx(suv_max, abs=1.5e-4)
        f = lambda r, t: 1 + 3 * float(blurred_profile(r, diameter / 2)) - t  # noqa: E731
        assert brentq(f, 1e-6, 60, args=(0.4 * (1 + 3 * c0),)) == pytest.approx(r40, abs=1e-3)
        assert brentq(f, 1e-6, 60, args=(0.5 * (2 + 3 * c0),)) == pytest.approx(r_a50, abs=1e-3)


@pytest.mark.parametrize("diameter", sorted(TABLE_3_6))
def test_blurred_sphere_against_analytic_table(diameter):
    suv_max, r40, v40, r_a50, v_a50, _ = TABLE_3_6[diameter]
    image, grid, centre, r = blurred_phantom(diameter)
    spacing = 2.0

    def one_layer_ml(radius_mm):  # volume of a shell one voxel thick at that radius
        return 4 * np.pi * radius_mm**2 * spacing / 1000

    voi40 = grow_isocontour(image, grid, centre + [2.0, 1.0, -1.5])
    assert voi40.suv_max == pytest.approx(suv_max, abs=1.5e-4)
    assert voi40.peak_kji == tuple(int(n) // 2 for n in grid.shape_kji)
    # Point sampling of a monotone profile: the VOI is exactly the voxelised ball of the isocontour radius.
    exact_r40 = brentq(lambda x: 1 + 3 * float(blurred_profile(x, diameter / 2)) - 0.4 * voi40.suv_max, 1e-6, 60)
    assert np.array_equal(voi40.region.full_mask(grid.shape_kji), r <= exact_r40)
    assert voi40.region.voxel_count * grid.voxel_volume_ml == pytest.approx(v40, abs=one_layer_ml(r40))

    for params in (A50_BG1, A50_MEASURED):
        voi = grow_isocontour(image, grid, centre, params)
        assert voi.background_suv == pytest.approx(1.0, abs=0.01)  # measured: the blur tail is negligible there
        assert voi.region.voxel_count * grid.voxel_volume_ml == pytest.approx(v_a50, abs=one_layer_ml(r_a50))
    exact_ra50 = brentq(lambda x: 1 + 3 * float(blurred_profile(x, diameter / 2)) - 0.5 * (voi40.suv_max + 1),
                        1e-6, 60)
    voi = grow_isocontour(image, grid, centre, A50_BG1)
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), r <= exact_ra50)


# -- click invariance ----------------------------------------------------------------------------------------------


def _signature(image, grid, voi):
    stats = region_statistics(image, grid, voi.region)
    peak = suv_peak(image, grid, voi.region)
    return (
        tuple((b.start, b.stop) for b in voi.region.box), voi.region.mask.tobytes(), voi.peak_kji, voi.suv_max,
        voi.threshold_suv, voi.leaked,
        stats.suv_mean, stats.suv_sd, stats.voxels, peak.suv_peak, peak.center_kji,
    )


def _clicks_in_ball(centre, radius_mm, n, seed):
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return centre + d * radius_mm * rng.uniform(0, 1, size=(n, 1)) ** (1 / 3)


@pytest.mark.parametrize("params", [FIXED_40, A50_MEASURED], ids=["40", "A50meas"])
def test_click_invariance_uniform_sphere(params):
    """All voxels of an unblurred sphere tie for the maximum: the peak must still not depend on the click."""
    grid = VoxelGrid.from_spacing((25, 25, 25), (2.0, 2.0, 2.0))
    centre = voxel_centre(grid, (12, 12, 12))
    image, sphere = sphere_phantom(grid, centre, 11.0, 4.0)
    signatures = {_signature(image, grid, grow_isocontour(image, grid, click, params))
                  for click in _clicks_in_ball(centre, 11.0, 40, seed=1)}
    assert len(signatures) == 1
    voi = grow_isocontour(image, grid, centre, params)
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), sphere)
    assert voi.peak_kji == tuple(int(v) for v in np.argwhere(sphere)[0])  # lowest flat index of the ties


@pytest.mark.parametrize("params", [FIXED_40, IsocontourParameters(connectivity=26), A50_MEASURED],
                         ids=["40", "40-26conn", "A50meas"])
def test_click_invariance_noisy_blurred_lesion(params):
    image, grid, centre, _ = blurred_phantom(22, suv=10.0, margin_mm=30)
    rng = np.random.default_rng(2024)
    image = image * (1 + 0.08 * rng.standard_normal(image.shape))  # ~8 % noise: many local maxima
    first_peaks = set()
    signatures = set()
    for click in _clicks_in_ball(centre, 10.0, 30, seed=3):
        voi = grow_isocontour(image, grid, click, params)
        first_peaks.add(voi.initial_peak_kji)
        signatures.add(_signature(image, grid, voi))
    assert len(first_peaks) > 3  # the clicks really start from different local maxima ...
    assert len(signatures) == 1  # ... and all end in the same VOI and numbers


# -- connectivity --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shift, joined",
    [((3, 3, 3), {6: False, 18: False, 26: True}),  # cubes touch at a corner
     ((0, 3, 3), {6: False, 18: True, 26: True})],  # cubes touch along an edge
)
def test_connectivity_of_diagonal_contacts(shift, joined):
    grid = VoxelGrid.from_spacing((16, 16, 16), (2.0, 2.0, 2.0))
    image = np.ones(grid.shape_kji)
    image[3:6, 3:6, 3:6] = 10.0
    s = np.array(shift)
    image[3 + s[0]:6 + s[0], 3 + s[1]:6 + s[1], 3 + s[2]:6 + s[2]] = 10.0
    for connectivity, both in joined.items():
        voi = grow_isocontour(image, grid, voxel_centre(grid, (4, 4, 4)),
                              IsocontourParameters(connectivity=connectivity))
        assert voi.region.voxel_count == (54 if both else 27), connectivity


# -- anisotropic and oblique grids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("directions", [None, OBLIQUE], ids=["axial", "oblique"])
@pytest.mark.parametrize("params", [FIXED_40, IsocontourParameters(connectivity=26), A50_MEASURED],
                         ids=["40", "40-26conn", "A50meas"])
def test_isocontour_on_anisotropic_and_oblique_grid(directions, params):
    grid = VoxelGrid.from_spacing((24, 22, 22), (4.07, 4.07, 3.0), origin_ras=(10, -20, 5), directions=directions)
    centre = voxel_centre(grid, (12, 11, 11))
    image, sphere = sphere_phantom(grid, centre, 11.0, 10.0)
    voi = grow_isocontour(image, grid, centre + [3.0, -2.0, 1.0], params)
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), sphere)
    assert region_statistics(image, grid, voi.region).volume_ml == pytest.approx(
        sphere.sum() * 4.07 * 4.07 * 3.0 / 1000)


# -- leak guard ----------------------------------------------------------------------------------------------------


def _lesion_next_to_bladder():
    grid = VoxelGrid.from_spacing((31, 31, 48), (2.0, 2.0, 2.0))
    lesion_c = voxel_centre(grid, (15, 15, 12))
    bladder_c = lesion_c + [32.0, 0.0, 0.0]  # lesion ends at +10 mm, bladder starts at +12 mm: faces in contact
    image, lesion = sphere_phantom(grid, lesion_c, 10.0, 10.0)
    bladder = distance_map(grid, bladder_c) <= 20.0
    assert not (lesion & bladder).any()
    image[bladder] = 40.0
    return grid, image, lesion, bladder, lesion_c


def test_lesion_touching_bladder_is_flagged_and_an_roi_confines_it():
    grid, image, lesion, bladder, lesion_c = _lesion_next_to_bladder()
    click = lesion_c - [2.0, 0.0, 0.0]
    # Default: the VOI is the clicked lesion; the 4 x hotter bladder is left out at their contact, and flagged.
    kept = grow_isocontour(image, grid, click)
    assert kept.leaked and not kept.split
    assert np.array_equal(kept.region.full_mask(grid.shape_kji), lesion)
    assert kept.suv_max == 10.0
    assert [n.suv_max for n in kept.neighbours] == [40.0]
    assert kept.neighbours[0].voxels == bladder.sum()
    [w] = kept.warnings
    assert w.code == "hotter_structure_excluded" and w.values["ratio"] == 4.0 and "bounding ROI" in w.detail
    # With leak_ratio above the bladder's ratio the whole component is taken in: its peak is then the bladder's,
    # far from the click and 4 x hotter than the clicked lesion, and the result says so.
    voi = grow_isocontour(image, grid, click, IsocontourParameters(leak_ratio=5.0))
    assert voi.suv_max == 40.0 and voi.leaked
    [w] = voi.warnings
    assert w.code == "peak_not_at_click" and w.values["clicked_suv"] == 10.0 and w.values["distance_mm"] > 10

    roi = box_region(grid, lesion_c, (11.0, 11.0, 11.0))
    confined = grow_isocontour(image, grid, click, allowed=roi)
    assert not confined.leaked
    assert np.array_equal(confined.region.full_mask(grid.shape_kji), lesion)
    assert confined.suv_max == 10.0
    assert confined.codes == ["roi_cuts"]
    # The ROI also confines the peak search: a click next to the bladder stays in the lesion.
    near_bladder = lesion_c + [9.0, 0.0, 0.0]
    assert grow_isocontour(image, grid, near_bladder, allowed=roi).suv_max == 10.0
    assert image[find_peak(image, grid, near_bladder, 10.0)] == 40.0
    assert image[find_peak(image, grid, near_bladder, 10.0, allowed=roi)] == 10.0


def test_roi_outside_search_sphere_is_refused():
    grid, image, _, _, lesion_c = _lesion_next_to_bladder()
    roi = box_region(grid, lesion_c + [0, 0, -20.0], (5.0, 5.0, 5.0))
    with pytest.raises(MeasurementError, match="does not overlap the bounding ROI"):
        grow_isocontour(image, grid, lesion_c, allowed=roi)


def test_size_limit_flags_leak():
    grid = VoxelGrid.from_spacing((31, 31, 31), (2.0, 2.0, 2.0))
    centre = voxel_centre(grid, (15, 15, 15))
    image, sphere = sphere_phantom(grid, centre, 20.0, 10.0)  # 33 mL
    voi = grow_isocontour(image, grid, centre, IsocontourParameters(max_volume_ml=5.0))
    assert voi.leaked
    assert voi.codes == ["size_limit"] and voi.warnings[0].values["max_volume_ml"] == 5.0
    assert voi.region.voxel_count * grid.voxel_volume_ml > 5.0


def test_growth_box_enlarges_for_large_and_elongated_structures():
    grid = VoxelGrid.from_spacing((121, 61, 61), (2.0, 2.0, 2.0))
    centre = voxel_centre(grid, (30, 30, 30))
    image, sphere = sphere_phantom(grid, centre, 40.0, 10.0)  # 81 voxels across: larger than the first box
    voi = grow_isocontour(image, grid, centre)
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), sphere)
    # A thin rod 200 mm long along k: the box must double several times along k only.
    image = np.ones(grid.shape_kji)
    image[10:111, 30, 30] = 5.0
    voi = grow_isocontour(image, grid, voxel_centre(grid, (60, 30, 30)))
    assert voi.region.voxel_count == 101
    assert voi.region.box == (slice(10, 111), slice(30, 31), slice(30, 31))
    assert voi.growth_box[1].stop - voi.growth_box[1].start <= 21


# -- border --------------------------------------------------------------------------------------------------------


def test_lesion_touching_image_border():
    grid = VoxelGrid.from_spacing((25, 25, 25), (2.0, 2.0, 2.0))
    centre = voxel_centre(grid, (12, 12, 1))  # 10 mm sphere centred 2 mm from the i = 0 face
    image, sphere = sphere_phantom(grid, centre, 10.0, 8.0)
    voi = grow_isocontour(image, grid, centre + [1.0, 0, 0])
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), sphere)
    assert voi.touches_border and not voi.leaked
    assert voi.codes == ["touches_border"] and str(voi.warnings[0]) == "VOI touches the image border"


# -- refusals ------------------------------------------------------------------------------------------------------


def test_nan_in_search_sphere_is_refused():
    grid = VoxelGrid.from_spacing((21, 21, 21), (2.0, 2.0, 2.0))
    centre = voxel_centre(grid, (10, 10, 10))
    image, _ = sphere_phantom(grid, centre, 6.0, 8.0)
    image[10, 10, 12] = np.nan  # 4 mm from the click
    image[10, 11, 12] = np.inf
    with pytest.raises(MeasurementError, match=r"^2 non-finite \(NaN/inf\) voxels within 10 mm of the click"):
        grow_isocontour(image, grid, centre)


def test_nan_next_to_the_lesion_is_refused_but_far_nan_is_not():
    grid = VoxelGrid.from_spacing((31, 31, 41), (2.0, 2.0, 2.0))
    centre = voxel_centre(grid, (15, 15, 15))
    image, _ = sphere_phantom(grid, centre, 20.0, 8.0)
    image[15, 15, 38] = np.nan  # far from the lesion: irrelevant
    voi = grow_isocontour(image, grid, centre)
    assert voi.region.voxel_count > 0
    image[15, 15, 26] = np.nan  # 22 mm from the centre: next to the lesion surface, outside the search sphere
    with pytest.raises(MeasurementError,
                       match=r"^1 non-finite \(NaN/inf\) voxel in or next to the lesion VOI, e\.g\. at RAS "
                             r"\(52\.0, 30\.0, 30\.0\)"):
        grow_isocontour(image, grid, centre)


def test_click_outside_the_image_is_refused():
    grid = VoxelGrid.from_spacing((10, 10, 10), (2.0, 2.0, 2.0))
    with pytest.raises(MeasurementError) as err:
        grow_isocontour(np.ones(grid.shape_kji), grid, (100.0, 5.0, 5.0))
    assert str(err.value) == (
        "the click at RAS (100.0, 5.0, 5.0) lies outside the image (extent R -1.0 to 19.0, A -1.0 to 19.0, "
        "S -1.0 to 19.0 mm)"
    )


def test_click_in_air_is_refused():
    grid = VoxelGrid.from_spacing((10, 10, 10), (2.0, 2.0, 2.0))
    image = np.zeros(grid.shape_kji)
    image[0, 0, 0] = 0.02
    with pytest.raises(MeasurementError,
                       match=r"no uptake to segment .* the highest SUV within 10 mm is 0 \(below min_peak_suv 0\.5\)"):
        grow_isocontour(image, grid, (10.0, 10.0, 10.0))


def test_parameters_are_checked_and_round_trip():
    params = IsocontourParameters(threshold_fraction=0.5, method="a50", connectivity=26, background_suv=1.2)
    assert IsocontourParameters(**params.to_dict()) == params
    with pytest.raises(ParameterError, match="connectivity must be 6, 18 or 26, not 8"):
        IsocontourParameters(connectivity=8)  # the choices of the table of inputs
    with pytest.raises(ParameterError, match="threshold_fraction 40: must be from 0.1 to 0.9"):
        IsocontourParameters(threshold_fraction=40)  # the protocol's range (inputs.py), as ProtocolParameters
    with pytest.raises(ParameterError, match="method must be 'fixed' or 'a50', not 'a41'"):
        IsocontourParameters(method="a41")


# -- locality ------------------------------------------------------------------------------------------------------


def test_growth_stays_near_a_small_lesion_in_a_large_image():
    grid = VoxelGrid.from_spacing((300, 300, 300), (2.0, 2.0, 2.0))
    image = np.ones(grid.shape_kji, dtype=np.float32)
    centre = voxel_centre(grid, (150, 140, 160))
    lesion = sphere_region(grid, centre, 7.0)
    image[lesion.box][lesion.mask] = 9.0
    voi = grow_isocontour(image, grid, centre + [2.0, 2.0, 2.0])
    assert voi.region.box == lesion.box
    assert np.array_equal(voi.region.mask, lesion.mask)
    assert all(s.stop - s.start <= 21 for s in voi.growth_box)  # the first 20 mm box was enough
    peak = suv_peak(image, grid, voi.region)
    assert peak.voxels_in_sphere == 123
