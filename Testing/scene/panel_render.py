"""The module panel rendered by real Qt 5 (PyQt5): the unmodified ``PentixaforQuant.ui``, filled from the real
:class:`PanelController` on the demo phantom through the module's own view code (``scene.panel_view``).

A layout check, not a behaviour test: the five CTK/qMRML classes are drawn by plain-Qt stand-ins
(``qt_standins.py``); what the parameter-node bindings would do in Slicer (select the PET volume in its selector,
the combo boxes on the stored choices) is done here by hand. Qt's Fusion style with a light palette, DejaVu Sans
9 pt, Qt's offscreen platform (unless QT_QPA_PLATFORM says otherwise).

``python Testing/scene/panel_render.py OUT.png [WIDTH]`` writes the screenshot of the README and of the extension
catalog (``docs/images/panel.png``, 480 px wide).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
UI_FILE = HERE.parents[1] / "PentixaforQuant" / "Resources" / "UI" / "PentixaforQuant.ui"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the same pixels with or without a display
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="qt-runtime-"))  # private (0700), as Qt wants

from PyQt5 import QtGui, QtWidgets, uic  # noqa: E402

sys.path.insert(0, str(HERE))
import qt_standins  # noqa: E402

_APP = None


def application() -> QtWidgets.QApplication:
    """One QApplication per process, Fusion style, light palette, DejaVu Sans 9 pt."""
    global _APP
    _APP = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["panel_render"])
    _APP.setStyle("Fusion")
    palette = QtGui.QPalette()
    for role, colour in ((QtGui.QPalette.Window, "#f4f4f4"), (QtGui.QPalette.Base, "#ffffff"),
                         (QtGui.QPalette.Button, "#f0f0f0"), (QtGui.QPalette.Highlight, "#3874cf"),
                         (QtGui.QPalette.WindowText, "#202020"), (QtGui.QPalette.Text, "#202020"),
                         (QtGui.QPalette.ButtonText, "#202020"), (QtGui.QPalette.AlternateBase, "#f7f7f7")):
        palette.setColor(role, QtGui.QColor(colour))
    _APP.setPalette(palette)
    _APP.setFont(QtGui.QFont("DejaVu Sans", 9))
    return _APP


def load_panel() -> QtWidgets.QWidget:
    """The ``.ui`` as it is in the repository, loaded by ``uic`` (stand-ins for the CTK/qMRML classes)."""
    application()
    qt_standins.register()
    from PentixaforQuantLib.scene.panel_view import set_up_panel_widgets

    panel = uic.loadUi(str(UI_FILE))
    set_up_panel_widgets(panel, stretch=QtWidgets.QHeaderView.Stretch)  # as the module's setup() does
    return panel


def fill(panel, controller) -> None:
    """Show the controller in the panel: what the bindings do in Slicer, then the module's own view code."""
    from PentixaforQuantLib.scene.panel_choices import CHOICE_ENUMS
    from PentixaforQuantLib.scene.panel_view import show_panel_state

    panel.packagesFrame.setVisible(False)  # the packages are installed
    panel.messageLabel.setVisible(False)
    panel.loadProgressBar.setVisible(False)
    panel.petVolumeSelector.setCurrentNode(controller.pet_node)
    for name, enum_type in CHOICE_ENUMS.items():  # the enum connector: the stored member, shown by its label
        combo = next(w for w in panel.findChildren(QtWidgets.QComboBox) if w.property("SlicerParameterName") == name)
        stored = controller.parameter_node.GetParameter(name)
        combo.setCurrentIndex([m.name for m in enum_type].index(stored))
    show_panel_state(panel, controller, table_item=QtWidgets.QTableWidgetItem)


def lay_out(panel, width: int) -> QtWidgets.QWidget:
    """The panel at ``width`` px, as tall as its layout wants (the module panel scrolls in Slicer)."""
    panel.setMinimumSize(0, 0)
    panel.resize(width, 100)
    panel.show()
    QtWidgets.QApplication.processEvents()
    height = panel.layout().heightForWidth(width) if panel.layout().hasHeightForWidth() else -1
    panel.resize(width, max(height, panel.sizeHint().height()))
    QtWidgets.QApplication.processEvents()
    return panel


def demo_controller():
    """The real panel controller on the demo phantom, with the seven points placed at its seed points."""
    from PentixaforQuantLib.scene.headless import HeadlessSlicer
    from PentixaforQuantLib.scene.panel import PanelController

    headless = HeadlessSlicer.create()
    controller = PanelController(headless.scene)
    controller.load_demo_phantom(place_points=True)
    return headless, controller


def main(argv: list[str]) -> int:
    """The README's picture: the demo with the aortic-arch point 14 mm above the lumen centre, so that the row's
    warning mark and the warnings area show (the render test places it there too)."""
    import numpy as np

    out = Path(argv[0])
    width = int(argv[1]) if len(argv) > 1 else 480
    _, controller = demo_controller()
    controller.place_site("aorta", np.add(controller.demo_phantom.truth.seed_points["aorta"], (0.0, 0.0, 14.0)))
    panel = load_panel()
    fill(panel, controller)
    lay_out(panel, width)
    panel.grab().save(str(out))
    print(f"{out}: {panel.width()} x {panel.height()} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
