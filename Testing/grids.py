"""Grid helpers shared by the tests."""

from __future__ import annotations

import numpy as np


def rotation(axis, degrees) -> np.ndarray:
    """3x3 rotation about ``axis`` by ``degrees`` (Rodrigues' formula)."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    a = np.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k


#: Direction matrix of an oblique acquisition (columns: i, j, k axes in RAS).
OBLIQUE = rotation([0, 0, 1], 30) @ rotation([1, 0, 0], 20)
