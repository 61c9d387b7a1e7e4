"""A volume node that uses the reader's array instead of a copy (a whole-body volume is not held twice), and lets
go of it when the node's image is deleted."""

from __future__ import annotations

import gc

import numpy as np

from PentixaforQuantLib.geometry import VoxelGrid
from PentixaforQuantLib.scene import mrml
from PentixaforQuantLib.scene.mrml import add_suv_volume_node, volume_array


def test_handed_over_array_is_the_node_image_until_the_node_goes(headless):
    grid = VoxelGrid.from_spacing((5, 6, 7), (2.0, 2.0, 3.0), (0.0, 0.0, 0.0))
    suv = np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7)
    expected = suv.copy()
    held_before = len(mrml._SHARED_ARRAYS)
    node = add_suv_volume_node(headless.scene, suv, grid, name="pet", units="{SUVbw}g/ml", copy=False)
    assert np.shares_memory(volume_array(node), suv)
    del suv
    gc.collect()
    np.testing.assert_array_equal(volume_array(node), expected)  # the memory outlives the caller's name
    assert len(mrml._SHARED_ARRAYS) == held_before + 1
    assert node.GetDisplayNode().GetWindow() == 6.0 and not node.GetDisplayNode().GetAutoWindowLevel()
    del node
    headless.scene.Clear(1)
    gc.collect()
    assert len(mrml._SHARED_ARRAYS) == held_before  # released with the image: nothing kept after the volume


def test_an_array_that_cannot_be_shared_is_copied(headless):
    grid = VoxelGrid.from_spacing((2, 3, 4), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    values = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    node = add_suv_volume_node(headless.scene, values, grid, name="pet", units="{SUVbw}g/ml", copy=False)
    assert not np.shares_memory(volume_array(node), values)
    np.testing.assert_array_equal(volume_array(node), values.astype(np.float32))
