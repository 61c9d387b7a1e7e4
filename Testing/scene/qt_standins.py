"""Plain-Qt (PyQt5) stand-ins for the five CTK/qMRML classes of ``PentixaforQuant.ui``, for a *layout* check only.

Slicer's designer plugins are not available outside the Slicer application, so the panel render test draws these
five classes with plain Qt widgets of the same kind and size: a header bar over a content area for
``ctkCollapsibleButton``, slider + spin box for ``ctkSliderWidget``, a combo box for ``qMRMLNodeComboBox``, a table
view filled from the table node for ``qMRMLTableView``, a plain widget for ``qMRMLWidget``. They imitate no
behaviour beyond showing what they are given; every other widget of the panel is real Qt, loaded from the
unmodified ``.ui`` by ``PyQt5.uic``. :func:`register` makes them importable under the header names the ``.ui``
declares (``<header>ctkCollapsibleButton.h</header>`` -> module ``ctkCollapsibleButton``).
"""

from __future__ import annotations

import sys
import types

from PyQt5 import QtCore, QtGui, QtWidgets


class _SceneSignal:
    """``mrmlSceneChanged`` as ``uic`` connects it: indexed by the C++ argument type ``vtkMRMLScene*``."""

    def __init__(self, signal):
        self._signal = signal

    def __getitem__(self, _cpp_type):
        return self._signal

    def connect(self, slot):
        self._signal.connect(slot)


class qMRMLWidget(QtWidgets.QWidget):  # noqa: N801 (the Slicer class name)
    _sceneChanged = QtCore.pyqtSignal(object)

    @property
    def mrmlSceneChanged(self):  # noqa: N802
        return _SceneSignal(self._sceneChanged)

    def setMRMLScene(self, scene):  # noqa: N802
        self._scene = scene
        self._sceneChanged.emit(scene)


class ctkCollapsibleButton(QtWidgets.QWidget):  # noqa: N801
    """A button-like header bar with the section title; the content below it, hidden when collapsed."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._text = ""
        self._collapsed = False
        self._header = QtWidgets.QPushButton(self)
        self._header.setCheckable(True)
        self._header.setChecked(True)
        self._header.setStyleSheet("text-align: left; padding-left: 6px; font-weight: bold;")
        self._header.toggled.connect(lambda checked: self.setCollapsed(not checked))
        self._update_margins()

    def _update_margins(self):
        self.setContentsMargins(0, self._header.sizeHint().height() + 2, 0, 0)

    def text(self):
        return self._text

    def setText(self, text):  # noqa: N802
        self._text = text
        self._header.setText(("\u25b8 " if self._collapsed else "\u25be ") + text)
        self._update_margins()

    def collapsed(self):
        return self._collapsed

    def setCollapsed(self, collapsed):  # noqa: N802
        self._collapsed = bool(collapsed)
        self._header.blockSignals(True)
        self._header.setChecked(not self._collapsed)
        self._header.blockSignals(False)
        self.setText(self._text)
        self._apply_collapsed()

    def _apply_collapsed(self):
        # As CTK does: collapsing hides the shown children; expanding shows only those, never a child the panel
        # hid itself (the progress bar, the refusal line).
        # and, as CTK does, a collapsed section is only as tall as its header.
        self.setMaximumHeight(self.contentsMargins().top() if self._collapsed else 16777215)
        for child in self.findChildren(QtWidgets.QWidget, options=QtCore.Qt.FindDirectChildrenOnly):
            if child is self._header:
                continue
            if self._collapsed and not child.isHidden():
                child.setProperty("_hiddenByCollapse", True)
                child.hide()
            elif not self._collapsed and child.property("_hiddenByCollapse"):
                child.setProperty("_hiddenByCollapse", False)
                child.show()
        self.updateGeometry()

    def showEvent(self, event):  # noqa: N802 (children exist only after uic filled the layout)
        self._apply_collapsed()
        super().showEvent(event)

    def resizeEvent(self, event):  # noqa: N802
        self._header.setGeometry(0, 0, self.width(), self._header.sizeHint().height())
        super().resizeEvent(event)

    def sizeHint(self):  # noqa: N802
        hint = super().sizeHint()
        if self._collapsed:
            hint.setHeight(self.contentsMargins().top())
        return hint

    def minimumSizeHint(self):  # noqa: N802
        hint = super().minimumSizeHint()
        if self._collapsed:
            hint.setHeight(self.contentsMargins().top())
        return hint


class ctkSliderWidget(QtWidgets.QWidget):  # noqa: N801
    """A slider and a spin box side by side, as ctkSliderWidget draws them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Horizontal, self)
        self.spinBox = QtWidgets.QDoubleSpinBox(self)
        layout.addWidget(self.slider)
        layout.addWidget(self.spinBox)
        self.spinBox.valueChanged.connect(lambda v: self.slider.setValue(int(round(v))))

    def setDecimals(self, decimals):  # noqa: N802
        self.spinBox.setDecimals(decimals)

    def setSingleStep(self, step):  # noqa: N802
        self.spinBox.setSingleStep(step)

    def setMinimum(self, value):  # noqa: N802
        self.spinBox.setMinimum(value)
        self.slider.setMinimum(int(value))

    def setMaximum(self, value):  # noqa: N802
        self.spinBox.setMaximum(value)
        self.slider.setMaximum(int(value))

    def setValue(self, value):  # noqa: N802
        self.spinBox.setValue(value)


class qMRMLNodeComboBox(QtWidgets.QComboBox):  # noqa: N801
    """A combo box showing the current node's name (or "None"). Like Slicer's node selectors it does not widen
    the panel to a long node name: it keeps room for 16 characters and elides the rest."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(16)
        self.setCurrentNode(None)

    def setMRMLScene(self, scene):  # noqa: N802
        self._scene = scene

    def setCurrentNode(self, node):  # noqa: N802
        self.clear()
        self.addItem(node.GetName() if node is not None else "None")

    # designer properties of qMRMLNodeComboBox set by the .ui
    def setShowChildNodeTypes(self, value):  # noqa: N802
        pass

    def setNoneEnabled(self, value):  # noqa: N802
        pass

    def setAddEnabled(self, value):  # noqa: N802
        pass

    def setRemoveEnabled(self, value):  # noqa: N802
        pass


class qMRMLTableView(QtWidgets.QTableView):  # noqa: N801
    """A table view showing a ``vtkMRMLTableNode``: column names as headers, one row per table row."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setModel(QtGui.QStandardItemModel(self))

    def setMRMLScene(self, scene):  # noqa: N802
        self._scene = scene

    def setMRMLTableNode(self, node):  # noqa: N802
        model = self.model()
        model.clear()
        if node is None:
            return
        table = node.GetTable()
        names = [table.GetColumn(c).GetName() for c in range(table.GetNumberOfColumns())]
        model.setHorizontalHeaderLabels(names)
        for r in range(table.GetNumberOfRows()):
            model.appendRow([QtGui.QStandardItem(table.GetValue(r, c).ToString()) for c in range(len(names))])


STANDINS = (qMRMLWidget, ctkCollapsibleButton, ctkSliderWidget, qMRMLNodeComboBox, qMRMLTableView)


def register() -> None:
    """Make each stand-in importable as the module its ``.ui`` header names (what ``uic`` imports)."""
    for cls in STANDINS:
        module = types.ModuleType(cls.__name__)
        setattr(module, cls.__name__, cls)
        sys.modules[cls.__name__] = module
