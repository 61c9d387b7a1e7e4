"""Sampling the design on a grid (phantom/sampling.py): analytic voxel counts of spheres (reference
suv-and-metrics.md §1.5 C), off-grid shifts, oblique grids, and the 40 % isocontour of every lesion."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from phantom_cases import OBLIQUE, sphere_mask


def test_offgrid_moves_every_seed_off_the_voxel_centres(phantoms):
    ph = phantoms["offgrid"]
    ijk = ph.grid.ras_to_continuous_ijk(np.array(list(ph.truth.seeds_ras.values())))
    assert np.all(np.abs(ijk - np.rint(ijk)) > 0.2)


@pytest.mark.parametrize(("grid_name", "voxels_10mm"), [("4mm", 7), ("2mm", 81)])
def test_lesion_voxel_counts_are_the_analytic_voxelised_spheres(phantoms, grid_name, voxels_10mm):
    ph = phantoms[grid_name]
    lesions = [st for st in ph.truth.structures if st.group == "lesion"]
    assert [st.size["diameter_mm"] for st in lesions] == [10.0, 13.0, 17.0, 22.0, 28.0, 37.0]
    for st in lesions:
        n_ball = len(ph.grid.ball_offsets_kji(st.size["radius_mm"]))
        assert st.voxel_count == n_ball == int(np.count_nonzero(ph.mask(st.name))), st.name
        assert np.all(ph.suv[ph.mask(st.name)] == np.float32(st.suv))
    assert ph.truth.structure("lesion_10mm").voxel_count == voxels_10mm
    if grid_name == "2mm":  # large spheres: voxelised volume close to the design volume
        for st in lesions[3:]:
            design_ml = 4 / 3 * math.pi * st.size["radius_mm"] ** 3 / 1000
            assert st.voxel_count * ph.grid.voxel_volume_ml == pytest.approx(design_ml, rel=0.08), st.name


@pytest.mark.parametrize("grid_name", ["4mm", "2mm", "aniso", "offgrid", "oblique"])
def test_forty_percent_isocontour_of_every_lesion_is_its_voxelised_sphere(phantoms, grid_name):
    # The lesions sit in tissue below 40 % of their SUV, so the connected 40 % region is exactly the label.
    ph = phantoms[grid_name]
    for st in (s for s in ph.truth.structures if s.group == "lesion"):
        seed = ph.grid.nearest_kji(st.center_ras)
        comp, _ = ndimage.label(ph.suv >= 0.4 * ph.suv[seed])  # 6-connected
        voi = comp == comp[seed]
        np.testing.assert_array_equal(voi, ph.mask(st.name), err_msg=st.name)
    e = ph.truth.expected["lesion"]
    assert e["voxels"] == ph.truth.structure(ph.truth.target_lesion).voxel_count
    assert e["volume_ml"] == pytest.approx(e["voxels"] * ph.grid.voxel_volume_ml)


def test_oblique_grid_places_the_lesions_at_their_ras_centres(phantoms):
    ph = phantoms["oblique"]
    np.testing.assert_allclose(ph.grid.directions, OBLIQUE, atol=1e-12)
    for st in (s for s in ph.truth.structures if s.group == "lesion" and s.size["diameter_mm"] >= 17):
        kji = np.argwhere(ph.mask(st.name))
        centroid = ph.grid.ijk_to_ras_points(kji[:, ::-1]).mean(axis=0)
        np.testing.assert_allclose(centroid, st.center_ras, atol=1.0, err_msg=st.name)
        # Every voxel centre of the label lies inside the design sphere, and none outside is missed.
        assert np.array_equal(ph.mask(st.name), sphere_mask(ph.grid, st.center_ras, st.size["radius_mm"]))
