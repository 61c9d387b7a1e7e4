"""The target-lesion VOI near other structures and with its own inner structure: caught or named.

The default VOI is the published 40 % isocontour (the connected component of SUV >= 0.4 x SUVmax holding the
lesion's peak), except that a structure more than ``leak_ratio`` (2) times hotter is left out. Every trap is
caught (the VOI is right, or a typed warning says what happened) or named (the published isocontour does it, the
docs say so, a bounding ROI is the remedy). Each trap is built noise-free, unblurred (voxelised spheres: known
voxel counts, exact SUV) and blurred (closed-form Gaussian-blurred spheres, suv-and-metrics.md §3.6; the image of
several spheres is the exact sum of their blurred profiles), on anisotropic grids:

- a lesion 1-3 mm from a 4 x hotter bladder: the bladder is left out (caught: ``hotter_structure_excluded``);
- a lesion touching an organ at 60-90 % of its SUV: the isocontour takes the organ in (named; the
  ``split_at_saddle`` option splits the unblurred case, a bounding ROI confines the blurred one);
- two touching lesions (SUV 8 and 20): a click on the small one gives it alone (the large one is 2.5 x hotter,
  caught); a click on the large one gives its isocontour, which takes in the small one's voxels above 40 % (named);
- a dim lesion without a maximum of its own beside a brighter one (caught: ``peak_not_at_click``);
- a hot core, a necrotic core (one VOI, the whole isocontour, from any click; no hole filling);
- a small lesion on the shoulder of the bladder or a kidney, and an SUVpeak sphere reaching into the bladder;
- a click on background (refused).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.optimize import brentq

from PentixaforQuantLib.errors import MeasurementError
from PentixaforQuantLib.geometry import VoxelGrid
from PentixaforQuantLib.measure.isocontour import IsocontourParameters, climb_to_peak, find_peak, grow_isocontour
from PentixaforQuantLib.measure.metrics import region_statistics
from PentixaforQuantLib.measure.protocol import measure_lesion
from PentixaforQuantLib.measure.regions import box_region
from grids import OBLIQUE
from test_voi import blurred_profile, distance_map

SPACINGS = [(2.0, 2.0, 2.0), (2.0, 2.0, 3.0), (4.07, 4.07, 3.0)]
SPACING_IDS = ["2mm", "2x2x3mm", "4.07x4.07x3mm"]
BG = 1.0


def make_grid(spacing, half_extent_mm=(75.0, 45.0, 45.0), directions=None) -> VoxelGrid:
    """A grid whose voxel (n_i // 2, n_j // 2, n_k // 2) has its centre at RAS (0, 0, 0)."""
    n_ijk = [2 * int(np.ceil(h / s)) + 1 for h, s in zip(half_extent_mm, spacing)]
    grid = VoxelGrid.from_spacing(tuple(n_ijk[::-1]), spacing, directions=directions)
    centre = grid.ijk_to_ras_points(np.array([m // 2 for m in n_ijk], float))
    return VoxelGrid.from_spacing(tuple(n_ijk[::-1]), spacing, origin_ras=-centre, directions=directions)


def painted(grid, spheres):
    """Unblurred: voxels whose centres lie in a sphere get its SUV (later spheres over earlier ones)."""
    image = np.full(grid.shape_kji, BG)
    masks = []
    for centre, radius, suv in spheres:
        inside = distance_map(grid, centre) <= radius * (1 + 1e-9)
        image[inside] = suv
        masks.append(inside)
    return image, masks


def blurred(grid, spheres):
    """Blurred (FWHM 6 mm): BG + sum of (SUV - BG) C(r) over the spheres, exact for non-overlapping spheres."""
    image = np.full(grid.shape_kji, BG)
    masks = []
    for centre, radius, suv in spheres:
        r = distance_map(grid, centre)
        image += (suv - BG) * blurred_profile(r, radius)
        masks.append(r <= radius)
    return image, masks


def joined(image, mask_a, mask_b, threshold) -> bool:
    """Whether two structures lie in one 6-connected component of {SUV >= threshold} (independent of the code)."""
    labels, _ = ndimage.label(image >= threshold)
    a = np.unique(labels[mask_a & (labels > 0)])
    b = np.unique(labels[mask_b & (labels > 0)])
    return bool(np.intersect1d(a, b).size)


def published_isocontour(image, peak_kji, fraction=0.4):
    """The published VOI computed independently: the 6-connected component of SUV >= f x SUVmax holding the peak,
    the peak moved to the component's maximum until stable (scipy.ndimage.label on the whole image)."""
    p = tuple(peak_kji)
    while True:
        labels, _ = ndimage.label(image >= fraction * image[p])
        comp = labels == labels[p]
        q = np.unravel_index(int(np.argmax(np.where(comp, image, -np.inf))), image.shape)
        if not image[q] > image[p]:
            return comp
        p = q


def isolated_r40(radius_mm, suv):
    """Radius of the 40 % isocontour of an isolated blurred sphere (BG 1)."""
    top = BG + (suv - BG) * float(blurred_profile(0.0, radius_mm))
    return brentq(lambda r: BG + (suv - BG) * float(blurred_profile(r, radius_mm)) - 0.4 * top, 1e-6, 60), top


LESION = (np.zeros(3), 10.0, 10.0)  # centre RAS, radius mm, SUV


# -- a lesion 1-3 mm from the bladder ------------------------------------------------------------------------------


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
def test_unblurred_lesion_next_to_bladder_is_the_lesion(spacing):
    grid = make_grid(spacing)
    contacts = 0
    for gap_mm in (1.0, 2.0, 3.0):
        bladder = (np.array([10.0 + gap_mm + 20.0, 0, 0]), 20.0, 40.0)
        image, (lesion_mask, bladder_mask) = painted(grid, [LESION, bladder])
        voi = grow_isocontour(image, grid, [-2.0, 1.0, 1.0])
        assert np.array_equal(voi.region.full_mask(grid.shape_kji), lesion_mask), gap_mm
        assert voi.region.voxel_count == np.count_nonzero(distance_map(grid, LESION[0]) <= 10.0 * (1 + 1e-9))
        assert voi.suv_max == 10.0
        if joined(image, lesion_mask, bladder_mask, 4.0):  # voxels of both touch: the old trap
            contacts += 1
            assert voi.leaked and not voi.split
            assert [n.suv_max for n in voi.neighbours] == [40.0]
            assert voi.neighbours[0].voxels == np.count_nonzero(bladder_mask)
            [w] = voi.warnings
            assert w.code == "hotter_structure_excluded"
            assert (w.values["suv_max"], w.values["other_suv_max"], w.values["ratio"]) == (10.0, 40.0, 4.0)
            assert w.values["other_volume_ml"] == pytest.approx(np.count_nonzero(bladder_mask) * grid.voxel_volume_ml)
        else:
            assert not voi.leaked and voi.warnings == []
    assert contacts >= 1  # the trap is really set on every grid


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
@pytest.mark.parametrize("gap_mm", [1.0, 2.0, 3.0])
def test_blurred_lesion_next_to_bladder_is_the_lesion(spacing, gap_mm):
    grid = make_grid(spacing)
    bladder = (np.array([10.0 + gap_mm + 20.0, 0, 0]), 20.0, 40.0)
    image, (lesion_mask, bladder_mask) = blurred(grid, [LESION, bladder])
    r40, top = isolated_r40(10.0, 10.0)
    assert joined(image, lesion_mask, bladder_mask, 0.4 * top)  # the 40 % isocontour bridges the gap
    voi = grow_isocontour(image, grid, [-1.0, 1.0, -1.0])
    # The peak is the lesion's own maximum (the bladder adds < 0.01 SUV at its centre).
    assert voi.suv_max == pytest.approx(top, abs=0.01)
    assert voi.peak_kji == tuple(int(v) for v in np.rint(grid.ras_to_continuous_ijk(LESION[0]))[::-1])
    assert voi.leaked and not voi.split and [round(n.suv_max) for n in voi.neighbours] == [40]
    assert voi.codes == ["hotter_structure_excluded"]
    full = voi.region.full_mask(grid.shape_kji)
    assert not (full & bladder_mask).any()
    # Away from the bladder the VOI is the isolated lesion's 40 % isocontour (voxels inside the analytic radius).
    r = distance_map(grid, LESION[0])
    ras_i = distance_map(grid, [-1e6, 0, 0]) - 1e6  # signed R coordinate, via distances to a far point
    far_half = ras_i < -2.0
    assert np.array_equal(full & far_half, (r <= r40) & far_half)
    # Towards the bladder the split lies in the valley between them, which the bladder's spill-in moves into the
    # lesion (to 5.5 mm from its centre for a 1 mm gap): the VOI stays short of the bladder and keeps at least
    # half of the isolated lesion's 40 % volume, never more than that volume plus a quarter.
    assert r[full].max() <= 10.0 + gap_mm
    v40 = np.count_nonzero(r <= r40) * grid.voxel_volume_ml
    assert 0.5 * v40 <= region_statistics(image, grid, voi.region).volume_ml <= 1.25 * v40
    # The old peak search (the hottest voxel within 10 mm) lands in the bladder from a click near it; the ascent
    # stays in the lesion and the VOI is the same as from the centre.
    near = [2.0, 0.0, 0.0]
    if (bladder_mask & (distance_map(grid, near) <= 10.0)).any():
        assert image[find_peak(image, grid, near, 10.0)] > 1.5 * top
    assert image[climb_to_peak(image, grid, near, 10.0)] == pytest.approx(top, abs=0.01)
    again = grow_isocontour(image, grid, near)
    assert np.array_equal(again.region.mask, voi.region.mask) and again.region.box == voi.region.box


def test_blurred_lesion_next_to_bladder_same_voi_from_any_click_and_roi_confines_it():
    grid = make_grid((2.0, 2.0, 3.0), directions=OBLIQUE)
    bladder = (np.array([32.0, 0, 0]), 20.0, 40.0)
    image, (lesion_mask, bladder_mask) = blurred(grid, [LESION, bladder])
    rng = np.random.default_rng(5)
    masks = set()
    for _ in range(12):
        d = rng.normal(size=3)
        click = d / np.linalg.norm(d) * rng.uniform(0, 7.0)
        voi = grow_isocontour(image, grid, click)
        masks.add((tuple((b.start, b.stop) for b in voi.region.box), voi.region.mask.tobytes(), voi.peak_kji,
                   voi.split))
    assert len(masks) == 1
    # A bounding ROI that stops short of the valley (the bladder's spill-in beyond it is hotter than the lesion).
    roi = box_region(grid, [-3.0, 0.0, 0.0], (9.0, 12.0, 12.0))
    confined = grow_isocontour(image, grid, [0, 0, 0], allowed=roi)
    assert not confined.split and not confined.neighbours
    assert confined.suv_max == voi.suv_max
    assert confined.codes == ["roi_cuts"] and confined.warnings[0].values["voxels"] > 0
    assert not (confined.region.full_mask(grid.shape_kji) & bladder_mask).any()


def test_split_at_saddle_is_an_option_recorded_with_the_result():
    """The old default (split the isocontour at saddles) stays available, off by default and recorded."""
    grid = make_grid((2.0, 2.0, 2.0))
    image, (small_mask, large_mask) = painted(grid, [SMALL, LARGE])
    assert IsocontourParameters().split_at_saddle is False
    params = IsocontourParameters(split_at_saddle=True)
    assert params.to_dict()["split_at_saddle"] is True
    default = grow_isocontour(image, grid, [19.0, 1.0, 0.0])
    assert np.array_equal(default.region.full_mask(grid.shape_kji), small_mask | large_mask)  # 8 >= 0.4 x 20
    assert default.warnings == [] and not default.split
    split = grow_isocontour(image, grid, [19.0, 1.0, 0.0], params)
    assert np.array_equal(split.region.full_mask(grid.shape_kji), large_mask)
    assert split.split and split.codes == ["split_at_saddle"] and split.warnings[0].values["others"] == 1
    assert [n.suv_max for n in split.neighbours] == [8.0]


# -- a lesion touching an organ at 60-90 % of its SUV ----------------------------------------------------------------


def _organ(fraction):
    return (np.array([10.0 + 25.0, 0, 0]), 25.0, 10.0 * fraction)  # touching the lesion


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
@pytest.mark.parametrize("fraction", [0.6, 0.75, 0.9])
def test_unblurred_lesion_touching_an_organ_is_the_published_isocontour(spacing, fraction):
    """Named: the 40 % isocontour takes in a cooler organ above 40 % that touches the lesion (the published
    method does); ``split_at_saddle`` splits it off, exactly."""
    grid = make_grid(spacing)
    image, (organ_mask, lesion_mask) = painted(grid, [_organ(fraction), LESION])  # lesion painted over the organ
    assert joined(image, lesion_mask, organ_mask & ~lesion_mask, 4.0)
    voi = grow_isocontour(image, grid, [1.0, -1.0, 0.0])
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), lesion_mask | organ_mask)
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), published_isocontour(image, voi.peak_kji))
    assert voi.suv_max == 10.0 and voi.warnings == []
    split = grow_isocontour(image, grid, [1.0, -1.0, 0.0], IsocontourParameters(split_at_saddle=True))
    assert np.array_equal(split.region.full_mask(grid.shape_kji), lesion_mask)
    stats = region_statistics(image, grid, split.region)
    assert stats.suv_max == 10.0 and stats.suv_mean == 10.0
    assert split.split and [n.suv_max for n in split.neighbours] == [pytest.approx(10.0 * fraction)]


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
@pytest.mark.parametrize("fraction", [0.6, 0.75, 0.9])
def test_blurred_lesion_touching_an_organ_is_the_published_isocontour_and_an_roi_confines_it(spacing, fraction):
    """Named: no saddle separates a lesion from a cooler organ it touches; the 40 % isocontour takes the organ in, as
    the published method does (docs/measurements.md, "What the isocontour does not separate"). A bounding ROI gives
    the isolated lesion's isocontour."""
    grid = make_grid(spacing)
    image, (lesion_mask, organ_mask) = blurred(grid, [LESION, _organ(fraction)])
    r40, top = isolated_r40(10.0, 10.0)
    voi = grow_isocontour(image, grid, [1.0, -1.0, 0.0])
    assert voi.suv_max == pytest.approx(top, abs=0.01)
    full = voi.region.full_mask(grid.shape_kji)
    assert np.array_equal(full, published_isocontour(image, voi.peak_kji))
    assert (full & organ_mask).any() and voi.warnings == []
    roi = box_region(grid, LESION[0], (r40 + 2, r40 + 2, r40 + 2))
    confined = grow_isocontour(image, grid, [1.0, -1.0, 0.0], allowed=roi)
    assert set(confined.codes) <= {"roi_cuts"}
    r = distance_map(grid, LESION[0])
    far_half = (distance_map(grid, [-1e6, 0, 0]) - 1e6) < 0
    assert np.array_equal(confined.region.full_mask(grid.shape_kji) & far_half, (r <= r40) & far_half)


# -- two touching lesions ------------------------------------------------------------------------------------------


SMALL = (np.zeros(3), 8.0, 8.0)
LARGE = (np.array([18.0, 0, 0]), 10.0, 20.0)  # touching SMALL


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
def test_unblurred_touching_lesions_each_click_gives_its_own(spacing):
    grid = make_grid(spacing)
    image, (small_mask, large_mask) = painted(grid, [SMALL, LARGE])
    assert joined(image, small_mask, large_mask, 0.4 * 8.0)
    small = grow_isocontour(image, grid, [-2.0, 0.0, 1.0])
    large = grow_isocontour(image, grid, [19.0, 1.0, 0.0])
    assert np.array_equal(small.region.full_mask(grid.shape_kji), small_mask & ~large_mask)
    assert (small.suv_max, large.suv_max) == (8.0, 20.0)
    assert small.codes == ["hotter_structure_excluded"] and [n.suv_max for n in small.neighbours] == [20.0]
    # Named: the large lesion's 40 % threshold (8.0) takes in the small one, as the published isocontour does.
    assert np.array_equal(large.region.full_mask(grid.shape_kji), large_mask | small_mask)
    assert np.array_equal(large.region.full_mask(grid.shape_kji), published_isocontour(image, large.peak_kji))
    assert large.warnings == []


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
def test_blurred_touching_lesions_each_click_gives_its_own(spacing):
    grid = make_grid(spacing)
    image, (small_mask, large_mask) = blurred(grid, [SMALL, LARGE])
    _, small_top = isolated_r40(*SMALL[1:])
    assert joined(image, small_mask, large_mask, 0.4 * small_top)
    small = grow_isocontour(image, grid, [-2.0, 0.0, 1.0])
    large = grow_isocontour(image, grid, [19.0, 1.0, 0.0])
    # Each SUVmax is the hottest voxel of that lesion's core (within 5 mm of its centre; point-sampled analytic
    # values; the small lesion's rim next to the large one is hotter, from the large one's spill-in).
    for voi, (centre, _, _) in ((small, SMALL), (large, LARGE)):
        assert voi.suv_max == image[distance_map(grid, centre) <= 5.0].max()
    assert small.suv_max == pytest.approx(small_top, abs=0.15)  # plus the large lesion's tail, minus sampling
    small_full = small.region.full_mask(grid.shape_kji)
    large_full = large.region.full_mask(grid.shape_kji)
    assert not (small_full & large_mask).any() and "hotter_structure_excluded" in small.codes
    assert np.array_equal(large_full, published_isocontour(image, large.peak_kji)) and large.warnings == []


def test_a_lesion_without_a_maximum_of_its_own_is_flagged():
    """A dim lesion on the shoulder of a brighter one has no saddle to split at: the result says so."""
    grid = make_grid((2.0, 2.0, 2.0))
    image, _ = blurred(grid, [SMALL, (LARGE[0], LARGE[1], 14.0)])
    voi = grow_isocontour(image, grid, [-2.0, 0.0, 1.0])
    assert voi.suv_max == pytest.approx(14.0, abs=0.05) and voi.leaked
    [w] = voi.warnings
    assert w.code == "peak_not_at_click" and w.values["suv_max"] == voi.suv_max
    assert w.values["distance_mm"] > 10 and w.values["ratio"] >= 1.6


# -- a click on background -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
@pytest.mark.parametrize("make", [painted, blurred], ids=["unblurred", "blurred"])
def test_background_click_is_refused(spacing, make):
    grid = make_grid(spacing)
    image, _ = make(grid, [LESION])
    with pytest.raises(MeasurementError, match=r"^no uptake focus at RAS \(0\.0, 35\.0, 5\.0\): the local maximum"):
        grow_isocontour(image, grid, [0.0, 35.0, 5.0])
    assert grow_isocontour(image, grid, [0.0, 0.0, 0.0]).suv_max == pytest.approx(10.0, abs=0.05)


def test_background_click_in_noise_is_refused_and_the_contrast_rule_is_exact():
    grid = make_grid((2.0, 2.0, 2.0))
    rng = np.random.default_rng(11)
    for noise in (0.15, 0.25):  # at 25 % some background maxima stand 1.7 x above their surroundings
        noisy = BG * (1 + noise * rng.standard_normal(grid.shape_kji))
        for click in rng.uniform(-20, 20, size=(8, 3)):
            with pytest.raises(MeasurementError, match=r"^no uptake focus at RAS"):
                grow_isocontour(noisy, grid, click)
    # focus_contrast 1.5: a sphere at 1.4 x its surroundings is refused, at 1.6 x it is measured (with A50: a 40 %
    # threshold lies below the background at such low contrast).
    a50 = IsocontourParameters(method="a50", threshold_fraction=0.5)
    for suv, ok in ((1.4, False), (1.6, True)):
        image, (mask,) = painted(grid, [(np.zeros(3), 6.0, suv)])
        if ok:
            voi = grow_isocontour(image, grid, [0, 0, 0], a50)
            assert np.array_equal(voi.region.full_mask(grid.shape_kji), mask)
        else:
            with pytest.raises(MeasurementError, match=r"is 1\.40 x the median SUV 1\.00 at 15-25 mm"):
                grow_isocontour(image, grid, [0, 0, 0], a50)
    params = IsocontourParameters(method="a50", threshold_fraction=0.5, focus_contrast=1.2)
    image, _ = painted(grid, [(np.zeros(3), 6.0, 1.4)])
    assert grow_isocontour(image, grid, [0, 0, 0], params).suv_max == 1.4


def test_the_split_option_reaches_the_parameters_from_the_command_line():
    """``--split-at-saddle`` turns the option on; ``--no-split-at-saddle`` (the default) is still accepted."""
    import argparse

    from PentixaforQuantLib.cli.options import add_protocol_options, protocol_parameters

    parser = argparse.ArgumentParser()
    add_protocol_options(parser)
    assert protocol_parameters(parser.parse_args([])).isocontour.split_at_saddle is False
    on = protocol_parameters(parser.parse_args(["--split-at-saddle"]))
    assert on.to_dict()["isocontour"]["split_at_saddle"] is True
    assert protocol_parameters(parser.parse_args(["--no-split-at-saddle"])).isocontour.split_at_saddle is False


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
def test_isolated_noisy_lesions_raise_no_false_alarm(spacing):
    """The rules must not fire on a lone lesion: 10 and 20 % voxel noise, blurred, 10 to 50 mm, SUV 4 to 12."""
    grid = make_grid(spacing, half_extent_mm=(45.0, 45.0, 45.0))
    rng = np.random.default_rng(21)
    for noise in (0.10, 0.20):
        for diameter, suv in ((10.0, 6.0), (22.0, 12.0), (37.0, 4.0), (50.0, 6.0)):
            image, _ = blurred(grid, [(np.zeros(3), diameter / 2, suv)])
            image = image * (1 + noise * rng.standard_normal(image.shape))
            for click in ([0.0, 0.0, 0.0], [diameter / 5, -diameter / 6, 1.0]):
                voi = grow_isocontour(image, grid, click)
                assert voi.warnings == [] and not voi.leaked and not voi.split, (noise, diameter, voi.warnings)


@pytest.mark.parametrize("noise", [0.05, 0.10])
def test_noisy_traps_still_give_the_clicked_lesion(noise):
    """With voxel noise the bladder and the hotter lesion stay out and the peak stays in the clicked lesion."""
    grid = make_grid((2.0, 2.0, 3.0))
    rng = np.random.default_rng(8)
    for spheres, click in (([LESION, (np.array([32.0, 0, 0]), 20.0, 40.0)], [0.0, 0.0, 0.0]),
                           ([SMALL, LARGE], [-2.0, 0.0, 1.0])):
        image, (own, other) = blurred(grid, spheres)
        image = image * (1 + noise * rng.standard_normal(image.shape))
        voi = grow_isocontour(image, grid, click)
        full = voi.region.full_mask(grid.shape_kji)
        assert own[voi.peak_kji] and not (full & other).any()
        assert voi.codes == ["hotter_structure_excluded"] and voi.neighbours[0].suv_max > 2 * voi.suv_max
    # The organ at 75 %: taken in (no saddle; named), and the VOI is the published isocontour, noise and all.
    image, (own, organ) = blurred(grid, [LESION, _organ(0.75)])
    image = image * (1 + noise * rng.standard_normal(image.shape))
    voi = grow_isocontour(image, grid, [0.0, 0.0, 0.0])
    assert own[voi.peak_kji] and voi.warnings == []
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), published_isocontour(image, voi.peak_kji))


def test_the_split_and_the_neighbours_are_recorded_in_the_study():
    from PentixaforQuantLib.measure.protocol import ProtocolParameters, run_protocol
    from PentixaforQuantLib.outputs.results import describe_methods, study_to_dict

    grid = make_grid((2.0, 2.0, 2.0))
    bladder = (np.array([32.0, 0, 0]), 20.0, 40.0)
    image, _ = painted(grid, [LESION, bladder])
    study = run_protocol(image, grid, {"lesion": [0.0, 0.0, 0.0]})
    doc = study_to_dict(study)
    assert doc["lesion"]["split"] is False and doc["lesion"]["suv_max"] == 10.0
    [neighbour] = doc["lesion"]["neighbours"]
    assert neighbour["suv_max"] == 40.0
    assert neighbour["volume_ml"] == pytest.approx(np.count_nonzero(distance_map(grid, bladder[0]) <= 20.0) * 0.008)
    assert doc["parameters"]["isocontour"]["split_at_saddle"] is False
    # The warnings are typed causes: the code and the numbers, with both texts rendered from them.
    codes = [w["code"] for w in doc["lesion"]["warnings"]]
    assert codes == ["hotter_structure_excluded", "peak_sphere_hotter"]
    first = doc["lesion"]["warnings"][0]
    assert first["values"]["other_suv_max"] == 40.0 and first["values"]["ratio"] == 4.0
    assert first["short"] in doc["warnings"][0] and "\n" not in first["short"] and len(first["short"]) < 120
    assert "structures > 2 x hotter left out" in describe_methods(study)["lesion"]
    assert "split at the saddle" not in describe_methods(study)["lesion"]
    split = run_protocol(image, grid, {"lesion": [0.0, 0.0, 0.0]},
                         ProtocolParameters().with_isocontour(split_at_saddle=True))
    assert "joined structures split at the saddle (depth 25 %)" in describe_methods(split)["lesion"]
    assert study_to_dict(split)["parameters"]["isocontour"]["split_at_saddle"] is True


def test_a_hotter_structure_in_the_search_radius_is_named():
    grid = make_grid((2.0, 2.0, 3.0))
    hot = (np.array([0.0, 14.0, 0.0]), 3.0, 30.0)  # 14 mm away, not touching the lesion (background between)
    image, (lesion_mask, hot_mask) = painted(grid, [(np.zeros(3), 6.0, 10.0), hot])
    click = [0.0, 5.0, 0.0]  # inside the lesion; the hot spot lies 9 mm from the click
    assert image[find_peak(image, grid, click, 10.0)] == 30.0  # the old peak search would take it
    voi = grow_isocontour(image, grid, click)
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), lesion_mask) and voi.suv_max == 10.0
    assert not voi.leaked and voi.codes == ["hotter_in_search_sphere"]
    values = voi.warnings[0].values
    assert (values["other_suv_max"], values["suv_max"]) == (30.0, 10.0)
    assert values["distance_mm"] == pytest.approx(np.linalg.norm(np.array(values["other_ras"]) - click))
    assert voi.warnings[0].detail.startswith("a hotter structure lies within the 10 mm search radius: SUVmax 30.0")


def test_the_new_parameters_are_checked_and_round_trip():
    params = IsocontourParameters(split_at_saddle=True, saddle_depth=0.3, focus_contrast=2.0,
                                  focus_ring_inner_mm=10.0, focus_ring_outer_mm=20.0, peak_move_ratio=1.4)
    assert IsocontourParameters(**params.to_dict()) == params
    for bad, match in (({"saddle_depth": 0.0}, "saddle_depth"), ({"saddle_depth": 1.0}, "saddle_depth"),
                       ({"focus_contrast": 0.9}, "focus_contrast"), ({"peak_move_ratio": float("nan")}, "peak_move"),
                       ({"focus_ring_inner_mm": 30.0}, "focus ring"), ({"peak_move_ratio": 0.9}, "peak_move"),
                       ({"split_at_saddle": "yes"}, "split_at_saddle")):
        with pytest.raises(MeasurementError, match=match):
            IsocontourParameters(**bad)


# -- a lesion's own inner structure: a hot core, a necrotic core -----------------------------------------------------


def _nested(grid, make, outer, inner):
    """A ball (centre, radius, SUV) with a concentric core of another SUV, unblurred or blurred (the core's excess
    over the ball added with its own blurred profile: exact, the blur is linear)."""
    (centre, r_out, suv_out), (_, r_in, suv_in) = outer, inner
    r = distance_map(grid, centre)
    if make is painted:
        image = np.full(grid.shape_kji, BG)
        image[r <= r_out * (1 + 1e-9)] = suv_out
        image[r <= r_in * (1 + 1e-9)] = suv_in
        return image
    return BG + (suv_out - BG) * blurred_profile(r, r_out) + (suv_in - suv_out) * blurred_profile(r, r_in)


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
@pytest.mark.parametrize("make", [painted, blurred], ids=["unblurred", "blurred"])
def test_a_hot_core_never_splits_the_lesion(spacing, make):
    """A 15 mm-radius ball at SUV 12 around a 5 mm core at SUV 15: a click in the core and one 8 mm off both give the
    whole ball's 40 % isocontour, with the core's SUVmax, and no warning (on main the first gave the core alone,
    0.35 mL, the second the shell alone, 13.9 mL)."""
    grid = make_grid(spacing)
    image = _nested(grid, make, (np.zeros(3), 15.0, 12.0), (np.zeros(3), 5.0, 15.0))
    vois = [grow_isocontour(image, grid, click) for click in ([0.0, 0.0, 0.0], [8.0, 0.0, 0.0], [0.0, -8.0, 3.0])]
    published = published_isocontour(image, vois[0].peak_kji)
    for voi in vois:
        assert np.array_equal(voi.region.full_mask(grid.shape_kji), published)
        assert voi.suv_max == float(image.max()) and voi.warnings == []
    if make is painted:
        assert vois[0].suv_max == 15.0
        assert np.array_equal(published, distance_map(grid, np.zeros(3)) <= 15.0 * (1 + 1e-9))


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
@pytest.mark.parametrize("make", [painted, blurred], ids=["unblurred", "blurred"])
def test_a_necrotic_core_never_splits_the_lesion(spacing, make):
    """A 15 mm-radius ball at SUV 10 with a 7 mm core at background level: clicks on either side of the ring give
    one VOI, the ring (no hole filling), equal to the published isocontour, without warning. Blurred, a click at
    the centre gives it too (the ascent leaves the cold bowl); unblurred the flat core is refused (named: no focus)."""
    grid = make_grid(spacing)
    image = _nested(grid, make, (np.zeros(3), 15.0, 10.0), (np.zeros(3), 7.0, BG))
    vois = [grow_isocontour(image, grid, click) for click in ([11.0, 0.0, 0.0], [-11.0, 1.0, 0.0], [0.0, 0.0, 11.0])]
    published = published_isocontour(image, vois[0].peak_kji)
    assert not published[tuple(n // 2 for n in grid.shape_kji)]  # the core is a hole in the VOI
    for voi in vois:
        assert np.array_equal(voi.region.full_mask(grid.shape_kji), published) and voi.warnings == []
    if make is blurred:
        centre = grow_isocontour(image, grid, [0.0, 0.0, 0.0])
        assert np.array_equal(centre.region.full_mask(grid.shape_kji), published)
    else:
        with pytest.raises(MeasurementError, match=r"^no uptake focus at RAS \(0\.0, 0\.0, 0\.0\)"):
            grow_isocontour(image, grid, [0.0, 0.0, 0.0])


# -- a small lesion on the shoulder of the bladder or a kidney; SUVpeak reaching into the bladder -------------------


ONE_ML = 6.2035


def _shoulder(organ_suv):
    """A 1 mL lesion at SUV 8 touching a 25 mm-radius organ (1 mm between their surfaces)."""
    return [(np.zeros(3), ONE_ML, 8.0), (np.array([ONE_ML + 1.0 + 25.0, 0, 0]), 25.0, organ_suv)]


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
@pytest.mark.parametrize("organ_suv", [60.0, 15.0], ids=["bladder", "kidney"])
def test_a_small_lesion_on_the_shoulder_of_an_organ_is_never_silent(spacing, organ_suv):
    """Blurred, the 1 mL lesion next to the bladder has no maximum of its own: the VOI is the organ's, and the
    result says that SUVmax lies in a hotter structure, how far, and its SUV; next to the kidney it keeps a maximum
    of its own and the kidney (about 2 x hotter) is left out, or, where the lesion's level is over half the kidney's,
    the same warning as for the bladder. Unblurred the lesion is exact with the bladder left out, or takes in the
    kidney (1.9 x, not markedly hotter) with the warning."""
    grid = make_grid(spacing)
    for make in (painted, blurred):
        image, (lesion_mask, organ_mask) = make(grid, _shoulder(organ_suv))
        voi = grow_isocontour(image, grid, [0.0, 0.0, 0.0])
        full = voi.region.full_mask(grid.shape_kji)
        if "hotter_structure_excluded" in voi.codes:
            w = voi.warnings[0]
            assert w.values["other_suv_max"] == pytest.approx(organ_suv, rel=0.02) and w.values["ratio"] > 2
            assert not (full & organ_mask).any() and lesion_mask[voi.peak_kji]
            if make is painted:
                assert np.array_equal(full, lesion_mask) and voi.suv_max == 8.0
        else:
            [w] = [w for w in voi.warnings if w.code == "peak_not_at_click"]
            assert w.values["suv_max"] == pytest.approx(organ_suv, rel=0.02) and w.values["distance_mm"] > 10
            assert w.values["ratio"] >= 1.6 and organ_mask[voi.peak_kji]
        assert "hotter_structure_excluded" in voi.codes or "peak_not_at_click" in voi.codes
    # With the bladder, blurred, there is no maximum of the lesion's own: the ascent leaves the search sphere.
    if organ_suv == 60.0:
        image, _ = blurred(grid, _shoulder(organ_suv))
        w = grow_isocontour(image, grid, [0.0, 0.0, 0.0]).warnings[0]
        assert w.code == "peak_not_at_click" and w.values["reached_maximum"] is False


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
def test_a_dim_lesion_touching_a_brighter_one_is_named(spacing):
    """SUV 7 (8 mm radius) touching SUV 12 (10 mm), blurred: not markedly hotter, so the isocontour takes both in
    and the VOI's SUVmax is the brighter one's; the result says so (on main: silent)."""
    grid = make_grid(spacing)
    image, (dim, bright) = blurred(grid, [(np.zeros(3), 8.0, 7.0), (np.array([19.0, 0, 0]), 10.0, 12.0)])
    voi = grow_isocontour(image, grid, [-2.0, 0.0, 0.0])
    assert bright[voi.peak_kji] and voi.codes == ["peak_not_at_click"]
    w = voi.warnings[0]
    assert w.values["suv_max"] == voi.suv_max and w.values["distance_mm"] > 10 and w.values["ratio"] >= 1.6
    assert np.array_equal(voi.region.full_mask(grid.shape_kji), published_isocontour(image, voi.peak_kji))


@pytest.mark.parametrize("spacing", SPACINGS, ids=SPACING_IDS)
def test_an_suvpeak_sphere_reaching_into_the_bladder_is_flagged(spacing):
    """A 1 mL lesion (SUV 8) 1 mm from the bladder (SUV 60), unblurred: the VOI is the lesion, and the 1 mL SUVpeak
    sphere takes in bladder voxels, so SUVpeak exceeds SUVmax: flagged with the count and their SUV."""
    grid = make_grid(spacing)
    image, (lesion_mask, bladder_mask) = painted(grid, _shoulder(60.0))
    les = measure_lesion(image, grid, [0.0, 0.0, 0.0])
    assert np.array_equal(les.region.full_mask(grid.shape_kji), lesion_mask)
    assert les.peak.suv_peak > les.stats.suv_max == 8.0
    [w] = les.metric_warnings
    assert w.code == "peak_sphere_hotter" and w.values["sphere_max"] == 60.0 and w.values["voxels"] >= 1
    assert [r.code for r in les.warning_records] == ["hotter_structure_excluded", "peak_sphere_hotter"]
    assert les.warnings == [r.short for r in les.warning_records]
