"""Rendering the phantom (phantom/render.py): the blur conserves activity and matches the analytic profile, the
noise is multiplicative and seeded, and the whole-body benchmark grid holds every structure."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from PentixaforQuantLib.phantom import PhantomOptions, make_phantom, make_whole_body_grid_phantom

from phantom_cases import seed_structure


@pytest.mark.parametrize("spacing", [(4.0, 4.0, 4.0), (4.07, 4.07, 3.0)])
def test_blur_conserves_total_activity(spacing):
    sharp = make_phantom(PhantomOptions(spacing_mm=spacing))
    blurred = make_phantom(PhantomOptions(spacing_mm=spacing, fwhm_mm=6.0))
    vv = sharp.grid.voxel_volume_ml
    total = sharp.suv.sum(dtype=np.float64) * vv
    assert blurred.suv.sum(dtype=np.float64) * vv == pytest.approx(total, rel=1e-5)
    np.testing.assert_array_equal(blurred.labels, sharp.labels)
    assert blurred.suv.dtype == np.float32
    # Partial-volume loss: the blurred 10 mm lesion peaks well below its design value, the 37 mm one does not.
    for name, low, high in (("lesion_10mm", 2.5, 7.0), ("lesion_37mm", 8.7, 9.0 + 1e-4)):
        peak = blurred.suv[blurred.mask(name)].max()
        assert low < peak < high, (name, peak)


def test_blur_matches_the_analytic_profile_of_a_large_sphere():
    # 37 mm sphere, FWHM 6 mm, 2 mm voxels: the centre keeps the design value (C(0) = 1.0000, reference §3.6),
    # and the value at the surface is about halfway between lesion and background.
    ph = make_phantom(PhantomOptions(spacing_mm=(2.0, 2.0, 2.0), fwhm_mm=6.0,
                                     fov_ras=((20, 10, -250), (110, 110, -150))))
    st = ph.truth.structure("lesion_37mm")
    c = np.asarray(st.center_ras)
    assert ph.suv[ph.grid.nearest_kji(c)] == pytest.approx(9.0, abs=1e-3)
    surface = ph.suv[ph.grid.nearest_kji(c + [0, 0, 18.0])], ph.suv[ph.grid.nearest_kji(c + [0, 0, 20.0])]
    half = (9.0 + 0.7) / 2
    assert surface[1] < half < surface[0]


def test_noise_is_multiplicative_and_reproducible_with_the_seed():
    a = make_phantom(PhantomOptions(fwhm_mm=6.0, noise=0.1, seed=7))
    b = make_phantom(PhantomOptions(fwhm_mm=6.0, noise=0.1, seed=7))
    c = make_phantom(PhantomOptions(fwhm_mm=6.0, noise=0.1, seed=8))
    clean = make_phantom(PhantomOptions(fwhm_mm=6.0))
    np.testing.assert_array_equal(a.suv, b.suv)
    assert not np.array_equal(a.suv, c.suv)
    liver = ndimage.binary_erosion(a.mask("liver"), iterations=3)
    ratio = a.suv[liver] / clean.suv[liver]
    assert ratio.mean() == pytest.approx(1.0, abs=0.01) and ratio.std() == pytest.approx(0.1, rel=0.1)
    assert np.all(a.suv[clean.suv == 0] == 0)  # zero outside the body stays zero


@pytest.mark.slow
def test_whole_body_grid_phantom_has_the_clinical_grid_and_all_structures():
    ph = make_whole_body_grid_phantom(shape_kji=(330, 240, 240), spacing_mm=(1.6, 1.6, 2.0))
    assert ph.suv.shape == (330, 240, 240) and ph.suv.dtype == np.float32 and ph.labels.dtype == np.uint8
    np.testing.assert_allclose(ph.grid.spacing_mm, (1.6, 1.6, 2.0))
    for site, ras in ph.truth.seeds_ras.items():
        assert ph.label_names[int(ph.labels[ph.grid.nearest_kji(ras)])] == seed_structure(ph.truth, site)
    assert {st.name for st in ph.truth.structures if st.voxel_count == 0} == set()
