"""The module panel seen in real Qt 5 (PyQt5, offscreen): a layout check of the unmodified ``PentixaforQuant.ui``
filled from the real panel controller on the demo phantom (``panel_render.py``; stand-ins only for the five
CTK/qMRML classes, see ``qt_standins.py``). What it checks is what a reader meets: every section fits a panel 400
to 550 px wide, no text line wraps beyond three lines, the SUV audit shows every row, the combo boxes show
readable labels, each site row shows one short status with its full text in the tooltip and the warnings once.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pytest

QtWidgets = pytest.importorskip("PyQt5.QtWidgets", reason="PyQt5 (test extra) renders the panel")
from PyQt5 import QtCore  # noqa: E402

import panel_render  # noqa: E402

from PentixaforQuantLib.scene.panel_choices import CHOICE_ENUMS  # noqa: E402
from PentixaforQuantLib.scene.panel_text import WARNING_MARK, readable_audit  # noqa: E402
from PentixaforQuantLib.scene.panel_view import show_panel_state, status_label_name  # noqa: E402

WIDTHS = (400, 480, 550)
#: Labels that hold messages (shown in full, however long): the one warnings area, the SUV refusal, errors.
MESSAGE_AREAS = {"warningsLabel", "refusalLabel", "messageLabel", "packagesLabel"}


@pytest.fixture(scope="module")
def demo():
    headless, controller = panel_render.demo_controller()
    panel = panel_render.load_panel()
    panel_render.fill(panel, controller)
    yield panel, controller
    controller.close()
    panel.close()
    headless.scene.Clear(1)


def _expand_all(panel):
    for section in panel.findChildren(QtWidgets.QWidget):
        if type(section).__name__ == "ctkCollapsibleButton":
            section.setCollapsed(False)


def _lines(label) -> int:
    """How many lines a label's text takes at its current width."""
    if not label.wordWrap():
        return label.text().count("<br>") + label.text().count("\n") + 1
    return math.ceil(label.heightForWidth(label.width()) / label.fontMetrics().lineSpacing() - 0.2)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_section_fits_the_panel_width(demo, width):
    panel, _ = demo
    _expand_all(panel)
    panel_render.lay_out(panel, width)
    assert panel.width() == width, f"the panel needs {panel.minimumSizeHint().width()} px"
    for widget in panel.findChildren(QtWidgets.QWidget):
        if not widget.isVisibleTo(panel) or widget.objectName().startswith("qt_"):
            continue
        right = widget.mapTo(panel, widget.rect().topRight()).x()
        assert right < width, f"{widget.objectName()} reaches {right} px in a {width} px panel"
        if isinstance(widget, QtWidgets.QLabel) and widget.wordWrap() and widget.text():
            assert widget.height() >= widget.heightForWidth(widget.width()) - 1, f"{widget.objectName()} is cut"
            if widget.objectName() not in MESSAGE_AREAS:
                assert _lines(widget) <= 3, f"{widget.objectName()} wraps to {_lines(widget)} lines: {widget.text()}"


def test_the_audit_shows_every_row(demo):
    panel, controller = demo
    panel_render.lay_out(panel, 400)
    table = panel.auditTable
    rows = readable_audit(controller.audit_rows())
    assert table.rowCount() == len(rows) >= 15
    for r in range(table.rowCount()):
        assert table.rowViewportPosition(r) + table.rowHeight(r) <= table.viewport().height(), f"row {r} is hidden"
    assert [table.item(r, 0).text() for r in range(len(rows))] == [row[0] for row in rows]
    assert all(table.item(r, 2).toolTip() == rows[r][2] for r in range(len(rows)))  # elided cells: whole text
    assert table.item(len(rows) - 1, 1).text() == "SUVbw"  # units for people; the UCUM code beside it
    shown = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(len(rows))}
    assert shown["SUV units"] == "SUVbw" and shown["Pixel units"] == "BQML"  # the two units rows named apart
    assert shown["Injected activity"] == "150.0 MBq" and shown["Weight"] == "70.0 kg"  # not 1.5e+08 Bq
    assert "{SUVbw}g/ml" in table.item(len(rows) - 1, 2).text()


def test_the_combo_boxes_show_readable_labels(demo):
    panel, controller = demo
    panel_render.lay_out(panel, 400)
    for name, enum_type in CHOICE_ENUMS.items():
        combo = next(w for w in panel.findChildren(QtWidgets.QComboBox) if w.property("SlicerParameterName") == name)
        assert [combo.itemText(i) for i in range(combo.count())] == [m.label() for m in enum_type]
        stored = controller.parameter_node.GetParameter(name)
        assert combo.currentText() == enum_type[stored].label()
        assert all(combo.itemText(i) for i in range(combo.count())), f"{name} has an empty item"
    assert panel.normalizationComboBox.currentText() == "Body weight"
    assert panel.uptakeComboBox.currentText() == "Not recorded"
    assert panel.tbrNumeratorComboBox.currentText() == "SUVmax"
    _expand_all(panel)
    panel_render.lay_out(panel, 400)
    for combo in panel.findChildren(QtWidgets.QComboBox):
        if combo.property("SlicerParameterName") in CHOICE_ENUMS:  # wide enough for its longest label: not elided
            option = QtWidgets.QStyleOptionComboBox()
            option.initFrom(combo)
            field = combo.style().subControlRect(QtWidgets.QStyle.CC_ComboBox, option,
                                                 QtWidgets.QStyle.SC_ComboBoxEditField, combo)
            longest = max(combo.fontMetrics().horizontalAdvance(combo.itemText(i)) for i in range(combo.count()))
            assert field.width() >= longest, combo.objectName()


def test_each_site_row_shows_one_short_status_and_the_warnings_are_shown_once(demo):
    panel, controller = demo
    seeds = controller.demo_phantom.truth.seed_points
    try:
        # The aortic-arch sphere 14 mm above the lumen centre touches the wall: a warning the row must mark.
        controller.place_site("aorta", np.add(seeds["aorta"], (0.0, 0.0, 14.0)))
        status = controller.site_status("aorta")
        assert status.status == "warning" and status.warnings
        show_panel_state(panel, controller, table_item=QtWidgets.QTableWidgetItem)
        _expand_all(panel)
        for width in WIDTHS:
            panel_render.lay_out(panel, width)
            for site in controller.demo_phantom.truth.seed_points:  # one line, never cut
                label = getattr(panel, status_label_name(site))
                assert _lines(label) == 1 and label.width() >= label.sizeHint().width(), (site, width)
        aorta = getattr(panel, status_label_name("aorta"))
        assert aorta.text() == f"SUVmean {status.value:.2f} {WARNING_MARK}"
        warning = status.warnings[0]
        assert warning in aorta.toolTip() and "SUVbw" in aorta.toolTip() and "{SUVbw}" not in aorta.toolTip()
        assert panel.warningsLabel.isVisibleTo(panel)
        shown = [w.objectName() for w in panel.findChildren(QtWidgets.QLabel) if warning in html.unescape(w.text())]
        assert shown == ["warningsLabel"]  # once, in the warnings area, not in the row
        assert html.unescape(panel.warningsLabel.text()).count(warning) == 1
        assert panel.warningsLabel.textFormat() == QtCore.Qt.RichText  # "&gt;" shown as ">"
        lesion = getattr(panel, status_label_name("lesion"))
        assert lesion.text() == f"SUVmax {controller.site_status('lesion').value:.2f}"
        assert "mL" in lesion.toolTip() and "SUVpeak" in lesion.toolTip()
    finally:
        controller.place_site("aorta", seeds["aorta"])
        show_panel_state(panel, controller, table_item=QtWidgets.QTableWidgetItem)
    assert not panel.warningsLabel.isVisibleTo(panel)
