"""The layering of the library and the Slicer module, checked statically (no Slicer application needed).

The library is one sub-package per job. ``ALLOWED`` below is the rule: the sub-packages (and the two foundation
modules) each may import from, besides itself. Lower never imports higher; only ``scene`` imports ``slicer`` or
``vtk`` (and the ``web`` face, whose views are Slicer views); nothing imports Qt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "PentixaforQuant" / "PentixaforQuantLib"

FOUNDATION = {"errors", "geometry", "inputs", "interruption", "__version__"}
ALLOWED = {
    "errors": set(),
    "geometry": set(),
    "inputs": set(),
    "interruption": set(),
    "suv": FOUNDATION,
    "measure": FOUNDATION,
    "phantom": FOUNDATION | {"suv", "measure"},
    "outputs": FOUNDATION | {"suv", "measure"},
    "scene": FOUNDATION | {"suv", "measure", "phantom", "outputs"},
    "cohort": FOUNDATION | {"suv", "measure", "phantom", "outputs", "scene"},
    "web": FOUNDATION | {"suv", "measure", "phantom", "outputs", "scene"},
    "cli": FOUNDATION | {"suv", "measure", "phantom", "outputs", "scene", "cohort", "web"},
    "__main__": {"cli"},
    "__init__": set(),
}
MRML_OR_VTK = {"slicer", "vtk", "vtkmodules", "mrml"}
QT = {"qt", "ctk", "PythonQt", "PyQt5", "PyQt6", "PySide2", "PySide6"}

LIBRARY_FILES = sorted(LIB.rglob("*.py"))


def _room(path: Path) -> str:
    """The sub-package (or foundation module) a library file belongs to."""
    rel = path.relative_to(LIB)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import in a library file; relative imports resolved."""
    package = list(path.relative_to(LIB.parent).with_suffix("").parts)[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                if node.module:
                    found.append((node.lineno, module))
                else:  # from . import a, b: each name may be a module
                    found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module or ""))
    return found


def _library_target(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != LIB.name:
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_library_file_is_in_a_known_room():
    rooms = {_room(p) for p in LIBRARY_FILES}
    assert rooms - set(ALLOWED) == set(), "add the new sub-package to ALLOWED here and to docs/architecture.md"


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: str(p.relative_to(LIB)))
def test_imports_follow_the_allowed_directions(path):
    room = _room(path)
    for line, name in _imports(path):
        target = _library_target(name)
        if target is None or target == room:
            continue
        assert target in ALLOWED[room], (
            f"{path.relative_to(LIB)}:{line} imports {name}: {room}/ may import only "
            f"{sorted(ALLOWED[room]) or 'nothing else in the library'}"
        )


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: str(p.relative_to(LIB)))
def test_only_the_scene_imports_mrml_and_nothing_imports_qt(path):
    room = _room(path)
    for line, name in _imports(path):
        top = name.split(".")[0]
        assert top not in QT, f"{path.relative_to(LIB)}:{line} imports {name} (Qt): the library is Qt-free"
        if room not in ("scene", "web"):
            assert top not in MRML_OR_VTK, (
                f"{path.relative_to(LIB)}:{line} imports {name}: only scene/ (and the web face) may import slicer or vtk")


def test_the_rule_catches_a_violation(tmp_path):
    """The checks above see an upward import and an MRML import outside the scene (guards the checker)."""
    bad = LIB / "measure" / "_probe.py"
    source = "from ..scene.logic import StudyLogic\nimport vtk\n"
    imports = [name for _, name in _imports(bad, source)]
    assert f"{LIB.name}.scene.logic" in imports and "vtk" in imports
    assert _library_target(f"{LIB.name}.scene.logic") not in ALLOWED["measure"]


# The Slicer module file, its panel, resources and packaging: Testing/test_slicer_module.py.
