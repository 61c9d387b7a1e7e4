"""The Segment Statistics plugin, checked statically (it needs Slicer's SegmentStatistics module to run; the
module self-test runs it there). Its numbers and codes come from library code tested headless
(Testing/measure/test_segment_metrics.py)."""

from __future__ import annotations

import ast
import py_compile
from pathlib import Path

from PentixaforQuantLib.outputs.dicom_codes import SEGMENT_STATISTICS_KEYS

ROOT = Path(__file__).resolve().parents[1]
MODULE_DIR = ROOT / "PentixaforQuant"
PACKAGE = MODULE_DIR / "PentixaforQuantSegmentStatistics"
PLUGIN = PACKAGE / "SUVSegmentStatisticsPlugin.py"
CLASS = "PentixaforQuantSUVSegmentStatisticsPlugin"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)


def test_plugin_lives_in_a_sub_package_not_at_the_top_of_the_module_folder():
    assert (PACKAGE / "__init__.py").is_file()
    # Slicer loads every top-level .py of a module folder as a module: only the module file may be there.
    assert [p.name for p in MODULE_DIR.glob("*.py")] == ["PentixaforQuant.py"]
    cmake = (MODULE_DIR / "CMakeLists.txt").read_text(encoding="utf-8")
    for path in sorted(PACKAGE.glob("*.py")):
        assert f"${{MODULE_NAME}}SegmentStatistics/{path.name}" in cmake, f"{path.name} missing in CMakeLists.txt"


def test_plugin_compiles_and_subclasses_the_segment_statistics_base():
    py_compile.compile(str(PLUGIN), doraise=True)
    tree = _tree(PLUGIN)
    imports = {(n.module, a.name) for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert ("SegmentStatisticsPlugins", "SegmentStatisticsPluginBase") in imports
    cls = _class(tree, CLASS)
    assert [b.id for b in cls.bases if isinstance(b, ast.Name)] == ["SegmentStatisticsPluginBase"]
    methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    assert {"__init__", "computeStatistics", "getMeasurementInfo"} <= methods
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assigned = {t.attr for n in ast.walk(init) if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"}
    assert {"name", "title", "keys", "defaultKeys"} <= assigned
    # The keys are the library's keys (each with codes, tested headless), not a second list.
    keys = next(n for n in ast.walk(init) if isinstance(n, ast.Assign) and any(
        isinstance(t, ast.Attribute) and t.attr == "keys" for t in n.targets))
    assert "SEGMENT_STATISTICS_KEYS" in ast.unparse(keys.value)
    assert all("." not in spec.key for spec in SEGMENT_STATISTICS_KEYS)


def test_measurement_info_always_has_quantity_and_units_codes():
    """QuantitativeReporting reads DICOM.QuantityCode and DICOM.UnitsCode without a fallback."""
    cls = _class(_tree(PLUGIN), CLASS)
    info = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "getMeasurementInfo")
    dict_keys = {k.value for n in ast.walk(info) if isinstance(n, ast.Dict) for k in n.keys
                 if isinstance(k, ast.Constant)}
    assert {"name", "description", "units", "DICOM.QuantityCode", "DICOM.UnitsCode"} <= dict_keys
    source = ast.unparse(info)
    assert "DICOM.DerivationCode" in source and "DICOM.MeasurementMethodCode" in source
    assert "segment_statistic_info" in source


def test_plugin_does_not_import_the_library_numerics_at_module_level():
    """Registration must not fail when scipy is not installed yet: the library's numerics are imported on use."""
    tree = _tree(PLUGIN)
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert not any(m and m.startswith("PentixaforQuantLib.measure") for m in top)
    assert not any(m and m.split(".")[0] in {"qt", "ctk"} for m in top)


def test_module_registers_the_plugin_after_startup():
    tree = _tree(MODULE_DIR / "PentixaforQuant.py")
    register = next(n for n in tree.body
                    if isinstance(n, ast.FunctionDef) and n.name == "registerSegmentStatisticsPlugin")
    assert "SegmentStatisticsLogic.registerPlugin" in ast.unparse(register)
    assert CLASS in ast.unparse(register)
    module_init = next(n for n in _class(tree, "PentixaforQuant").body if isinstance(n, ast.FunctionDef)
                       and n.name == "__init__")
    assert 'connect("startupCompleted()", registerSegmentStatisticsPlugin)' in ast.unparse(module_init).replace(
        "'", '"')
