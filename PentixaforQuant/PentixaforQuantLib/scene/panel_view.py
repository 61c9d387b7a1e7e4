"""The panel controller's state put into the Qt panel's widgets (``Resources/UI/PentixaforQuant.ui``).

:func:`show_panel_state` is the whole "view" of the Slicer module's widget: it calls only Qt methods that PythonQt
(Slicer) and PyQt5 share (``setText``, ``setToolTip``, ``setChecked`` ...), on the widgets named in the ``.ui``, so
the module and the panel render test (real Qt from PyQt5) show the controller through the same code. No Qt import
here: the caller passes its ``QTableWidgetItem`` class.
"""

from __future__ import annotations

from .panel_parameters import OVERRIDE_FIELDS, SITE_ROW_TITLES, SITE_WIDGET_NAMES
from .panel_text import readable_audit, site_detail_text, site_short_text, warnings_lines

__all__ = ["status_label_name", "set_up_panel_widgets", "show_panel_state"]

#: Border of the override field the SUV refusal asks to fill.
_REFUSAL_FIELD_STYLE = "border: 2px solid #b00020;"


def status_label_name(site: str) -> str:
    """The ``.ui`` name of a site row's status label (``lesionStatusLabel``, ``rightIliumStatusLabel`` ...)."""
    part = SITE_WIDGET_NAMES[site]
    return f"{part[0].lower()}{part[1:]}StatusLabel"


def set_up_panel_widgets(ui, *, stretch) -> None:
    """What the ``.ui`` cannot say: each site row titled as the outputs title the site (the table of sites); the
    SUV audit's three columns share the panel's width (each cell elided, its whole text in the tooltip), and the
    table shows every row (the ``.ui`` sizes it to its contents). ``stretch`` is the binding's
    ``QHeaderView.Stretch``."""
    for site in SITE_WIDGET_NAMES:
        getattr(ui, status_label_name(site).replace("StatusLabel", "TitleLabel")).setText(SITE_ROW_TITLES[site])
    ui.auditTable.horizontalHeader().setSectionResizeMode(stretch)


def show_panel_state(ui, controller, *, table_item) -> None:
    """Show the controller's state in the panel: per site one short status (value and warning mark; the full text
    in its tooltip), placing/clear/jump states, TBR and meanSUVmax, the SUV audit or refusal (the field to fill
    outlined), the results table, and the one warnings area.

    ``ui`` holds the ``.ui`` widgets as attributes (``slicer.util.childWidgetVariables`` in Slicer);
    ``table_item`` is the binding's ``QTableWidgetItem`` class.
    """
    statuses = controller.site_statuses()
    for status in statuses:
        part = SITE_WIDGET_NAMES[status.site]
        label = getattr(ui, status_label_name(status.site))
        label.setText(site_short_text(status))
        label.setToolTip(site_detail_text(status))
        button = getattr(ui, f"place{part}Button")
        button.blockSignals(True)
        button.setChecked(status.placing)
        button.blockSignals(False)
        getattr(ui, f"clear{part}Button").setEnabled(status.placed)
        getattr(ui, f"jump{part}Button").setEnabled(status.placed)
    ui.summaryLabel.setText("<br>".join(_html(line) for line in controller.summary_lines()))  # rich text (.ui)

    refusal = controller.suv_refusal or ""
    ui.refusalLabel.setVisible(bool(refusal))
    ui.refusalLabel.setText(refusal)
    rows = readable_audit(controller.audit_rows())  # MBq, kg, minutes, local times, as the web page shows them
    ui.auditTable.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = table_item(value)
            item.setToolTip(value)  # long decisions are cut at the column edge; the tooltip has them whole
            ui.auditTable.setItem(r, c, item)
    for name in OVERRIDE_FIELDS:
        field = getattr(ui, f"{name}LineEdit", None)
        if field is not None:
            field.setStyleSheet(_REFUSAL_FIELD_STYLE if name == controller.refusal_field else "")

    ui.resultsTableView.setMRMLTableNode(controller.results_table)
    lines = warnings_lines(statuses, controller.last_error)
    ui.warningsLabel.setText("<br>".join(_html(line) for line in lines))
    ui.warningsLabel.setVisible(bool(lines))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
