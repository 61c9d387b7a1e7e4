"""SUV statistics of any segment (the numerical core of the Segment Statistics plugin), against the protocol's own
numbers, brute-force numpy and the plugin's data path on real MRML (a segment's labelmap on the PET grid)."""

from __future__ import annotations

import numpy as np
import pytest

from PentixaforQuantLib.errors import MeasurementError
from PentixaforQuantLib.measure.metrics import ONE_ML_SPHERE_RADIUS_MM
from PentixaforQuantLib.measure.protocol import run_protocol
from PentixaforQuantLib.measure.segment_metrics import (
    SEGMENT_STATISTIC_KEYS,
    segment_suv_statistics,
    suv_units_problem,
)
from PentixaforQuantLib.outputs.dicom_codes import SEGMENT_STATISTICS_KEYS
from PentixaforQuantLib.suv import read_pet_volume


@pytest.fixture(scope="module")
def pet_and_study(phantom_study):
    phantom, folder = phantom_study
    pet = read_pet_volume(folder / "dicom")
    return phantom, pet, run_protocol(pet.suv, pet.grid, phantom.truth.seed_points)


def test_the_lesion_voi_as_a_segment_gives_the_protocol_numbers(pet_and_study):
    phantom, pet, study = pet_and_study
    mask = study.lesion.region.full_mask(pet.grid.shape_kji)
    values = segment_suv_statistics(pet.suv, pet.grid, mask, "{SUVbw}g/ml")
    assert set(values) == set(SEGMENT_STATISTIC_KEYS)
    assert values["suv_peak"] == study.lesion.peak.suv_peak
    assert values["suv_max"] == study.lesion.stats.suv_max
    assert values["suv_mean"] == study.lesion.stats.suv_mean
    assert values["suv_sd"] == study.lesion.stats.suv_sd
    assert values["volume_ml"] == pytest.approx(phantom.truth.expected["lesion"]["volume_ml"], rel=1e-9)


def test_one_voxel_segment_has_the_suvpeak_of_the_ball_around_it(pet_and_study):
    """Below 1 mL (here one voxel) SUVpeak is still defined: the mean of the image voxels within 6.2035 mm."""
    phantom, pet, study = pet_and_study
    k, j, i = pet.grid.nearest_kji(phantom.truth.seed_points["L5"])
    mask = np.zeros(pet.grid.shape_kji, bool)
    mask[k, j, i] = True
    values = segment_suv_statistics(pet.suv, pet.grid, mask, "{SUVlbm}g/ml")
    # Brute force: every voxel centre within the radius, by physical distance.
    kk, jj, ii = np.indices(pet.grid.shape_kji)
    ras = pet.grid.ijk_to_ras_points(np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1).astype(float))
    centre = pet.grid.ijk_to_ras_points(np.array([i, j, k], float))
    inside = np.linalg.norm(ras - centre, axis=1) <= ONE_ML_SPHERE_RADIUS_MM
    assert values["suv_peak"] == pytest.approx(pet.suv.ravel()[inside].astype(np.float64).mean(), rel=1e-12)
    assert values["suv_max"] == values["suv_mean"] == pytest.approx(float(pet.suv[k, j, i]))
    assert values["suv_sd"] == 0.0
    assert values["volume_ml"] == pytest.approx(pet.grid.voxel_volume_ml)


@pytest.mark.parametrize("units", [None, "", "BQML", "Bq/ml", "{counts}"])
def test_a_volume_not_in_suv_gives_nothing_and_says_why(pet_and_study, units):
    phantom, pet, study = pet_and_study
    mask = study.lesion.region.full_mask(pet.grid.shape_kji)
    reason = suv_units_problem(units)
    assert reason and ("not SUV" in reason or "not known to be in SUV" in reason)
    with pytest.raises(MeasurementError, match="SUV statistics not computed"):
        segment_suv_statistics(pet.suv, pet.grid, mask, units)


def test_empty_or_misplaced_segments_are_refused(pet_and_study):
    phantom, pet, study = pet_and_study
    with pytest.raises(MeasurementError, match="empty"):
        segment_suv_statistics(pet.suv, pet.grid, np.zeros(pet.grid.shape_kji, bool), "{SUVbw}g/ml")
    with pytest.raises(MeasurementError, match="not the PET grid"):
        segment_suv_statistics(pet.suv, pet.grid, np.ones((2, 2, 2), bool), "{SUVbw}g/ml")


def test_plugin_keys_are_the_library_keys_and_each_has_codes():
    from PentixaforQuantLib.outputs.dicom_codes import segment_statistic_info

    assert tuple(k.key for k in SEGMENT_STATISTICS_KEYS) == SEGMENT_STATISTIC_KEYS
    for key in SEGMENT_STATISTIC_KEYS:
        assert "." not in key  # Segment Statistics stores "<plugin>.<key>"
        for units in ("{SUVbw}g/ml", "{SUVlbm}g/ml", None):
            info = segment_statistic_info(key, units)
            assert info["quantity"] and info["units_code"] and info["name"] and info["description"]
            assert all(info["quantity"]) and all(info["units_code"])
    # The CID 85 code, from either spelling of the volume's units (the legacy one is what Slicer's PET tools set).
    assert segment_statistic_info("suv_peak", "{SUVlbm}g/ml")["units_code"].value == "g/ml{SUVlbm}"
    assert segment_statistic_info("suv_max", "g/ml{SUVbw}")["units_code"].value == "g/ml{SUVbw}"
    peak = segment_statistic_info("suv_peak", "{SUVbw}g/ml")
    assert tuple(peak["derivation"]) == ("126031", "DCM", "Peak Value Within ROI")
    assert tuple(peak["quantity"]) == ("126400", "DCM", "Standardized Uptake Value")
    assert segment_statistic_info("volume_ml", None)["units_code"].value == "ml"
    assert segment_statistic_info("nonsense", None) is None


def test_the_plugin_data_path_on_real_mrml(headless, pet_and_study):
    """What the plugin does in Slicer: the segment's labelmap on the PET volume, then the library."""
    import slicer.util

    from PentixaforQuantLib.scene.mrml import add_suv_volume_node, set_segment_from_region, volume_array, \
        volume_grid, volume_suv_units

    phantom, pet, study = pet_and_study
    node = add_suv_volume_node(headless.scene, pet.suv, pet.grid, name="PET", units="{SUVbw}g/ml")
    seg = headless.scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    segment_id = set_segment_from_region(seg, "lesion", study.lesion.region, node)
    mask = slicer.util.arrayFromSegmentBinaryLabelmap(seg, segment_id, node)
    values = segment_suv_statistics(volume_array(node), volume_grid(node), mask, volume_suv_units(node))
    assert values["suv_peak"] == study.lesion.peak.suv_peak
    assert values["volume_ml"] == pytest.approx(study.lesion.stats.volume_ml)
