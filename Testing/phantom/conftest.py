"""Fixtures of the phantom tests."""

from __future__ import annotations

import pytest

from PentixaforQuantLib.phantom import make_phantom

from phantom_cases import GRIDS


@pytest.fixture(scope="session")
def phantoms():
    """The default phantom sampled on every grid of ``phantom_cases.GRIDS``, built once."""
    return {name: make_phantom(opt) for name, opt in GRIDS.items()}
