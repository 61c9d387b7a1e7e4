"""The study picture (``outputs/figures.py``): each VOI through its centre, and fast enough for a whole-body scan."""

from __future__ import annotations

import time

import numpy as np
import pytest

from PentixaforQuantLib.measure.protocol import run_protocol
from PentixaforQuantLib.measure.sites import LESION
from PentixaforQuantLib.outputs.figures import _voi_centre, study_figure
from PentixaforQuantLib.phantom import PhantomOptions, make_phantom


def test_each_voi_is_shown_through_its_centre_not_its_first_maximum(phantom_study):
    phantom, _ = phantom_study
    study = run_protocol(phantom.suv, phantom.grid, phantom.truth.seed_points)
    lesion = study.regions[LESION]
    centre = _voi_centre(lesion)
    # The uniform lesion sphere: its first maximum voxel in index order is a pole; the picture's slice is the
    # voxel nearest the centroid, which is the sphere's centre voxel.
    assert np.allclose(centre, lesion.indices_kji().mean(axis=0), atol=0.5)
    assert centre[0] != study.lesion.voi.peak_kji[0]
    truth_ijk = phantom.grid.ras_to_continuous_ijk(np.asarray(phantom.truth.seed_points[LESION], float))
    assert np.allclose(centre[::-1], truth_ijk, atol=1.0)
    for site, region in study.regions.items():  # every centre is a voxel of its VOI
        assert region.mask[tuple(_voi_centre(region) - region.offset_kji)], site


@pytest.mark.slow
def test_whole_body_picture_is_written_quickly(tmp_path):
    """A 539-slice whole-body grid (2 x 2 x 1.25 mm, 12.8 million voxels): the picture in at most 0.3 s
    (0.04-0.10 s measured on the 2-core test machine at a load average of 5)."""
    phantom = make_phantom(PhantomOptions(radionuclide="Ga-68", spacing_mm=(2.0, 2.0, 1.25)))
    image = phantom.suv.astype(np.float32)
    assert image.shape[0] >= 500
    study = run_protocol(image, phantom.grid, phantom.truth.seed_points)
    study_figure(image, phantom.grid, study, tmp_path / "warm.png")  # fonts and caches
    start = time.perf_counter()
    path = study_figure(image, phantom.grid, study, tmp_path / "study.png", title="whole body")
    elapsed = time.perf_counter() - start
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert elapsed < 0.3, f"the study picture took {elapsed:.2f} s"
