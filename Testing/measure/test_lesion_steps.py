"""Each step of the lesion VOI on its own: peak, component, exclusion of hotter structures, checks, warning texts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from PentixaforQuantLib.errors import MeasurementError
from PentixaforQuantLib.geometry import VoxelGrid
from PentixaforQuantLib.measure import lesion_checks
from PentixaforQuantLib.measure.lesion_growth import Grower, Growth, OtherStructure, exclude_hotter, grow_until_stable
from PentixaforQuantLib.measure.lesion_peak import find_start
from PentixaforQuantLib.measure.regions import box_region
from PentixaforQuantLib.measure.voi_warnings import LEAK_CODES, WARNING_CODES, VOIWarning

GRID = VoxelGrid.from_spacing((21, 21, 31), (2.0, 2.0, 2.0))
STRUCTURE = ndimage.generate_binary_structure(3, 1)


def _ras(kji):
    return GRID.ijk_to_ras_points(np.asarray(kji[::-1], float))


def _two_cubes(hot=40.0):
    """A lesion cube (SUV 10) touching a hotter cube (``hot``) along i, in background 1."""
    image = np.ones(GRID.shape_kji)
    image[8:13, 8:13, 8:13] = 10.0
    image[7:14, 7:14, 13:20] = hot
    return image


# -- peak ------------------------------------------------------------------------------------------------------------


def test_the_start_is_the_maximum_the_ascent_reaches_or_the_sphere_edge():
    k, j, i = np.indices(GRID.shape_kji)
    image = 1.0 + 4.0 * np.exp(-((k - 10) ** 2 + (j - 10) ** 2 + (i - 10) ** 2) / 8.0)  # a blob peaking at 5
    start = find_start(image, GRID, _ras((10, 10, 13)), 10.0, 0.5, 6, None)
    assert start.peak_kji == (10, 10, 10) and start.suv == 5.0 and start.reached_maximum
    assert start.anchor_kji == (10, 10, 13)
    ramp = np.broadcast_to(np.arange(31, dtype=float) + 1.0, GRID.shape_kji).copy()  # rises along i
    start = find_start(ramp, GRID, _ras((10, 10, 5)), 10.0, 0.5, 6, None)
    assert start.peak_kji == (10, 10, 10) and not start.reached_maximum  # stopped by the 10 mm sphere
    with pytest.raises(MeasurementError, match="no uptake to segment"):
        find_start(np.zeros(GRID.shape_kji), GRID, _ras((10, 10, 10)), 10.0, 0.5, 6, None)


# -- component and regrowth ------------------------------------------------------------------------------------------


def test_the_component_is_scipy_label_of_the_threshold():
    rng = np.random.default_rng(3)
    image = ndimage.gaussian_filter(rng.random(GRID.shape_kji), 1.5)
    seed = tuple(int(v) for v in np.unravel_index(np.argmax(image), image.shape))
    box, comp, too_big = Grower(image, GRID, 6, 1000.0, None).grow(seed, 0.5)
    labels, _ = ndimage.label(image >= 0.5)
    full = np.zeros(image.shape, bool)
    full[box] = comp
    assert not too_big and np.array_equal(full, labels == labels[seed])


def test_regrowth_moves_the_peak_to_the_hottest_voxel_until_stable():
    image = np.ones(GRID.shape_kji)
    image[8:13, 8:13, 8:13] = 6.0
    image[10, 10, 12] = 9.0  # hotter than the first peak, in the same lesion
    growth = grow_until_stable(Grower(image, GRID, 6, 1000.0, None), image, (10, 10, 9), lambda v: 0.4 * v,
                               leak_ratio=2.0)
    assert growth.peak_kji == (10, 10, 12) and growth.suv_max == 9.0 and growth.threshold_suv == pytest.approx(3.6)
    assert np.count_nonzero(growth.voi) == 125 and growth.excluded == [] and not growth.too_big


# -- exclusion of hotter structures ----------------------------------------------------------------------------------


def test_a_markedly_hotter_structure_is_left_out_and_recorded():
    image = _two_cubes(40.0)
    labels, _ = ndimage.label(image >= 4.0)
    comp = labels == labels[10, 10, 10]
    own, others = exclude_hotter(image, comp, (10, 10, 10), 2.0, STRUCTURE, GRID.spacing_mm[::-1])
    lesion = np.zeros(image.shape, bool)
    lesion[8:13, 8:13, 8:13] = True
    assert np.array_equal(own, lesion)
    assert others == [OtherStructure(40.0, (7, 7, 13), 343)]


def test_a_structure_less_than_leak_ratio_hotter_or_a_noise_spike_stays_in():
    image = _two_cubes(18.0)  # 1.8 x the lesion
    labels, _ = ndimage.label(image >= 4.0)
    comp = labels == labels[10, 10, 10]
    own, others = exclude_hotter(image, comp, (10, 10, 10), 2.0, STRUCTURE, GRID.spacing_mm[::-1])
    assert own is comp and others == []
    spiky = np.ones(GRID.shape_kji)
    spiky[8:13, 8:13, 8:13] = 10.0
    spiky[10, 10, 12] = 30.0  # one voxel: smoothed among its neighbours it is no structure
    comp = spiky >= 4.0
    own, others = exclude_hotter(spiky, comp, (10, 10, 10), 2.0, STRUCTURE, GRID.spacing_mm[::-1])
    assert np.array_equal(own, comp) and others == []


def test_the_regrowth_never_enters_the_excluded_structure():
    image = _two_cubes(40.0)
    growth = grow_until_stable(Grower(image, GRID, 6, 1000.0, None), image, (10, 10, 10), lambda v: 0.4 * v,
                               leak_ratio=2.0)
    assert growth.suv_max == 10.0 and np.count_nonzero(growth.voi) == 125
    assert [o.suv_max for o in growth.excluded] == [40.0]
    assert image[growth.excluded[0].peak_kji] == 40.0  # image indices, not box indices


# -- checks ----------------------------------------------------------------------------------------------------------


def _growth(voi_full, image, excluded=(), too_big=False, t=4.0):
    box = tuple(slice(0, n) for n in voi_full.shape)
    peak = tuple(int(v) for v in np.unravel_index(np.argmax(np.where(voi_full, image, -np.inf)), image.shape))
    return Growth(peak, float(image[peak]), t, box, voi_full, too_big, list(excluded))


def test_each_check_fires_on_its_event_only():
    image = _two_cubes(40.0)
    lesion = np.zeros(image.shape, bool)
    lesion[8:13, 8:13, 8:13] = True
    click = _ras((10, 10, 10))
    plain = _growth(lesion, image)
    start = find_start(image, GRID, click, 10.0, 0.5, 6, None)
    assert lesion_checks.hotter_structure_excluded(GRID, plain, click, 2.0) is None
    assert lesion_checks.peak_not_at_click(image, GRID, plain, start, click, 10.0, 1.6) is None
    assert lesion_checks.size_limit(GRID, plain, 1000.0) is None
    assert lesion_checks.touches_border(plain, GRID.shape_kji) is None
    assert lesion_checks.roi_cuts(image, GRID, plain, STRUCTURE, None) is None
    # The hotter cube lies 6 mm from the click: within the search sphere, outside the VOI.
    w = lesion_checks.hotter_in_search_sphere(image, GRID, plain, start, click, 10.0)
    assert w.code == "hotter_in_search_sphere" and w.values["other_suv_max"] == 40.0
    excluded = _growth(lesion, image, [OtherStructure(40.0, (7, 7, 13), 343)])
    w = lesion_checks.hotter_structure_excluded(GRID, excluded, click, 2.0)
    assert w.code == "hotter_structure_excluded" and w.values["ratio"] == 4.0
    assert w.values["other_volume_ml"] == pytest.approx(343 * 0.008)
    assert lesion_checks.hotter_in_search_sphere(image, GRID, excluded, start, click, 10.0) is None  # named already
    limit = lesion_checks.size_limit(GRID, _growth(lesion, image, too_big=True), 0.5)
    assert limit.code == "size_limit" and limit.values["volume_ml"] == pytest.approx(1.0)
    edge = np.zeros(image.shape, bool)
    edge[0, 10, 10] = True
    assert lesion_checks.touches_border(_growth(edge, image), GRID.shape_kji).code == "touches_border"
    # An ROI that holds the lesion cube exactly cuts the hotter cube's face that touches it (5 x 5 voxels); one of
    # 3 x 3 x 3 voxels inside the lesion cuts the lesion's voxels on its six faces (6 x 3 x 3).
    roi = box_region(GRID, click, (4.5, 4.5, 4.5))
    assert lesion_checks.roi_cuts(image, GRID, plain, STRUCTURE, roi).values["voxels"] == 25
    small_roi = box_region(GRID, click, (2.0, 2.0, 2.0))
    inner = lesion & small_roi.full_mask(GRID.shape_kji)
    assert lesion_checks.roi_cuts(image, GRID, _growth(inner, image), STRUCTURE, small_roi).values["voxels"] == 54


def test_peak_not_at_click_compares_smoothed_levels_beyond_the_search_sphere():
    image = np.ones(GRID.shape_kji)
    image[8:13, 8:13, 2:8] = 6.0  # the clicked part
    image[8:13, 8:13, 8:28] = 12.0  # its hotter neighbour, joined (12 >= 0.4 x 12)
    voi = image >= 4.8
    growth = _growth(voi, image)
    click = _ras((10, 10, 3))
    start = find_start(image, GRID, click, 10.0, 0.5, 6, None)
    w = lesion_checks.peak_not_at_click(image, GRID, growth, start, click, 10.0, 1.6)
    assert np.linalg.norm(_ras(growth.peak_kji) - click) > 10.0
    assert w.code == "peak_not_at_click" and w.values["clicked_suv"] == 6.0 and w.values["ratio"] >= 1.6
    assert lesion_checks.peak_not_at_click(image, GRID, growth, start, click, 10.0, 2.5) is None


# -- warning texts ---------------------------------------------------------------------------------------------------


SAMPLE = {"suv_max": 8.0, "other_suv_max": 40.0, "other_ras": [1.0, 2.0, 3.0], "distance_mm": 12.0,
          "other_volume_ml": 30.0, "threshold_suv": 3.2, "ratio": 5.0, "leak_ratio": 2.0, "peak_ras": [0.0, 0.0, 0.0],
          "clicked_suv": 4.0, "reached_maximum": True, "search_radius_mm": 10.0, "suv_peak": 9.0, "voxels": 3,
          "sphere_max": 40.0, "radius_mm": 6.2035, "max_volume_ml": 1000.0, "volume_ml": 1200.0, "others": 2}


@pytest.mark.parametrize("code", sorted(WARNING_CODES))
def test_every_warning_renders_one_short_line_and_a_detail(code):
    w = VOIWarning(code, dict(SAMPLE))
    assert "\n" not in w.short and len(w.short) <= 110 and str(w) == w.short
    assert len(w.detail) >= len(w.short)
    doc = w.to_dict()
    assert doc["code"] == code and doc["short"] == w.short and doc["detail"] == w.detail
    assert (code in LEAK_CODES) == (code in {"hotter_structure_excluded", "peak_not_at_click", "size_limit",
                                             "split_at_saddle"})


def test_an_unknown_warning_code_is_refused():
    with pytest.raises(ValueError, match="unknown VOI warning code"):
        VOIWarning("shoulder")
