"""The whole protocol on the phantom's SUV map (no files, no MRML): every number against the design."""

from __future__ import annotations

import numpy as np
import pytest

from PentixaforQuantLib.phantom import PhantomOptions, border_lesion_options, make_phantom
from PentixaforQuantLib.measure.protocol import ProtocolParameters, StudyResult, run_protocol
from PentixaforQuantLib.measure.sites import MARROW_SITES

from grids import OBLIQUE



@pytest.mark.parametrize(
    "options",
    [PhantomOptions(), PhantomOptions(spacing_mm=(2.0, 2.0, 2.0)), PhantomOptions(spacing_mm=(4.07, 4.07, 3.0)),
     PhantomOptions(directions=OBLIQUE), PhantomOptions(radionuclide="F-18", offgrid=True)],
    ids=["4mm", "2mm", "anisotropic", "oblique", "offgrid"],
)
def test_every_site_equals_the_design_on_any_grid(options):
    phantom = make_phantom(options)
    expected = phantom.truth.expected
    study = run_protocol(phantom.suv, phantom.grid, phantom.truth.seed_points)
    assert study.errors == {} and study.warnings == []
    lesion = study.lesion
    assert lesion.stats.suv_max == pytest.approx(expected["lesion"]["suv_max"])
    assert lesion.stats.voxels == expected["lesion"]["voxels"]
    assert lesion.stats.volume_ml == pytest.approx(expected["lesion"]["volume_ml"])
    np.testing.assert_array_equal(lesion.region.full_mask(phantom.grid.shape_kji),
                                  phantom.mask(phantom.truth.target_lesion))
    assert study.blood_pool.stats.suv_mean == pytest.approx(expected["blood_pool"]["suv_mean"])
    assert study.blood_pool.stats.voxels == expected["blood_pool"]["voxels"]
    for site in MARROW_SITES:
        assert study.marrow[site].stats.suv_max == pytest.approx(expected["marrow"][site]["suv_max"])
        assert study.marrow[site].stats.voxels == expected["marrow"][site]["voxels"]
    assert study.tbr == pytest.approx(expected["tbr"])
    assert study.mean_suv_max == pytest.approx(expected["mean_suv_max"])


def test_tbr_numerators_and_missing_marrow_sites():
    phantom = make_phantom()
    seeds = dict(phantom.truth.seed_points)
    del seeds["L5"], seeds["left_ilium"]
    study = run_protocol(phantom.suv, phantom.grid, seeds, ProtocolParameters(tbr_numerator="suv_peak"))
    assert study.tbr == pytest.approx(study.lesion.peak.suv_peak / 2.0)
    assert study.tbr_with("suv_max") == pytest.approx(6.0)
    assert study.marrow_sites_used == ["C7", "T12", "right_ilium"]
    assert study.mean_suv_max == pytest.approx(np.mean([2.6, 2.9, 3.1]))
    assert any("meanSUVmax uses 3 of 5 marrow sites (missing: L5, left_ilium)" in w for w in study.warnings)


def test_a_refused_site_does_not_stop_the_others():
    phantom = make_phantom()
    image = phantom.suv.copy()
    aorta = np.asarray(phantom.truth.seed_points["aorta"])
    image[phantom.grid.nearest_kji(aorta)] = np.nan
    seeds = {**phantom.truth.seed_points, "aorta": aorta, "C7": (900.0, 0.0, 0.0)}
    study = run_protocol(image, phantom.grid, seeds)
    assert "not finite" in study.errors["aorta"] and "aorta point at RAS" in study.errors["aorta"]
    assert "outside" in study.errors["C7"]
    assert study.blood_pool is None and study.tbr is None
    assert study.lesion is not None and set(study.marrow) == set(MARROW_SITES) - {"C7"}


def test_blood_pool_sphere_on_the_vessel_wall_gets_a_warning():
    phantom = make_phantom()
    # 10 mm off the lumen centre line: the 15 mm sphere straddles the wall (blood 2.0, tissue 0.7, lung 0.4).
    seeds = {"aorta": np.asarray(phantom.truth.seed_points["aorta"]) + [0.0, 0.0, 12.0]}
    study = run_protocol(phantom.suv, phantom.grid, seeds)
    assert any("touches the vessel wall" in w for w in study.blood_pool.warnings)


def test_lesion_cut_by_the_image_border_is_measured_and_flagged():
    phantom = make_phantom(border_lesion_options())
    lesion = next(s for s in phantom.truth.structures if s.name not in {st.name for st in make_phantom().truth.structures})
    study = run_protocol(phantom.suv, phantom.grid, {"lesion": lesion.center_ras})
    assert study.lesion.voi.touches_border
    assert any("border" in w for w in study.lesion.warnings)
    np.testing.assert_array_equal(study.lesion.region.full_mask(phantom.grid.shape_kji), phantom.mask(lesion.name))


def test_parameters_round_trip_and_validate():
    params = ProtocolParameters(peak_variant="local", peak_radius_mm=6.0).with_isocontour(connectivity=26)
    assert ProtocolParameters.from_dict(params.to_dict()) == params
    # Results written before the shoulder check was retired carry its two parameters: read, ignored.
    old = params.to_dict()
    old["isocontour"].update(core_fraction=0.95, max_core_distance_mm=15.0)
    assert ProtocolParameters.from_dict(old) == params
    with pytest.raises(ValueError, match="peak_variant"):
        ProtocolParameters(peak_variant="max")
    assert isinstance(StudyResult(params).warnings, list)
