"""The design of the phantom (phantom/design.py, options.py): every seed point in its structure, on-grid centres,
protocol spheres inside uniform structures, distinct design values, and the special lesions the tests need."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from PentixaforQuantLib.phantom import (
    PhantomOptions,
    add_sphere_lesion,
    bladder_adjacent_lesion,
    border_lesion_options,
    make_phantom,
)
from PentixaforQuantLib.phantom.design import SEED_SITES
from PentixaforQuantLib.phantom.sampling import count_voxels_in_sphere

from phantom_cases import GRIDS, MARROW, seed_structure, sphere_mask


@pytest.mark.parametrize("grid_name", list(GRIDS))
def test_every_seed_point_lies_in_its_structure(phantoms, grid_name):
    ph = phantoms[grid_name]
    assert set(ph.truth.seeds_ras) == set(SEED_SITES)
    for site, ras in ph.truth.seeds_ras.items():
        kji = ph.grid.nearest_kji(ras)
        assert ph.label_names[int(ph.labels[kji])] == seed_structure(ph.truth, site), site


@pytest.mark.parametrize("grid_name", ["4mm", "2mm"])
def test_seeds_and_lesion_centres_are_voxel_centres_on_default_grids(phantoms, grid_name):
    ph = phantoms[grid_name]
    points = list(ph.truth.seeds_ras.values())
    points += [st.center_ras for st in ph.truth.structures if st.group == "lesion"]
    ijk = ph.grid.ras_to_continuous_ijk(np.array(points))
    np.testing.assert_allclose(ijk, np.rint(ijk), atol=1e-9)


@pytest.mark.parametrize("grid_name", ["4mm", "aniso", "offgrid", "oblique"])
def test_protocol_spheres_lie_fully_inside_their_structures(phantoms, grid_name):
    ph = phantoms[grid_name]
    for site in ("aorta", *MARROW):
        centre = ph.truth.seeds_ras[site]
        sphere = sphere_mask(ph.grid, centre, 7.5)
        labels = np.unique(ph.labels[sphere])
        assert [ph.label_names[int(v)] for v in labels] == [site], (site, labels)
        expected = ph.truth.expected["marrow"][site] if site in MARROW else ph.truth.expected["blood_pool"]
        assert int(sphere.sum()) == expected["voxels"] == count_voxels_in_sphere(ph.grid, centre, 7.5)
        values = ph.suv[sphere]
        design = ph.truth.structure(site).suv
        assert values.max() == pytest.approx(design) and values.mean() == pytest.approx(design)


def test_marrow_and_aorta_hold_the_sphere_with_a_margin_of_one_4mm_voxel():
    # 7.5 mm sphere + 4 mm margin, checked on a fine grid so the margin is a property of the design.
    ph = make_phantom(PhantomOptions(spacing_mm=(1.0, 1.0, 1.0), fov_ras=((-130, -80, -240), (130, 30, 270))))
    for site in ("aorta", *MARROW):
        sphere = _ball_around(ph, site, 11.5)
        assert np.all(ph.labels[sphere] == ph.truth.structure(site).label), site


def _ball_around(ph, site, radius_mm):
    grid = ph.grid
    (k, j, i) = grid.nearest_kji(ph.truth.seeds_ras[site])
    mask = np.zeros(grid.shape_kji, bool)
    off = grid.ball_offsets_kji(radius_mm)
    mask[off[:, 0] + k, off[:, 1] + j, off[:, 2] + i] = True
    return mask


def test_design_values_are_distinct_and_the_target_is_the_hottest_lesion(phantoms):
    truth = phantoms["4mm"].truth
    marrow = [truth.structure(s).suv for s in MARROW]
    assert len(set(marrow)) == 5 and all(2.5 <= v <= 3.5 for v in marrow)
    lesions = [st for st in truth.structures if st.group == "lesion"]
    target = truth.structure(truth.target_lesion)
    assert target.suv == max(st.suv for st in lesions) and target.size["diameter_mm"] == 22.0
    assert truth.structure("bladder").suv > 3 * target.suv  # breaks naive global-max seeding
    assert truth.structure("aorta").size["lumen_radius_mm"] >= 12.0
    e = truth.expected
    assert e["tbr"] == pytest.approx(target.suv / truth.structure("aorta").suv)
    assert e["mean_suv_max"] == pytest.approx(np.mean(marrow))
    # RAS: patient right = positive R.
    assert truth.seeds_ras["left_ilium"][0] < 0 < truth.seeds_ras["right_ilium"][0]
    assert truth.seeds_ras["C7"][2] > truth.seeds_ras["T12"][2] > truth.seeds_ras["L5"][2]


# ------------------------------------------------------------------------------------------- special lesions
def test_bladder_adjacent_lesion_touches_the_bladder_and_stays_whole():
    for opt in (PhantomOptions(), PhantomOptions(spacing_mm=(4.07, 4.07, 3.0))):
        les = bladder_adjacent_lesion()
        ph = make_phantom(add_sphere_lesion(opt, les.center_ras, les.diameter_mm, les.suv, les.name))
        lesion = ph.mask(les.name)
        assert lesion.sum() == count_voxels_in_sphere(ph.grid, les.center_ras, les.radius_mm)
        touching = ndimage.binary_dilation(lesion) & ph.mask("bladder")  # 6-connected neighbours
        assert touching.any()
        # The naive 40 % region from the lesion leaks into the bladder: what the leak guard must catch.
        seed = ph.grid.nearest_kji(les.center_ras)
        comp, _ = ndimage.label(ph.suv >= 0.4 * ph.suv[seed])
        assert np.any(ph.mask("bladder")[comp == comp[seed]])
        assert ph.truth.target_lesion == "lesion_22mm"  # an extra lesion is not the target unless asked


def test_extra_lesion_can_become_the_target():
    opt = add_sphere_lesion(None, (40.0, 40.0, -60.0), 17.0, 15.0, "hot_node", target=True)
    ph = make_phantom(opt)
    assert ph.truth.target_lesion == "hot_node"
    assert ph.truth.seeds_ras["lesion"] == (40.0, 40.0, -60.0)
    assert ph.truth.expected["lesion"]["suv_max"] == 15.0
    assert ph.truth.expected["tbr"] == pytest.approx(7.5)
    with pytest.raises(ValueError, match="used twice"):
        make_phantom(add_sphere_lesion(None, (0, 0, 0), 10, 5, "lesion_22mm"))


def test_border_lesion_is_cut_by_the_first_voxel_plane():
    ph = make_phantom(border_lesion_options())
    st = ph.truth.structure("lesion_at_border")
    ijk = ph.grid.ras_to_continuous_ijk(st.center_ras)
    assert ijk[0] == pytest.approx(0.0)
    mask = ph.mask("lesion_at_border")
    assert mask[:, :, 0].any()
    half = sum(1 for d in ph.grid.ball_offsets_kji(st.size["radius_mm"]) if d[2] >= 0)
    assert int(mask.sum()) == half
    for site, ras in ph.truth.seeds_ras.items():  # the protocol seeds are still in the image
        assert ph.grid.contains_ijk(ph.grid.ras_to_continuous_ijk(ras)), site
