"""Static checks of the Slicer module, panel and packaging (the Slicer desktop cannot run here).

The eight checks of ``reference/slicer-panel.md`` §6 with the standard library (xml.etree, ast, re, py_compile)
and jsonschema; no stand-ins for qt, ctk or slicer. Each check is a function returning its problems (one line
each), so the guard tests at the end can show that a check does catch what it is for.
"""

from __future__ import annotations

import ast
import json
import py_compile
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE_DIR = ROOT / "PentixaforQuant"
MODULE_FILE = MODULE_DIR / "PentixaforQuant.py"
RESOURCES = MODULE_DIR / "Resources"
UI_FILE = RESOURCES / "UI" / "PentixaforQuant.ui"
CATALOG_ENTRY = ROOT / "PentixaforQuant.json"
NAME = "PentixaforQuant"

# ---------------------------------------------------------------------------------------------- class lists
#: Qt Designer classes used in Slicer's .ui files, plus the Designer pseudo-element Line.
QT_CLASSES = {
    "QWidget", "QFrame", "QGroupBox", "QLabel", "QPushButton", "QToolButton", "QCheckBox", "QRadioButton",
    "QComboBox", "QSpinBox", "QDoubleSpinBox", "QLineEdit", "QTextEdit", "QPlainTextEdit", "QTextBrowser",
    "QTableWidget", "QTableView", "QTreeWidget", "QTreeView", "QListWidget", "QListView", "QTabWidget",
    "QStackedWidget", "QScrollArea", "QProgressBar", "QSlider", "QSplitter", "QDialogButtonBox", "QToolBox",
    "QDateTimeEdit", "Line",
}
LAYOUTS = {"QVBoxLayout", "QHBoxLayout", "QFormLayout", "QGridLayout", "QStackedLayout"}
#: Classes with a Qt Designer plugin in Slicer (DesignerPlugins/*Plugin.h) or CTK (Libs/*/Plugins).
SLICER_CTK_CLASSES = {
    "qMRMLWidget", "qSlicerWidget", "qMRMLNodeComboBox", "qMRMLCheckableNodeComboBox", "qMRMLSliderWidget",
    "qMRMLSpinBox", "qMRMLRangeWidget", "qMRMLTableView", "qMRMLSubjectHierarchyTreeView",
    "qMRMLSubjectHierarchyComboBox", "qMRMLSegmentSelectorWidget", "qMRMLSegmentsTableView",
    "qMRMLSegmentEditorWidget", "qMRMLSegmentationShow3DButton", "qMRMLSegmentationDisplayNodeWidget",
    "qSlicerSimpleMarkupsWidget", "qSlicerMarkupsPlaceWidget", "qMRMLMarkupsROIWidget",
    "qMRMLMarkupsDisplayNodeWidget", "qMRMLCoordinatesWidget", "qMRMLColorTableComboBox", "qMRMLLabelComboBox",
    "qMRMLWindowLevelWidget", "qMRMLVolumeThresholdWidget", "qMRMLVolumeInfoWidget", "qMRMLCollapsibleButton",
    "qMRMLListWidget", "qMRMLMatrixWidget", "qMRMLLinearTransformSlider", "qMRMLTransformSliders",
    "qMRMLPlotWidget", "qMRMLTextWidget", "qSlicerCLIProgressBar", "qSlicerPresetComboBox",
    "qSlicerScalarVolumeDisplayWidget", "qSlicerVolumeDisplayWidget", "qSlicerTerminologyNavigatorWidget",
    "ctkCollapsibleButton", "ctkCollapsibleGroupBox", "ctkSliderWidget", "ctkRangeWidget", "ctkDoubleSlider",
    "ctkDoubleRangeSlider", "ctkRangeSlider", "ctkDoubleSpinBox", "ctkCheckBox", "ctkComboBox",
    "ctkCheckableComboBox", "ctkCheckablePushButton", "ctkPushButton", "ctkMenuButton", "ctkExpandButton",
    "ctkPathLineEdit", "ctkDirectoryButton", "ctkColorPickerButton", "ctkExpandableWidget",
    "ctkFittedTextBrowser", "ctkSearchBox", "ctkCoordinatesWidget", "ctkMatrixWidget", "ctkTreeComboBox",
    "ctkPopupWidget", "ctkSplitter", "ctkDynamicSpacer", "ctkVTKThresholdWidget", "ctkVTKScalarsToColorsWidget",
}
#: Parameter-node GUI connectors of Slicer 5.10 (the lowest supported version): widget class -> field kinds.
#: "choice" = int/float/str/bool with a Choice annotation (or an Enum); "node" = an MRML node class.
CONNECTORS_5_10 = {
    "QCheckBox": {"bool"}, "ctkCheckBox": {"bool"}, "QPushButton": {"bool"}, "ctkCheckablePushButton": {"bool"},
    "QSlider": {"int"}, "QSpinBox": {"int"},
    **{c: {"float", "int"} for c in ("QDoubleSpinBox", "ctkSliderWidget", "qMRMLSliderWidget", "ctkDoubleSlider",
                                      "ctkDoubleSpinBox", "qMRMLSpinBox")},
    "QComboBox": {"choice"}, "ctkComboBox": {"choice"},
    "QLineEdit": {"str"}, "QTextEdit": {"str"}, "QLabel": {"str"},
    "ctkRangeWidget": {"FloatRange"}, "ctkDoubleRangeSlider": {"FloatRange"}, "qMRMLRangeWidget": {"FloatRange"},
    "ctkPathLineEdit": {"path"}, "ctkDirectoryButton": {"path"}, "ctkColorPickerButton": {"QColor"},
    "qMRMLNodeComboBox": {"node"}, "qMRMLSubjectHierarchyTreeView": {"node"},
    "qMRMLSubjectHierarchyComboBox": {"node"}, "qSlicerSimpleMarkupsWidget": {"node"},
}
#: Connectors that raise on an unbounded float/int field.
NEEDS_RANGE = {"ctkSliderWidget", "QSlider"}
NO_CONNECTOR = {"qSlicerMarkupsPlaceWidget", "qMRMLTableView", "ctkCollapsibleButton", "qMRMLSegmentEditorWidget"}
#: Categories the extension index accepts (those that fit this extension).
ACCEPTED_CATEGORIES = {"Quantification", "Nuclear Medicine", "Segmentation", "Informatics", "Converters"}

#: The extension catalog entry schema v1.0.2 (Slicer/Schemas), as its constraints are documented: required keys,
#: no other keys, the types, the scm_type values and the tier range.
CATALOG_SCHEMA_V1_0_2 = {
    "type": "object",
    "required": ["$schema", "category", "scm_url"],
    "additionalProperties": False,
    "properties": {
        "$schema": {"type": "string"},
        "category": {"type": "string"},
        "scm_url": {"type": "string"},
        "scm_revision": {"type": "string"},
        "scm_type": {"type": "string", "enum": ["git", "local"]},
        "build_dependencies": {"type": "array", "items": {"type": "string"}},
        "dicom_support_rule": {"type": "string"},
        "build_subdirectory": {"type": "string"},
        "enabled": {"type": "boolean"},
        "tier": {"type": "integer", "minimum": 1, "maximum": 5},
    },
}


# ---------------------------------------------------------------------------------------------- readers
def ui_widgets(root: ET.Element) -> list[ET.Element]:
    return list(root.iter("widget"))


def ui_bindings(root: ET.Element) -> dict[str, tuple[str, str]]:
    """SlicerParameterName -> (widget name, widget class)."""
    out = {}
    for w in ui_widgets(root):
        for p in w.findall("property"):
            if p.get("name") == "SlicerParameterName":
                out[p.findtext("string")] = (w.get("name"), w.get("class"))
    return out


def _annotation_kind(node: ast.expr) -> tuple[str, dict]:
    """(base type name, annotations) of a wrapper field annotation."""
    extras: dict = {}
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Annotated":
        base, *rest = node.slice.elts
        for extra in rest:
            if isinstance(extra, ast.Call) and isinstance(extra.func, ast.Name):
                extras[extra.func.id] = [ast.literal_eval(a) for a in extra.args]
        node = base
    if isinstance(node, ast.Name):
        return node.id, extras
    return ast.unparse(node), extras


def wrapper_fields(tree: ast.Module) -> dict[str, dict]:
    """Fields of the ``@parameterNodeWrapper`` class: name -> {type, kind, choices, range, default}."""
    classes = [c for c in tree.body if isinstance(c, ast.ClassDef)
               and any(isinstance(d, ast.Name) and d.id == "parameterNodeWrapper" for d in c.decorator_list)]
    assert len(classes) == 1, "exactly one @parameterNodeWrapper class"
    from PentixaforQuantLib.scene import panel_choices

    enums = {e.__name__: e for e in panel_choices.CHOICE_ENUMS.values()}
    fields = {}
    for stmt in classes[0].body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            base, extras = _annotation_kind(stmt.annotation)
            kind = "node" if base.startswith("vtkMRML") else base
            if "Choice" in extras:
                kind = "choice"
            choices = tuple(extras["Choice"][0]) if "Choice" in extras else ()
            if base in enums:  # an enum of scene.panel_choices: Enum.member or Enum["member"]; the name is stored
                kind, enum_type = "choice", enums[base]
                choices = tuple(m.value for m in enum_type)
                default = enum_type[stmt.value.attr if isinstance(stmt.value, ast.Attribute)
                                    else ast.literal_eval(stmt.value.slice)].value
            else:
                default = ast.literal_eval(stmt.value) if stmt.value is not None else None
            fields[stmt.target.id] = {
                "type": enums[base].__name__ if base in enums else base, "kind": kind, "choices": choices,
                "enum": enums.get(base),
                "range": tuple(extras["WithinRange"]) if "WithinRange" in extras else None,
                "default": default,
            }
    return fields


def ui_attribute_names(tree: ast.Module) -> set[str]:
    """Every ``self.ui.<name>`` in the module."""
    names = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "ui"
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "self"):
            names.add(node.attr)
    return names


def cmake_list(cmake: str, variable: str) -> list[str]:
    m = re.search(rf"set\({variable}\s+(.*?)\)", cmake, re.S)
    assert m, f"set({variable} ...) not found"
    body = re.sub(r"#[^\n]*", "", m.group(1))  # CMake comments run to the end of the line
    return body.split()


# ---------------------------------------------------------------------------------------------- checks
def check_ui_structure(root: ET.Element) -> list[str]:
    """1. root <ui version="4.0">, <class> = module name, top widget qMRMLWidget named like the module."""
    problems = []
    if root.tag != "ui" or root.get("version") != "4.0":
        problems.append("root element is not <ui version=\"4.0\">")
    if root.findtext("class") != NAME:
        problems.append(f"<class> is {root.findtext('class')!r}, not {NAME!r}")
    top = root.find("widget")
    if top is None or top.get("class") != "qMRMLWidget" or top.get("name") != NAME:
        problems.append("the top widget must be a qMRMLWidget named like the module")
    return problems


def check_ui_classes(root: ET.Element) -> list[str]:
    """2. every widget class is a Designer class or a declared custom widget from Slicer/CTK; layouts known."""
    problems = []
    custom = {}
    for cw in root.iter("customwidget"):
        cls, extends, header = cw.findtext("class"), cw.findtext("extends"), cw.findtext("header")
        custom[cls] = extends
        if cls not in SLICER_CTK_CLASSES:
            problems.append(f"custom widget {cls} is not a Slicer or CTK designer class")
        if header != f"{cls}.h":
            problems.append(f"custom widget {cls} has header {header!r}, not {cls}.h")
        if extends not in QT_CLASSES | SLICER_CTK_CLASSES:
            problems.append(f"custom widget {cls} extends the unknown class {extends!r}")
    for w in ui_widgets(root):
        cls = w.get("class")
        if cls not in QT_CLASSES and cls not in custom:
            problems.append(f"widget {w.get('name')} has class {cls}, neither a Qt Designer class nor declared")
    for lay in root.iter("layout"):
        if lay.get("class") not in LAYOUTS:
            problems.append(f"layout {lay.get('name')} has the unknown class {lay.get('class')}")
    return problems


def check_ui_names(root: ET.Element, used: set[str]) -> list[str]:
    """3. names unique and identifiers; every ``self.ui.<name>`` names a widget or layout of the .ui."""
    problems = []
    names = [e.get("name") for e in (*root.iter("widget"), *root.iter("layout")) if e.get("name")]
    for name in names:
        if not name.isidentifier():
            problems.append(f"{name!r} is not a Python identifier")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"names used twice: {duplicates}")
    problems += [f"self.ui.{name} is not in the .ui" for name in sorted(used - set(names))]
    return problems


def check_bindings(root: ET.Element, fields: dict[str, dict]) -> list[str]:
    """4. every SlicerParameterName names a wrapper field with a connector for its (widget, type) on 5.10."""
    problems = []
    for param, (widget, cls) in ui_bindings(root).items():
        if param not in fields:
            problems.append(f"{widget} binds {param!r}, which is no field of the parameter node (ValueError)")
            continue
        if cls in NO_CONNECTOR:
            problems.append(f"{widget} ({cls}) has no GUI connector; do not bind it")
            continue
        kind = fields[param]["kind"]
        if kind not in CONNECTORS_5_10.get(cls, set()):
            problems.append(f"{widget} ({cls}) cannot show a {fields[param]['type']} field {param!r} on "
                            f"Slicer 5.10 (RuntimeError)")
        if cls in NEEDS_RANGE and fields[param]["range"] is None:
            problems.append(f"{widget} ({cls}) needs a WithinRange annotation on {param!r}")
    return problems


def check_scene_wiring(root: ET.Element, module_source: str) -> list[str]:
    """5. every qMRML*/qSlicer* widget gets the scene: a mrmlSceneChanged -> setMRMLScene connection or Python."""
    connected = {c.findtext("receiver") for c in root.iter("connection")
                 if c.findtext("sender") == NAME and c.findtext("signal") == "mrmlSceneChanged(vtkMRMLScene*)"
                 and c.findtext("slot") == "setMRMLScene(vtkMRMLScene*)"}
    problems = []
    for w in ui_widgets(root)[1:]:
        name, cls = w.get("name"), w.get("class")
        if cls.startswith(("qMRML", "qSlicer")) and name not in connected \
                and f"self.ui.{name}.setMRMLScene(" not in module_source:
            problems.append(f"{name} ({cls}) never gets the MRML scene")
    return problems


WIDGET_METHODS = {"setup", "cleanup", "enter", "exit", "onSceneStartClose", "onSceneEndClose",
                  "initializeParameterNode", "setParameterNode"}


def check_module_file(tree: ast.Module) -> list[str]:
    """6. the template's classes and methods; exit disconnects the GUI; nothing installs packages at import."""
    problems = []
    classes = {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}
    bases = {name: [ast.unparse(b) for b in c.bases] for name, c in classes.items()}
    expected = {NAME: ["ScriptedLoadableModule"],
                f"{NAME}Widget": ["ScriptedLoadableModuleWidget", "VTKObservationMixin"],
                f"{NAME}Logic": ["ScriptedLoadableModuleLogic"], f"{NAME}Test": ["ScriptedLoadableModuleTest"]}
    for name, want in expected.items():
        if bases.get(name) != want:
            problems.append(f"class {name}({', '.join(want)}) missing (found {bases.get(name)})")
    widget = classes.get(f"{NAME}Widget")
    if widget is not None:
        methods = {f.name: f for f in widget.body if isinstance(f, ast.FunctionDef)}
        problems += [f"{NAME}Widget.{m} missing" for m in sorted(WIDGET_METHODS - set(methods))]
        if "exit" in methods and "disconnectGui" not in ast.unparse(methods["exit"]):
            problems.append(f"{NAME}Widget.exit does not call disconnectGui")
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and "pip" in ast.unparse(stmt.value.func):
            problems.append(f"line {stmt.lineno}: packages installed at import")
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            module = stmt.module if isinstance(stmt, ast.ImportFrom) else stmt.names[0].name
            if module and module.startswith("PentixaforQuantLib") and module not in (
                    "PentixaforQuantLib.scene.panel_parameters", "PentixaforQuantLib.scene.panel_choices"):
                problems.append(f"line {stmt.lineno}: imports {module} at import time (needs scipy, installed on "
                                "consent); import it where it is used")
    return problems


def check_library_calls(tree: ast.Module, controller, study_logic) -> list[str]:
    """6b. every attribute the module file uses on the panel controller (``c`` and ``controller`` in the widget,
    ``self._controller``) and on the ``StudyLogic`` (``self.study`` in the Logic) exists there, so a renamed
    method fails here and not on a click in Slicer."""
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("c", "controller") or (
                isinstance(owner, ast.Attribute) and owner.attr == "_controller"):
            target, what = controller, "PanelController"
        elif isinstance(owner, ast.Attribute) and owner.attr == "study" and isinstance(owner.value, ast.Name) \
                and owner.value.id == "self":
            target, what = study_logic, "StudyLogic"
        else:
            continue
        if not hasattr(target, node.attr):
            problems.append((node.lineno, f"line {node.lineno}: {what} has no attribute {node.attr!r}"))
    return [problem for _, problem in sorted(problems)]


def check_resources(module_tree: ast.Module, cmake: str) -> list[str]:
    """7. resourcePath files exist beside the module; CMake lists exist, stay inside the module, cover everything."""
    problems = []
    for node in ast.walk(module_tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "resourcePath":
            path = ast.literal_eval(node.args[0])
            if not (RESOURCES / path).is_file():
                problems.append(f"resourcePath({path!r}) is not in PentixaforQuant/Resources/")
    if not (RESOURCES / "Icons" / f"{NAME}.png").is_file():
        problems.append("the module icon PentixaforQuant/Resources/Icons/PentixaforQuant.png is missing")
    listed = [e.replace("${MODULE_NAME}", NAME) for e in
              cmake_list(cmake, "MODULE_PYTHON_SCRIPTS") + cmake_list(cmake, "MODULE_PYTHON_RESOURCES")]
    for entry in listed:
        if entry.startswith("${"):
            continue
        if entry.startswith("../"):
            problems.append(f"{entry} starts with ../ and would land outside the package")
        elif not (MODULE_DIR / entry).is_file():
            problems.append(f"{entry} is listed in PentixaforQuant/CMakeLists.txt but does not exist")
    for path in RESOURCES.rglob("*"):
        if path.is_file() and path.relative_to(MODULE_DIR).as_posix() not in listed:
            problems.append(f"{path.relative_to(MODULE_DIR).as_posix()} is not listed in MODULE_PYTHON_RESOURCES")
    if 'GLOB_RECURSE MODULE_LIB_SCRIPTS RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} "${MODULE_NAME}Lib/*.py"' not in cmake:
        problems.append("the library's .py files are not globbed into MODULE_PYTHON_SCRIPTS")
    for path in MODULE_DIR.rglob("*.py"):  # e.g. a Segment Statistics plugin sub-package must be listed too
        rel = path.relative_to(MODULE_DIR).as_posix()
        if rel.count("/") and not rel.startswith(f"{NAME}Lib/") and rel not in listed:
            problems.append(f"{rel} is not listed in MODULE_PYTHON_SCRIPTS (it would be missing from the package)")
    extra = sorted(p.name for p in MODULE_DIR.glob("*.py") if p.name != f"{NAME}.py")
    if extra:
        problems.append(f"{extra} at the top of PentixaforQuant/ would each load as a Slicer module")
    return problems


def _raw_url_file(url: str) -> Path | None:
    m = re.fullmatch(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/[^/]+/(.+)", url)
    return ROOT / m.group(1) if m else None


def check_catalog(cmake: str, entry_bytes: bytes) -> list[str]:
    """8. what the extension index bot checks: project name, icon and screenshot URLs to files in the repository,
    LICENSE, and a catalog entry that validates against schema v1.0.2 with LF line endings."""
    import jsonschema

    problems = []
    project = re.search(r"project\((\w+)", cmake)
    if not project or project.group(1) != NAME:
        problems.append(f"project() is not {NAME}")
    for variable in ("EXTENSION_ICONURL", "EXTENSION_SCREENSHOTURLS"):
        m = re.search(rf'set\({variable}\s+"([^"]+)"\)', cmake)
        if not m:
            problems.append(f"No {variable} found in CMakeLists.txt (a non-empty quoted value is needed)")
            continue
        for url in m.group(1).split():
            path = _raw_url_file(url)
            if path is None:
                problems.append(f"{variable} {url} is not a raw.githubusercontent.com URL")
            elif not path.is_file() or path.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
                problems.append(f"{variable} {url} names no PNG in the repository")
    if not (ROOT / "LICENSE").is_file():
        problems.append("LICENSE is missing at the top of the repository")
    if b"\r" in entry_bytes:
        problems.append("the catalog entry has CR line endings (the index wants LF)")
    entry = json.loads(entry_bytes)
    validator = jsonschema.Draft7Validator(CATALOG_SCHEMA_V1_0_2)
    problems += [f"catalog entry: {e.message}" for e in validator.iter_errors(entry)]
    if not str(entry.get("$schema", "")).endswith("slicer-extension-catalog-entry-schema-v1.0.2.json#"):
        problems.append("catalog entry $schema is not v1.0.2")
    if entry.get("category") not in ACCEPTED_CATEGORIES:
        problems.append(f"category {entry.get('category')!r} is not an accepted one")
    repo = str(entry.get("scm_url", "")).rstrip("/").removesuffix(".git").rsplit("/", 1)[-1]
    if not re.match(r"^Slicer([-_]|[A-Z])", repo):
        problems.append(f"repository name {repo!r} must start with Slicer, Slicer- or Slicer_")
    homepage = re.search(r'set\(EXTENSION_HOMEPAGE\s+"([^"]+)"\)', cmake)
    if homepage and not str(entry.get("scm_url", "")).startswith(homepage.group(1)):
        problems.append("scm_url and EXTENSION_HOMEPAGE name different repositories")
    return problems


# ---------------------------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def ui_root() -> ET.Element:
    return ET.parse(UI_FILE).getroot()  # also check 1: it parses


@pytest.fixture(scope="module")
def module_tree() -> ast.Module:
    py_compile.compile(str(MODULE_FILE), doraise=True)  # check 6: it compiles
    return ast.parse(MODULE_FILE.read_text(encoding="utf-8"))


def test_ui_parses_with_the_template_structure(ui_root):
    assert check_ui_structure(ui_root) == []


def test_ui_uses_only_real_qt_ctk_and_slicer_classes(ui_root):
    assert check_ui_classes(ui_root) == []


def test_every_self_ui_name_exists_in_the_ui(ui_root, module_tree):
    from PentixaforQuantLib.scene.panel_parameters import SITE_WIDGET_NAMES

    used = ui_attribute_names(module_tree)
    for part in SITE_WIDGET_NAMES.values():  # the site rows are reached with getattr(self.ui, ...)
        used |= {f"place{part}Button", f"clear{part}Button", f"jump{part}Button",
                 f"{part[0].lower()}{part[1:]}StatusLabel", f"{part[0].lower()}{part[1:]}TitleLabel"}
    assert len(used) > 40
    assert check_ui_names(ui_root, used) == []


def test_every_binding_names_a_field_with_a_connector_on_slicer_5_10(ui_root, module_tree):
    fields = wrapper_fields(module_tree)
    assert check_bindings(ui_root, fields) == []
    unbound = set(fields) - set(ui_bindings(ui_root))
    assert unbound == {"pointsNode"}  # the points list is the controller's, not a choice in the panel


def test_the_wrapper_fields_are_the_controllers_parameters(module_tree):
    """The widget's parameter node and the panel controller read and write the same fields: the hand-written
    wrapper is held against the table of inputs (``inputs.py``), from which ``PARAMETERS`` is made."""
    from PentixaforQuantLib.scene.panel_parameters import NODE_REFERENCES, PARAMETERS

    fields = wrapper_fields(module_tree)
    assert set(fields) == set(PARAMETERS) | set(NODE_REFERENCES)
    for name in NODE_REFERENCES:
        assert fields[name]["kind"] == "node"
    for name, p in PARAMETERS.items():
        f = fields[name]
        if f["enum"] is not None:  # the wrapper stores the member name: it must be the text the controller stores
            assert [m.name for m in f["enum"]] == [p.to_text(c) for c in p.choices], name
        else:
            assert f["type"] == p.type.__name__, name
        assert (f["default"], f["choices"], f["range"]) == (p.default, p.choices, p.range), name
        assert p.tooltip, f"{name} has no definition for its tooltip"


def test_every_combo_box_shows_readable_labels(ui_root, module_tree):
    """Every choice is an enum with a label() (what Slicer's combo-box connector shows) that is not the stored
    identifier, and the .ui lists the same labels in the same order (what the panel shows before binding)."""
    fields = wrapper_fields(module_tree)
    combos = {param: widget for param, (widget, cls) in ui_bindings(ui_root).items() if cls == "QComboBox"}
    assert combos and set(combos) == {name for name, f in fields.items() if f["kind"] == "choice"}
    for param, widget_name in combos.items():
        enum_type = fields[param]["enum"]
        assert enum_type is not None, f"{param} is a plain Choice: Slicer would show str(value)"
        labels = [m.label() for m in enum_type]
        assert all(label and label != m.name for label, m in zip(labels, enum_type) if not m.name.isdigit()), param
        widget = next(w for w in ui_widgets(ui_root) if w.get("name") == widget_name)
        assert [i.findtext("property/string") for i in widget.findall("item")] == labels, widget_name


def test_every_mrml_widget_gets_the_scene(ui_root):
    assert check_scene_wiring(ui_root, MODULE_FILE.read_text(encoding="utf-8")) == []


def test_module_file_has_the_template_classes_and_methods(module_tree):
    assert check_module_file(module_tree) == []
    ast.parse(MODULE_FILE.read_text(encoding="utf-8"), feature_version=(3, 10))  # oldest Python we support


def test_what_the_module_calls_exists_in_the_library(module_tree, headless):
    from PentixaforQuantLib.scene.panel import PanelController

    controller = PanelController(headless.scene)
    try:
        # The widget's view is scene/panel_view.py (shared with the panel render test): checked the same way.
        view_tree = ast.parse((MODULE_DIR / "PentixaforQuantLib" / "scene" / "panel_view.py").read_text("utf-8"))
        used = {n.attr for tree in (module_tree, view_tree) for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name) and n.value.id in ("c", "controller")}
        assert {"apply_overrides", "clear_site", "site_statuses", "suv_refusal", "results_table"} <= used
        assert check_library_calls(module_tree, controller, controller.logic) == []
        assert check_library_calls(view_tree, controller, controller.logic) == []
    finally:
        controller.close()


def test_panel_parameters_need_only_the_standard_library():
    """The module file imports them before scipy and scikit-image are installed; they are made from the table of
    inputs (``inputs.py``) and of sites (``measure/sites.py``) and raise the project's errors (``errors.py``), which
    need only the standard library too; so do the choice enums, the panel's texts and its view."""
    lib = MODULE_DIR / "PentixaforQuantLib"
    for path in (lib / "scene" / "panel_parameters.py", lib / "inputs.py", lib / "errors.py",
                 lib / "measure" / "sites.py", lib / "scene" / "panel_choices.py", lib / "scene" / "panel_text.py",
                 lib / "scene" / "panel_view.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        absolute = {(n.module if isinstance(n, ast.ImportFrom) else a.name).split(".")[0]
                    for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                    and not (isinstance(n, ast.ImportFrom) and n.level) for a in n.names}
        relative = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level}
        assert absolute <= {"__future__", "dataclasses", "datetime", "enum", "math", "re"}, path.name
        assert relative <= {"errors", "inputs", "measure.sites", "panel_parameters", "panel_text"}, path.name


def test_what_the_module_and_the_plugin_import_before_scipy_is_installed_needs_no_scipy():
    """``scene.mrml.volume_suv_units``, the Segment Statistics codes, the panel view and the choice enums are used
    before the consented install."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('scipy', 'skimage'):\n"
        "            raise ImportError(f'{name} is not installed')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import PentixaforQuantLib.scene.mrml, PentixaforQuantLib.outputs.dicom_codes\n"
        "import PentixaforQuantLib.scene.panel_view, PentixaforQuantLib.scene.panel_choices\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=MODULE_DIR, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_resources_are_found_from_the_module_folder_and_in_a_package(module_tree):
    cmake = (MODULE_DIR / "CMakeLists.txt").read_text(encoding="utf-8")
    assert "slicerMacroBuildScriptedModule" in cmake and "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in cmake
    assert check_resources(module_tree, cmake) == []


def test_the_extension_is_ready_for_the_catalog():
    cmake = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    assert check_catalog(cmake, CATALOG_ENTRY.read_bytes()) == []
    entry = json.loads(CATALOG_ENTRY.read_bytes())
    assert entry["dicom_support_rule"] == "Modality == 'PT'" and entry["category"] == "Quantification"
    # The catalog shows the panel first: the screenshot the panel render test's code draws (docs/images/panel.png).
    shots = re.search(r'set\(EXTENSION_SCREENSHOTURLS\s+"([^"]+)"\)', cmake).group(1).split()
    assert shots[0].endswith("/docs/images/panel.png")
    assert "![" in (ROOT / "README.md").read_text(encoding="utf-8").split("docs/images/panel.png")[0][-200:]


def test_readme_explains_install_and_use_with_the_panel_sections(ui_root):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Install in Slicer" in readme and "## Use it" in readme
    use = readme.split("## Use it", 1)[1].split("\n## ", 1)[0]
    sections = [w.findtext("property/string") for w in ui_widgets(ui_root) if w.get("class") == "ctkCollapsibleButton"]
    assert sections == ["Input", "SUV inputs", "Sites", "Parameters", "Results", "Display"]
    for section in sections:
        assert f"**{section}**" in use, f"README 'Use it' does not name the panel section {section}"


# ---------------------------------------------------------------------------------------------- guards
BAD_UI = f"""<ui version="4.0"><class>{NAME}</class>
 <widget class="qMRMLWidget" name="{NAME}"><layout class="QVBoxLayout" name="l">
  <item><widget class="qMRMLNodeComboBox" name="volumeSelector">
   <property name="SlicerParameterName" stdset="0"><string>noSuchField</string></property></widget></item>
  <item><widget class="qMRMLTableView" name="table">
   <property name="SlicerParameterName" stdset="0"><string>petVolume</string></property></widget></item>
  <item><widget class="ctkSliderWidget" name="slider">
   <property name="SlicerParameterName" stdset="0"><string>unbounded</string></property></widget></item>
  <item><widget class="QComboBox" name="combo">
   <property name="SlicerParameterName" stdset="0"><string>plainText</string></property></widget></item>
  <item><widget class="qMRMLMagicWidget" name="volumeSelector"/></item>
  <item><widget class="QLabel" name="1label"/></item>
 </layout></widget>
 <customwidgets><customwidget><class>qMRMLNodeComboBox</class><extends>QWidget</extends>
  <header>wrong.h</header></customwidget></customwidgets>
</ui>"""


def test_the_checks_catch_what_they_are_for():
    root = ET.fromstring(BAD_UI)
    fields = {"petVolume": {"type": "vtkMRMLScalarVolumeNode", "kind": "node", "range": None},
              "unbounded": {"type": "float", "kind": "float", "range": None},
              "plainText": {"type": "str", "kind": "str", "range": None}}
    classes = check_ui_classes(root)
    assert any("qMRMLMagicWidget" in p for p in classes) and any("wrong.h" in p for p in classes)
    names = check_ui_names(root, {"volumeSelector", "missingButton"})
    assert any("used twice" in p for p in names) and any("'1label'" in p for p in names)
    assert "self.ui.missingButton is not in the .ui" in names
    bindings = " | ".join(check_bindings(root, fields))
    assert "noSuchField" in bindings and "no GUI connector" in bindings and "WithinRange" in bindings
    assert "cannot show a str field 'plainText'" in bindings
    assert check_scene_wiring(root, "") == ["volumeSelector (qMRMLNodeComboBox) never gets the MRML scene",
                                            "table (qMRMLTableView) never gets the MRML scene",
                                            "volumeSelector (qMRMLMagicWidget) never gets the MRML scene"]
    module = ast.parse("import PentixaforQuantLib.scene.panel\nslicer.util.pip_install('scipy')\n"
                       "class PentixaforQuantWidget(ScriptedLoadableModuleWidget):\n    def exit(self): pass\n")
    problems = " | ".join(check_module_file(module))
    assert "packages installed at import" in problems and "imports PentixaforQuantLib.scene.panel" in problems
    assert "VTKObservationMixin" in problems and "setParameterNode missing" in problems
    calls = ast.parse("lambda c: c.place_everything()\nself._controller.recompute()\nself.study.measur(pet)\n")
    assert check_library_calls(calls, object(), object()) == [
        "line 1: PanelController has no attribute 'place_everything'",
        "line 2: PanelController has no attribute 'recompute'", "line 3: StudyLogic has no attribute 'measur'"]
    cmake = 'project(Other)\nset(EXTENSION_SCREENSHOTURLS "")\n'
    catalog = check_catalog(cmake, b'{"category": "Quantification",\r\n "tier": 9}')
    assert "project() is not PentixaforQuant" in catalog
    assert "No EXTENSION_SCREENSHOTURLS found in CMakeLists.txt (a non-empty quoted value is needed)" in catalog
    assert any("CR line endings" in p for p in catalog) and any("'$schema' is a required property" in p
                                                                for p in catalog)
    assert any("9 is greater than the maximum of 5" in p for p in catalog)
    resources = check_resources(ast.parse("self.resourcePath('UI/Missing.ui')"),
                                'set(MODULE_PYTHON_SCRIPTS\n x.py)\nset(MODULE_PYTHON_RESOURCES\n ../Resources/a.png)\n')
    assert "resourcePath('UI/Missing.ui') is not in PentixaforQuant/Resources/" in resources
    assert any("starts with ../" in p for p in resources) and any("not globbed" in p for p in resources)
