"""The installed versions are the ones the project's requirements promise (the resolver can silently fall back to
trame-slicer 1.x when slicer-core is constrained elsewhere; this catches it)."""

from __future__ import annotations

from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.version import Version


def _requirements(dist: str, extra: str | None = None) -> dict[str, Requirement]:
    out = {}
    for text in metadata.requires(dist) or []:
        req = Requirement(text)
        if req.marker is None or (extra and req.marker.evaluate({"extra": extra})):
            out[req.name] = req
    return out


def test_slicer_core_is_in_the_projects_range():
    installed = metadata.version("slicer-core")
    requirement = _requirements("pentixaforquant")["slicer-core"]
    assert requirement.specifier.contains(installed), f"slicer-core {installed} is outside {requirement}"


def test_trame_slicer_is_2x_on_the_slicer_core_it_asks_for():
    try:
        installed = Version(metadata.version("trame-slicer"))
    except metadata.PackageNotFoundError:
        pytest.skip("the web extra is not installed")
    assert Version("2") <= installed < Version("3"), f"trame-slicer {installed}: the web extra needs 2.x"
    wanted = _requirements("pentixaforquant", "web")["trame-slicer"]
    assert wanted.specifier.contains(str(installed)) and "standalone" in wanted.extras
    needs = _requirements("trame-slicer", "standalone")
    for dist in ("slicer-core", "slicer-layer-dm"):
        version = metadata.version(dist)
        assert needs[dist].specifier.contains(version), f"{dist} {version} does not satisfy {needs[dist]}"
    layer_needs = _requirements("slicer-layer-dm")["slicer-core"]
    assert layer_needs.specifier.contains(metadata.version("slicer-core"))
