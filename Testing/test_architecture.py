"""The layering of the library and the Slicer module, checked statically (no Slicer application needed)."""

from __future__ import annotations

import ast
import py_compile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "PentixaforQuant" / "PentixaforQuantLib"

NUMERICS = {"errors", "geometry", "body_size", "radionuclides", "dicom_time", "dicom_values", "suv", "voi", "metrics",
            "sites", "protocol"}
IO = {"dicom_series", "dicom_writer", "phantom", "points", "results_io", "figures"}
MRML = {"headless", "mrml"}
WORKFLOW = {"logic"}
FACES = {"cli", "bench", "__main__", "__init__"}
LAYER = {**{m: 1 for m in NUMERICS}, **{m: 2 for m in IO}, **{m: 3 for m in MRML}, **{m: 4 for m in WORKFLOW},
         **{m: 5 for m in FACES}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: a library module
                names.add("." + (node.module or ""))
            else:
                names.add(node.module or "")
    return names


def test_every_library_module_has_a_layer():
    modules = {p.stem for p in LIB.glob("*.py")}
    assert modules - set(LAYER) == set(), "add new modules to a layer in this test"


@pytest.mark.parametrize("path", sorted(LIB.glob("*.py")), ids=lambda p: p.stem)
def test_lower_layers_never_import_higher_ones(path):
    layer = LAYER[path.stem]
    for name in _imports(path):
        if name.startswith("."):
            target = name[1:].split(".")[0]
            if target:
                assert LAYER[target] <= layer, f"{path.stem} (layer {layer}) imports {target} (layer {LAYER[target]})"


@pytest.mark.parametrize("path", sorted(LIB.glob("*.py")), ids=lambda p: p.stem)
def test_library_is_qt_free(path):
    top = {n.split(".")[0] for n in _imports(path)}
    assert not top & {"qt", "ctk", "PythonQt"}, f"{path.name} imports Qt"
    if LAYER[path.stem] <= 2:
        assert not top & {"slicer", "vtk", "vtkmodules"}, f"{path.name} (numerics/I-O) imports MRML or VTK"


def test_slicer_module_file_compiles_and_follows_the_template():
    module = ROOT / "PentixaforQuant" / "PentixaforQuant.py"
    py_compile.compile(str(module), doraise=True)
    classes = {n.name for n in ast.parse(module.read_text(encoding="utf-8")).body if isinstance(n, ast.ClassDef)}
    assert {"PentixaforQuant", "PentixaforQuantLogic", "PentixaforQuantTest"} <= classes


def test_module_cmake_lists_the_module_and_its_resources():
    cmake = (ROOT / "PentixaforQuant" / "CMakeLists.txt").read_text(encoding="utf-8")
    assert "slicerMacroBuildScriptedModule" in cmake and "slicer_add_python_unittest" in cmake
    for resource in ("Resources/Icons/${MODULE_NAME}.png", "Resources/requirements.txt"):
        assert resource in cmake
        assert (ROOT / resource.replace("${MODULE_NAME}", "PentixaforQuant")).is_file()
