"""VOI statistics and SUVpeak against known answers and a brute-force reference (explicit loops)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erf

from PentixaforQuantLib.errors import MeasurementError
from PentixaforQuantLib.geometry import VoxelGrid
from PentixaforQuantLib.measure.metrics import ONE_ML_SPHERE_RADIUS_MM, region_statistics, suv_peak
from PentixaforQuantLib.measure.isocontour import grow_isocontour
from PentixaforQuantLib.measure.regions import RegionMask, sphere_region
from grids import OBLIQUE




def centres_ras(grid):
    kk, jj, ii = np.indices(grid.shape_kji)
    ijk = np.stack([ii, jj, kk], axis=-1).astype(float)
    return ijk @ grid.ijk_to_ras[:3, :3].T + grid.ijk_to_ras[:3, 3]


def sphere_image(grid, centre_kji, radius_mm, suv, background=1.0):
    centre = grid.ijk_to_ras_points(np.asarray(centre_kji[::-1], float))
    inside = np.linalg.norm(centres_ras(grid) - centre, axis=-1) <= radius_mm * (1 + 1e-9)
    image = np.full(grid.shape_kji, background)
    image[inside] = suv
    return image, inside


def brute_force_offsets(grid, radius_mm):
    """Offsets (dk, dj, di) of the ball by explicit loops over a cube of candidate offsets."""
    a = grid.ijk_to_ras[:3, :3]
    n = int(np.ceil(radius_mm / grid.spacing_mm.min())) + 1
    out = []
    for dk, dj, di in itertools.product(range(-n, n + 1), repeat=3):
        if np.linalg.norm(a @ np.array([di, dj, dk], float)) <= radius_mm * (1 + 1e-9):
            out.append((dk, dj, di))
    return out


def brute_force_peak(image, grid, mask, radius_mm, variant):
    """Reference SUVpeak: explicit loops over the centre voxels and over their neighbours (existing voxels only)."""
    offsets = brute_force_offsets(grid, radius_mm)
    centres = [tuple(c) for c in np.argwhere(mask)]
    if variant == "local":
        top = max(image[c] for c in centres)
        centres = [c for c in centres if image[c] == top]
    best = None
    for c in centres:
        total, count = 0.0, 0
        for d in offsets:
            p = (c[0] + d[0], c[1] + d[1], c[2] + d[2])
            if all(0 <= p[x] < image.shape[x] for x in range(3)):
                total += image[p]
                count += 1
        if best is None or total / count > best[0]:
            best = (total / count, c, count)
    return best


# -- first-order statistics ----------------------------------------------------------------------------------------


def test_checkerboard_statistics():
    """QIBA-style test region: 20 x 20 checkerboard 0.90 / 1.10 -> mean 1.00, SD 0.10 (population), min 0.90."""
    grid = VoxelGrid.from_spacing((5, 30, 30), (2.0, 2.0, 3.0))
    image = np.ones(grid.shape_kji)
    jj, ii = np.indices((20, 20))
    image[2, 5:25, 5:25] = np.where((ii + jj) % 2 == 0, 0.9, 1.1)
    full = np.zeros(grid.shape_kji, bool)
    full[2, 5:25, 5:25] = True
    stats = region_statistics(image, grid, RegionMask.from_full_mask(full))
    assert stats.suv_mean == pytest.approx(1.0, abs=1e-12)
    assert stats.suv_sd == pytest.approx(0.1, abs=1e-12)
    assert (stats.suv_min, stats.suv_max, stats.voxels) == (0.9, 1.1, 400)
    assert stats.volume_ml == pytest.approx(400 * 0.012)
    assert stats.tla == pytest.approx(stats.suv_mean * stats.volume_ml)
    assert stats.peak_kji == (2, 5, 6)  # first 1.1 voxel in flat-index order


def test_statistics_float32_and_refusals():
    grid = VoxelGrid.from_spacing((10, 10, 10), (4.0, 4.0, 4.0))
    image = np.full(grid.shape_kji, 0.1, dtype=np.float32)
    region = sphere_region(grid, (18, 18, 18), 8.0)
    stats = region_statistics(image, grid, region)
    assert stats.suv_mean == pytest.approx(float(np.float32(0.1)), rel=1e-12)  # float64 accumulation
    assert stats.suv_sd == pytest.approx(0.0, abs=1e-12)
    image[4, 4, 5] = np.nan
    with pytest.raises(MeasurementError, match=r"^1 of \d+ voxels of the measured VOI are not finite \(NaN/inf\), "
                                               r"e\.g\. at RAS \(20\.0, 16\.0, 16\.0\)"):
        region_statistics(image, grid, region)
    with pytest.raises(MeasurementError, match="VOI is empty"):
        region_statistics(image, grid, RegionMask((slice(0, 1),) * 3, np.zeros((1, 1, 1), bool)))


# -- SUVpeak -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spacing, shape, ball",
    [((2.0, 2.0, 2.0), (20, 20, 20), 123), ((4.0, 4.0, 4.0), (12, 12, 12), 19), ((3.0, 3.0, 3.0), (12, 12, 12), 33),
     ((4.07, 4.07, 3.0), (12, 12, 12), 21), ((2.734, 2.734, 3.27), (12, 12, 12), 39),
     ((5.3, 5.3, 5.0), (9, 9, 9), 7)],
)
@pytest.mark.parametrize("directions", [None, OBLIQUE], ids=["axial", "oblique"])
def test_one_ml_ball_voxel_counts(spacing, shape, ball, directions):
    """N_s of suv-and-metrics.md §3.3; distances are rotation-invariant, so oblique grids give the same count."""
    grid = VoxelGrid.from_spacing(shape, spacing, directions=directions)
    centre = tuple(n // 2 for n in shape)
    region = RegionMask((slice(centre[0], centre[0] + 1), slice(centre[1], centre[1] + 1),
                         slice(centre[2], centre[2] + 1)), np.ones((1, 1, 1), bool))
    image = np.zeros(shape)
    image[centre] = 1.0
    peak = suv_peak(np.ones(shape), grid, region)
    assert peak.voxels_in_sphere == ball == len(brute_force_offsets(grid, ONE_ML_SPHERE_RADIUS_MM))
    assert peak.suv_peak == 1.0
    assert suv_peak(image, grid, region).suv_peak == pytest.approx(1.0 / ball)


@pytest.mark.parametrize(
    "spacing, n, expected, hot, ball",
    [(4.0, 13, 2.1053, 7, 19), (2.0, 25, 2.9756, 81, 123)],
)
@pytest.mark.parametrize("variant", ["global", "local"])
def test_suvpeak_of_10mm_sphere_section_1_5_c(spacing, n, expected, hot, ball, variant):
    grid = VoxelGrid.from_spacing((n, n, n), (spacing,) * 3)
    image, sphere = sphere_image(grid, (n // 2,) * 3, 5.0, 4.0)
    voi = grow_isocontour(image, grid, grid.ijk_to_ras_points([n // 2] * 3))
    assert voi.region.voxel_count == hot
    peak = suv_peak(image, grid, voi.region, variant=variant)
    assert peak.suv_peak == pytest.approx((hot * 4.0 + (ball - hot) * 1.0) / ball, abs=1e-12)
    assert round(peak.suv_peak, 4) == expected
    assert peak.voxels_in_sphere == ball
    assert peak.center_kji == (n // 2,) * 3
    assert peak.variant == variant and peak.radius_mm == ONE_ML_SPHERE_RADIUS_MM


@pytest.mark.parametrize("spacing, n", [(2.0, 31), (4.0, 17)])
@pytest.mark.parametrize("diameter", [13, 17, 22, 37])
def test_suvpeak_is_sphere_value_for_spheres_from_13mm(spacing, n, diameter):
    """§1.5 C: SUVpeak = 4.00 for spheres >= 13 mm at 2 and 4 mm voxels."""
    grid = VoxelGrid.from_spacing((n, n, n), (spacing,) * 3)
    image, sphere = sphere_image(grid, (n // 2,) * 3, diameter / 2, 4.0)
    peak = suv_peak(image, grid, RegionMask.from_full_mask(sphere))
    assert peak.suv_peak == 4.0


def _noisy_lesion(grid, centre_kji, radius_mm, seed):
    image, sphere = sphere_image(grid, centre_kji, radius_mm, 6.0)
    rng = np.random.default_rng(seed)
    return image * (1 + 0.15 * rng.standard_normal(image.shape)), sphere


@pytest.mark.parametrize(
    "spacing, directions",
    [((2.0, 2.0, 2.0), None), ((4.0, 4.0, 4.0), None), ((4.07, 4.07, 3.0), None), ((4.07, 4.07, 3.0), OBLIQUE)],
)
@pytest.mark.parametrize("radius_mm", [ONE_ML_SPHERE_RADIUS_MM, 6.0])
@pytest.mark.parametrize("variant", ["global", "local"])
def test_suvpeak_matches_brute_force_on_noisy_lesions(spacing, directions, radius_mm, variant):
    grid = VoxelGrid.from_spacing((18, 18, 18), spacing, directions=directions)
    for seed, lesion_radius in ((1, 7.0), (2, 3.0)):  # 1.4 mL and a sub-mL (0.11 mL) lesion
        image, sphere = _noisy_lesion(grid, (9, 9, 9), lesion_radius, seed)
        region = RegionMask.from_full_mask(sphere)
        peak = suv_peak(image, grid, region, variant=variant, radius_mm=radius_mm)
        value, centre, count = brute_force_peak(image, grid, sphere, radius_mm, variant)
        assert peak.suv_peak == pytest.approx(value, rel=1e-12)
        assert peak.center_kji == tuple(int(v) for v in centre)
        assert peak.voxels_in_sphere == count


def test_suvpeak_single_voxel_voi_and_border():
    grid = VoxelGrid.from_spacing((12, 12, 12), (2.0, 2.0, 2.0))
    rng = np.random.default_rng(5)
    image = rng.uniform(0.5, 3.0, grid.shape_kji)
    one = RegionMask((slice(6, 7), slice(6, 7), slice(6, 7)), np.ones((1, 1, 1), bool))
    peak = suv_peak(image, grid, one)
    assert peak.voxels_in_sphere == 123
    reference = brute_force_peak(image, grid, one.full_mask(image.shape), 6.2035, "global")
    assert peak.suv_peak == pytest.approx(reference[0])
    # A VOI in the image corner: the sphere is cut by the border and averages the voxels that exist.
    corner = np.zeros(grid.shape_kji, bool)
    corner[0:2, 0:3, 0:2] = True
    for variant in ("global", "local"):
        peak = suv_peak(image, grid, RegionMask.from_full_mask(corner), variant=variant)
        value, centre, count = brute_force_peak(image, grid, corner, 6.2035, variant)
        assert peak.suv_peak == pytest.approx(value, rel=1e-12)
        assert peak.voxels_in_sphere == count < 123


def test_global_peak_need_not_contain_the_max_voxel():
    grid = VoxelGrid.from_spacing((30, 30, 30), (2.0, 2.0, 2.0))
    image = np.ones(grid.shape_kji)
    image[10:13, 10:13, 10:13] = 8.0  # warm 3x3x3 cluster
    image[10, 11, 19] = 20.0  # single hot voxel, 14 mm away
    voi = np.zeros(grid.shape_kji, bool)
    voi[10:13, 10:13, 10:20] = True
    region = RegionMask.from_full_mask(voi)
    glob = suv_peak(image, grid, region, variant="global")
    local = suv_peak(image, grid, region, variant="local")
    # Several cluster voxels hold the whole cluster in their sphere and tie: the lowest flat index wins.
    assert glob.center_kji == (10, 10, 11) == brute_force_peak(image, grid, voi, 6.2035, "global")[1]
    assert glob.suv_peak == pytest.approx((27 * 8 + 96) / 123)
    assert local.center_kji == (10, 11, 19)
    assert local.suv_peak == pytest.approx((20 + 122) / 123)


def test_local_peak_ties_take_the_highest_sphere():
    grid = VoxelGrid.from_spacing((30, 30, 30), (2.0, 2.0, 2.0))
    image = np.ones(grid.shape_kji)
    image[8, 8, 8] = image[20, 20, 20] = 9.0
    image[20, 20, 21] = 5.0  # raises the second sphere's mean
    voi = np.zeros(grid.shape_kji, bool)
    voi[8, 8, 8] = voi[20, 20, 20] = voi[20, 20, 21] = True
    local = suv_peak(image, grid, RegionMask.from_full_mask(voi), variant="local")
    assert local.center_kji == (20, 20, 20)
    assert local.suv_peak == pytest.approx((9 + 5 + 121) / 123)


def test_suvpeak_refuses_non_finite_neighbours_only_when_reached():
    grid = VoxelGrid.from_spacing((30, 30, 30), (2.0, 2.0, 2.0))
    image, sphere = sphere_image(grid, (15, 15, 15), 5.0, 4.0)
    region = RegionMask.from_full_mask(sphere)
    image[15, 15, 23] = np.nan  # 16 mm from the centre: beyond every sphere (VOI radius 5 + 6.2 mm)
    assert suv_peak(image, grid, region).suv_peak == pytest.approx(2.9756, abs=1e-4)
    image[15, 15, 20] = np.nan  # 10 mm from the centre: inside the sphere of the VOI voxel at 4 mm
    for variant in ("global", "local"):
        with pytest.raises(MeasurementError, match=r"^1 non-finite \(NaN/inf\) voxel lies within the 6\.2035 mm "
                                                   r"SUVpeak sphere, e\.g\. at RAS \(40\.0, 30\.0, 30\.0\)"):
            suv_peak(image, grid, region, variant=variant)
    with pytest.raises(MeasurementError, match="variant"):
        suv_peak(image, grid, region, variant="max")


# -- blurred sphere: continuous SUVpeak of §3.6 --------------------------------------------------------------------

SIGMA = 6.0 / (2 * np.sqrt(2 * np.log(2)))


def _profile(r, radius):
    r = np.asarray(r, float)
    s2 = SIGMA * np.sqrt(2)
    c0 = erf(radius / s2) - 2 * radius / (SIGMA * np.sqrt(2 * np.pi)) * np.exp(-(radius**2) / (2 * SIGMA**2))
    with np.errstate(divide="ignore", invalid="ignore"):
        c = 0.5 * (erf((radius - r) / s2) + erf((radius + r) / s2)) - SIGMA / (r * np.sqrt(2 * np.pi)) * (
            np.exp(-((radius - r) ** 2) / (2 * SIGMA**2)) - np.exp(-((radius + r) ** 2) / (2 * SIGMA**2)))
    return np.where(r < 1e-9, c0, c)


@pytest.mark.parametrize("diameter, continuous", [(10, 2.0202), (13, 2.7511), (17, 3.5308), (22, 3.9298),
                                                  (28, 3.9976), (37, 4.0000)])
def test_blurred_suvpeak_against_continuous_oracle(diameter, continuous):
    """Global SUVpeak of a point-sampled blurred sphere (FWHM 6 mm, S 4, BG 1, 2 mm voxels) vs the 1 mL integral.

    The discrete value is the mean of the profile at the 123 voxel centres of the ball (0.984 mL). Its second
    moment (mean |d|^2 = 708/123 x 4 mm^2 = 23.02 mm^2) equals that of the continuous 1 mL ball (3a^2/5 =
    23.09 mm^2) to 0.3 %, so the leading (curvature) error cancels and what remains is a fourth-order term; it is
    largest for the 10 mm sphere (curvature ~ contrast / sigma^2): 0.0044 SUV. Tolerance 0.01 SUV = 0.25 % of S.
    """
    n = int(np.ceil((diameter / 2 + 25) / 2.0))
    grid = VoxelGrid.from_spacing((2 * n + 1,) * 3, (2.0,) * 3, origin_ras=(-2.0 * n,) * 3)
    r = np.linalg.norm(centres_ras(grid), axis=-1)
    image = 1 + 3 * _profile(r, diameter / 2)
    a = ONE_ML_SPHERE_RADIUS_MM
    assert 1 + 3 * 3 / a**3 * quad(lambda x: float(_profile(x, diameter / 2)) * x * x, 0, a)[0] == pytest.approx(
        continuous, abs=1e-4)
    voi = grow_isocontour(image, grid, (1.0, -1.0, 0.5))
    peak = suv_peak(image, grid, voi.region)
    assert peak.center_kji == (n, n, n)
    # Exact discrete reference: the profile averaged over the 123 ball offsets.
    offsets = np.array(brute_force_offsets(grid, a), float) * 2.0
    assert peak.suv_peak == pytest.approx(np.mean(1 + 3 * _profile(np.linalg.norm(offsets, axis=1), diameter / 2)),
                                          abs=1e-12)
    assert peak.suv_peak == pytest.approx(continuous, abs=0.01)
