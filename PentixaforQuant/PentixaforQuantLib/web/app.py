"""The reading station: the protocol in a browser, on real Slicer slice views served by trame-slicer.

One server process holds one MRML scene (trame-slicer's ``SlicerApp``) and reads one study at a time from the
worklist. The page shows axial, coronal and sagittal slice views and a coronal MIP (a click on the MIP moves the
three slice views to the hottest voxel under the cursor), the SUV audit with its overrides, one button per site,
the results as an HTML table, Save and Next study. Points are placed by Slicer's own markups widget in the slice
views; every placed or moved point is measured by the same GUI-free code as the desktop panel.

The browser names studies by their index in the worklist and sends no paths; values typed into the page (reader,
overrides) are parsed here or by the controller and refused with one line when they do not parse.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import PentixaforQuantError
from ..inputs import INPUTS
from ..measure.sites import ALL_SITES
from ..scene.panel import OVERRIDE_FIELDS, PARAMETERS
from .worklist import DONE, REFUSED, Worklist

__all__ = ["ReadingStation", "VIEW_IDS", "MIP_VIEW"]

#: Slice views of the page (Slicer's names) and the coronal MIP.
VIEW_IDS = ("Red", "Green", "Yellow")
MIP_VIEW = "MIP"

#: Columns of the HTML results table: (key, title).
TABLE_COLUMNS = (
    ("title", "Site"), ("suv_max", "SUVmax"), ("suv_mean", "SUVmean"), ("suv_peak", "SUVpeak"),
    ("volume_ml", "Volume (mL)"), ("tbr", "TBR"), ("mean_suv_max", "meanSUVmax"), ("notes", "Warnings"),
)


def _fmt(value, digits=2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def table_rows(study) -> list[dict]:
    """Rows of the HTML table: the seven sites, then TBR and meanSUVmax (each value in its own column).

    Each cell carries its full-precision value (``value`` keys, for tests and screen readers' exact reading)
    and its display text.
    """
    from ..outputs.results import study_rows

    rows = []
    for row in study_rows(study):
        out = {"site": row["site"], "title": row["title"], "status": row["status"], "notes": row["notes"] or ""}
        values = {"suv_max": row["suv_max"], "suv_mean": row["suv_mean"], "suv_peak": row["suv_peak"],
                  "volume_ml": row["volume_ml"], "tbr": None, "mean_suv_max": None}
        if row["site"] == "TBR":
            values["tbr"] = row["value"]
        elif row["site"] == "meanSUVmax":
            values["mean_suv_max"] = row["value"]
        out["values"] = {k: (None if v is None else float(v)) for k, v in values.items()}
        out["text"] = {k: _fmt(v) for k, v in values.items()}
        rows.append(out)
    return rows


class ReadingStation:
    """The trame application. Build it, then ``station.server.start(...)`` (see ``cli/web.py``)."""

    def __init__(self, worklist: Worklist, *, server=None):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")  # no X display needed
        from trame.app import get_server
        from trame_slicer.core import LayoutManager, SlicerApp
        from trame_slicer.rca_view import register_rca_factories
        from trame_slicer.views import Layout, LayoutDirection, ViewLayoutDefinition

        self.server = server or get_server(None, client_type="vue3")
        self.state = self.server.state
        self.worklist = worklist
        self.slicer_app = SlicerApp()
        register_rca_factories(self.slicer_app.view_manager, self.server, rca_encoder="jpeg",
                               slice_view_ui_f=_slice_view_gutter)
        self.layout_manager = LayoutManager(self.slicer_app.scene, self.slicer_app.view_manager, self.server)
        views = {
            "Red": ViewLayoutDefinition.axial_view(), "Green": ViewLayoutDefinition.coronal_view(),
            "Yellow": ViewLayoutDefinition.sagittal_view(),
            MIP_VIEW: ViewLayoutDefinition.slice_view("Coronal", label=MIP_VIEW, color="#9E9E9E"),
        }
        self.layout_manager.register_layout("reading", Layout(LayoutDirection.Horizontal, [
            Layout(LayoutDirection.Vertical, [views["Red"], views["Green"]]),
            Layout(LayoutDirection.Vertical, [views["Yellow"], views[MIP_VIEW]]),
        ]))
        self.layout_manager.set_layout("reading")
        self.controller = None  # the panel controller of the open study (scene/panel.py), shared with Slicer
        self.index = None
        self.seen_revision = None
        self._refused = {}  # study index -> the refusal met when it was opened
        self._fitted_size = {}  # view -> the size its content was last fitted to
        self._setup_views()
        self._init_state()
        self._build_ui()

    # ------------------------------------------------------------------------------------------- views
    def view(self, name):
        return self.slicer_app.view_manager.get_view(name)

    def _setup_views(self):
        import vtk

        scene = self.slicer_app.scene
        # The MIP has its own interaction node: it never places points, a click there moves the slice views.
        self._mip_interaction = scene.AddNewNodeByClass("vtkMRMLInteractionNode", "MIP interaction")
        mip = self.view(MIP_VIEW)
        mip_node = mip.get_view_node()
        mip_node.SetInteractionNodeID(self._mip_interaction.GetID())
        mip_node.SetSlabReconstructionEnabled(True)
        mip_node.SetSlabReconstructionType(vtk.VTK_IMAGE_SLAB_MAX)
        mip.interactor().AddObserver("LeftButtonPressEvent", self._on_mip_click, 10.0)
        for name in (*VIEW_IDS, MIP_VIEW):
            node = self.view(name).get_view_node()
            node.AddObserver(vtk.vtkCommand.ModifiedEvent, lambda *_: self._publish_geometry())
            self.view(name).interactor().AddObserver(vtk.vtkCommand.WindowResizeEvent,
                                                     lambda *_: self._publish_geometry())

    def _publish_geometry(self):
        """The XY -> RAS matrix and size of each view (the page's way to map a pixel to a position).

        A view whose size changed since its content was fitted (the page connected, the window was resized) is
        fitted again, so the whole PET shows."""
        geometry = {}
        for name in (*VIEW_IDS, MIP_VIEW):
            view = self.view(name)
            size = tuple(view.render_window().GetSize())
            if (self.controller is not None and self.controller.pet_node is not None
                    and self._fitted_size.get(name) not in (None, size)):
                self._fitted_size[name] = size
                view.fit_view_to_content()
                if name == MIP_VIEW:
                    self._configure_mip()
            m = view.get_view_node().GetXYToRAS()
            geometry[name] = {
                "xy_to_ras": [m.GetElement(r, c) for r in range(4) for c in range(4)],
                "size": list(view.render_window().GetSize()),
            }
        with self.state:
            self.state.view_geometry = geometry

    def _on_mip_click(self, interactor, _event):
        """Move the slice views to the hottest voxel under the clicked MIP pixel."""
        if self.controller is None or self.controller.pet_node is None:
            return
        x, y = interactor.GetEventPosition()
        m = self.view(MIP_VIEW).get_view_node().GetXYToRAS()
        ras = np.array([sum(m.GetElement(r, c) * v for c, v in enumerate((x, y, 0.0, 1.0))) for r in range(3)])
        target = self._hottest_along_anterior(ras)
        if target is None:
            return
        for name in VIEW_IDS:
            self.view(name).get_view_node().JumpSliceByOffsetting(*target)

    def _hottest_along_anterior(self, ras):
        from ..scene.mrml import volume_array, volume_grid

        grid = volume_grid(self.controller.pet_node)
        image = volume_array(self.controller.pet_node)
        corners = grid.ijk_to_ras_points(np.array([[0, 0, 0], np.array(grid.shape_kji[::-1]) - 1], float))
        a_lo, a_hi = corners[:, 1].min(), corners[:, 1].max()
        step = float(min(grid.spacing_mm))
        a_values = np.arange(a_lo, a_hi + step / 2, step)
        samples = np.column_stack([np.full_like(a_values, ras[0]), a_values, np.full_like(a_values, ras[2])])
        ijk = np.rint(grid.ras_to_continuous_ijk(samples)).astype(int)
        inside = np.all((ijk >= 0) & (ijk < np.array(grid.shape_kji[::-1])), axis=1)
        if not inside.any():
            return None
        ijk = ijk[inside]
        values = image[ijk[:, 2], ijk[:, 1], ijk[:, 0]]
        # The centre of the hottest voxel: the slice views then cut through voxel centres.
        return grid.ijk_to_ras_points(ijk[int(np.argmax(values))][None, :].astype(float))[0]

    def _configure_mip(self):
        from ..scene.mrml import volume_grid

        grid = volume_grid(self.controller.pet_node)
        corners = grid.ijk_to_ras_points(np.array([[0, 0, 0], np.array(grid.shape_kji[::-1]) - 1], float))
        mip_node = self.view(MIP_VIEW).get_view_node()
        mip_node.SetSlabReconstructionThickness(float(np.ptp(corners[:, 1]) + max(grid.spacing_mm)))
        mip_node.JumpSliceByOffsetting(*corners.mean(axis=0))

    # ------------------------------------------------------------------------------------------- state
    def _init_state(self):
        s = self.state
        s.worklist_items = self._worklist_items()
        s.current = -1
        s.study_title = "No study open"
        s.study_error = ""
        s.study_note = ""
        s.audit = []
        s.suv_refusal = ""
        s.normalization = "bw"
        for name in OVERRIDE_FIELDS:
            s[name] = ""
        s.sites = []
        s.summary = []
        s.placing = ""
        s.rows = []
        s.warnings = []
        s.reader_name = ""
        s.save_message = ""
        s.save_error = ""
        s.points = {}
        s.view_geometry = {}
        s.measure_count = 0

    def _for_page(self, message: str, index: int | None = None) -> str:
        """A message without the server's folder names: a study's folder is shown as its id."""
        message = str(message or "")
        studies = self.worklist.studies if index is None else [self.worklist.studies[index]]
        for study in studies:
            if study.dicom is not None:
                message = message.replace(str(study.dicom), study.study_id)
        return message.replace(str(self.worklist.out_dir), "the output folder")

    def _worklist_items(self):
        items = []
        for n, study in enumerate(self.worklist.studies):
            state = self.worklist.state(n, open_now=(n == self.index))
            note = study.problem or self._refused.get(n, "")
            if n in self._refused and state != DONE:
                state = REFUSED
            items.append({"index": n, "study_id": study.study_id, "state": state, "note": self._for_page(note, n)})
        return items

    def _publish(self, controller=None):
        """Send what the controller shows to the page (called by the controller after every change)."""
        c = self.controller
        if c is None:
            return
        statuses = c.site_statuses()
        with self.state:
            self.state.sites = [s.to_dict() for s in statuses]
            self.state.summary = c.summary_lines() if c.pet_node is not None else []
            self.state.placing = c.placing_site or ""
            self.state.audit = [[self._for_page(v) for v in r] for r in c.audit_rows()]
            self.state.suv_refusal = self._for_page(c.suv_refusal) if c.suv_refusal else ""
            self.state.points = {s.site: [float(v) for v in s.ras] for s in statuses if s.ras is not None}
            self.state.rows = table_rows(c.study) if c.study is not None else []
            self.state.warnings = list(c.study.warnings) if c.study is not None else []
            self.state.study_error = self._for_page(c.last_error) if c.last_error else ""
            if c.study is not None:
                self._show_outlines()
            self.state.measure_count += 1

    # ------------------------------------------------------------------------------------------- studies
    def _close_study(self):
        """Remove the open study's nodes and its controller (the scene keeps only the views)."""
        c = self.controller
        if c is None:
            return
        scene = self.slicer_app.scene
        nodes = [c.pet_node, c.points_node, c.parameter_node]
        if c.points_node is not None:
            out = c.logic.output_nodes(c.points_node)
            nodes += [out.results_table, out.parameters_table, out.segmentation]
        c.close()
        for node in nodes:
            if node is not None and scene.IsNodePresent(node):
                scene.RemoveNode(node)
        self.controller = None

    def open_study(self, index: int):
        """Open study ``index`` of the worklist (a refusal is shown in the page; the worklist stays usable)."""
        from ..outputs.points import read_points
        from ..scene.panel import PanelController
        from .saving import read_saved_points

        index = int(index)
        if not 0 <= index < len(self.worklist.studies):
            return
        self._close_study()
        study = self.worklist.studies[index]
        self.index = index
        saved = self.worklist.saved_reading(index)
        self.seen_revision = None if saved is None else saved.get("revision")
        with self.state:
            reader, count = self.state.reader_name, self.state.measure_count
            self._init_state()
            self.state.reader_name, self.state.measure_count = reader, count  # the reader stays; the count grows
            self.state.current = index
            self.state.study_title = study.study_id
            self.state.study_note = (f"Saved by {saved.get('reader')} at {saved.get('saved_at')} "
                                     f"(revision {saved.get('revision')}); reloaded" if saved else "")
            if study.problem:
                self.state.study_error = f"{study.study_id}: {study.problem}"
            else:
                c = self.controller = PanelController(self.slicer_app.scene)
                for name, text in ((saved or {}).get("overrides") or {}).items():
                    if name in OVERRIDE_FIELDS:
                        c.set_override(name, str(text))
                        self.state[name] = str(text)
                if (saved or {}).get("normalization") in PARAMETERS["normalization"].choices:
                    c.set_parameter("normalization", saved["normalization"])
                if not saved:  # the manifest row's SUV and protocol inputs, as the batch uses them
                    c.use_settings(study.panel_settings)
                    for name in OVERRIDE_FIELDS.keys() & study.panel_settings.keys():
                        self.state[name] = str(study.panel_settings[name])
                self.state.normalization = c.get_parameter("normalization")
                c.add_listener(self._publish)
                pet = c.load_dicom(study.dicom, series_uid=study.series_uid)
                if pet is not None:
                    self._show_pet(pet)
                    try:
                        if saved:
                            points = read_saved_points(self.worklist.output_folder(index)) or {}
                        else:
                            points = read_points(study.points) if study.points else {}
                        for site, ras in points.items():
                            c.place_site(site, ras)
                    except PentixaforQuantError as exc:
                        self.state.study_note = f"points not loaded: {self._for_page(str(exc), index)}"
                self._publish()
                if c.suv_refusal:
                    self.state.study_error = f"{study.study_id}: {self._for_page(c.suv_refusal, index)}"
                    self._refused[index] = c.suv_refusal
                else:
                    self._refused.pop(index, None)
            self.state.worklist_items = self._worklist_items()

    def _show_pet(self, pet):
        self.controller.apply_display_preset()  # the desktop panel's reading preset (inverted grey, SUV 0-6)
        self.slicer_app.display_manager.show_volume_in_slice_background(pet)  # and schedules the views' renders
        for name in (*VIEW_IDS, MIP_VIEW):
            self.view(name).fit_view_to_content()
            self._fitted_size[name] = tuple(self.view(name).render_window().GetSize())
        self._configure_mip()
        points = self.controller.points_node
        display = points.GetDisplayNode()
        display.SetViewNodeIDs([self.view(v).get_view_node_id() for v in VIEW_IDS])
        display.SetGlyphScale(2.5)
        display.SetTextScale(3.0)

    def next_study(self):
        """The next study after the open one that is not done (wrapping), else the next one."""
        n = len(self.worklist.studies)
        start = -1 if self.index is None else self.index
        order = [(start + k) % n for k in range(1, n + 1)]
        for index in order:
            if self.worklist.state(index) not in (DONE, REFUSED):
                return self.open_study(index)
        return self.open_study(order[0])

    # ------------------------------------------------------------------------------------------- sites
    def place(self, site: str):
        """The next click in a slice view places ``site`` (re-placing it when it was placed)."""
        if self.controller is not None and self.controller.points_node is not None and site in ALL_SITES:
            self.controller.start_placing(site)

    def clear(self, site: str):
        if self.controller is not None and self.controller.points_node is not None and site in ALL_SITES:
            self.controller.clear_site(site)

    def _show_outlines(self):
        seg = self.controller.segmentation
        display = seg.GetDisplayNode() if seg is not None else None
        if display is not None and display.GetAttribute("PentixaforQuant.web") is None:
            display.SetAttribute("PentixaforQuant.web", "outlines")
            display.SetSliceIntersectionThickness(2)
            display.SetViewNodeIDs([self.view(v).get_view_node_id() for v in VIEW_IDS])

    # ------------------------------------------------------------------------------------------- SUV
    def apply_overrides(self):
        """Convert the open study again with the normalisation and overrides typed into the page."""
        c = self.controller
        if c is None:
            return
        with self.state:
            had_pet = c.pet_node is not None
            try:
                for name in OVERRIDE_FIELDS:
                    c.set_override(name, str(self.state[name] or ""))
                if self.state.normalization != c.get_parameter("normalization"):
                    c.set_parameter("normalization", self.state.normalization)  # converts again
                else:
                    c.reconvert()
            except PentixaforQuantError as exc:
                self.state.study_error = self._for_page(str(exc))
                return
            if c.pet_node is not None and not had_pet:
                self._show_pet(c.pet_node)
            self._publish()
            self.state.study_error = (f"{self.worklist.studies[self.index].study_id}: "
                                      f"{self._for_page(c.suv_refusal, self.index)}" if c.suv_refusal else "")
            if c.suv_refusal:
                self._refused[self.index] = c.suv_refusal
            else:
                self._refused.pop(self.index, None)
            self.state.worklist_items = self._worklist_items()

    # ------------------------------------------------------------------------------------------- saving
    def save(self):
        from .saving import save_reading

        with self.state:
            self.state.save_message = self.state.save_error = ""
            if self.controller is None or self.controller.study is None:
                self.state.save_error = "no measured study to save"
                return
            study = self.worklist.studies[self.index]
            try:
                reading = save_reading(self.controller, self.worklist.output_folder(self.index),
                                       reader=self.state.reader_name, seen_revision=self.seen_revision,
                                       source={"study_id": study.study_id})
            except PentixaforQuantError as exc:
                self.state.save_error = self._for_page(str(exc))
                return
            except OSError as exc:
                self.state.save_error = self._for_page(f"cannot write the outputs: {exc}")
                return
            self.seen_revision = reading["revision"]
            self.state.save_message = (f"Saved by {reading['reader']} at {reading['saved_at']} "
                                       f"(revision {reading['revision']})")
            self.state.study_note = self.state.save_message
            self.state.worklist_items = self._worklist_items()

    # ------------------------------------------------------------------------------------------- page
    def _build_ui(self):
        from trame.widgets import client, html
        from trame_vuetify.ui.vuetify3 import SinglePageLayout
        from trame_vuetify.widgets import vuetify3 as v

        ctrl = self.server.controller
        ctrl.open_study = self.open_study
        ctrl.place = self.place
        ctrl.clear = self.clear
        ctrl.save = self.save
        ctrl.next_study = self.next_study
        ctrl.apply_overrides = self.apply_overrides

        with SinglePageLayout(self.server, full_height=True) as layout:
            layout.title.set_text("PentixaforQuant reading station")
            with layout.toolbar:
                v.VSpacer()
                html.Span("{{ study_title }}", id="study-title", classes="mx-4 text-subtitle-1")
                v.VTextField(v_model=("reader_name",), label="Reader", density="compact", hide_details=True,
                             style="max-width: 200px", id="reader-name")
                v.VBtn("Save", click=ctrl.save, id="save", classes="ml-2", variant="tonal")
                v.VBtn("Next study", click=ctrl.next_study, id="next-study", classes="ml-2", variant="tonal")
            with layout.content:
                client.Style(_CSS)
                with html.Div(classes="station"):
                    with html.Div(classes="side"):
                        html.H3("Worklist")
                        with html.Ul(id="worklist"):
                            with html.Li(v_for="item in worklist_items", key="item.index",
                                         raw_attrs=[':data-state="item.state"', ':data-study="item.study_id"']):
                                html.Button("{{ item.study_id }}", click=(ctrl.open_study, "[item.index]"),
                                            classes=("{ study: true, current: item.index === current }",))
                                html.Span(" ({{ item.state }})", classes="state")
                                html.Div("{{ item.note }}", v_if="item.note", classes="note")
                        html.H3("Sites")
                        with html.Div(id="sites"):
                            with html.Div(v_for="s in sites", key="s.site", classes="site-row",
                                          raw_attrs=[':data-site="s.site"', ':data-status="s.status"']):
                                html.Button("{{ s.title }}", click=(ctrl.place, "[s.site]"),
                                            classes=("{ placing: s.placing, placed: s.placed }",),
                                            raw_attrs=[':id="\'place-\' + s.site"'])
                                html.Button("clear", v_if="s.placed", click=(ctrl.clear, "[s.site]"),
                                            classes="clear", raw_attrs=[':id="\'clear-\' + s.site"'])
                                html.Div("{{ s.line }}", classes=("'site-line ' + s.status",))
                        html.Div("Click the site in a slice view: {{ placing }}", v_if="placing",
                                 classes="hint", id="placing-hint")
                        with html.Ul(id="summary"):
                            html.Li("{{ line }}", v_for="line in summary")
                        html.H3("SUV")
                        html.Div("{{ suv_refusal }}", v_if="suv_refusal", classes="refusal", id="suv-refusal",
                                 role="alert")
                        with html.Table(classes="audit", id="suv-audit"):
                            with html.Tr(v_for="(row, i) in audit", key="i"):
                                html.Td("{{ row[0] }}")
                                html.Td("{{ row[1] }}")
                                html.Td("{{ row[2] }}", classes="source")
                        with html.Details(id="overrides", raw_attrs=[":open=\"!!suv_refusal\""]):
                            html.Summary("SUV normalisation and overrides (marked \"user override\" in the audit)")
                            with html.Label("Normalisation", classes="override"):
                                with html.Select(v_model=("normalization",), id="normalization"):
                                    names = dict(INPUTS["normalization"].choices)  # readable labels
                                    for value in PARAMETERS["normalization"].choices:
                                        html.Option(names.get(value, value), value=value)
                            for name, (_field, words, _keywords) in OVERRIDE_FIELDS.items():
                                with html.Label(words, classes="override", title=PARAMETERS[name].tooltip):
                                    html.Input(v_model=(name,), raw_attrs=[f'id="{name}"'])
                            html.Button("Apply", click=ctrl.apply_overrides, id="apply-overrides",
                                        classes="apply")
                    with html.Div(classes="main"):
                        html.Div("{{ study_error }}", v_if="study_error", classes="refusal", id="study-error",
                                 role="alert")
                        html.Div("{{ study_note }}", v_if="study_note", classes="note", id="study-note")
                        with html.Div(classes="views"):
                            self.layout_manager.initialize_layout_grid(layout)
                        with html.Ul(v_if="warnings.length", classes="warnings", id="warnings"):
                            html.Li("{{ w }}", v_for="w in warnings")
                        with html.Table(id="results", classes="results"):
                            html.Caption("Results (definitions of every number in study.json and sites.csv)")
                            with html.Thead():
                                with html.Tr():
                                    for _key, title in TABLE_COLUMNS:
                                        html.Th(title, scope="col")
                            with html.Tbody():
                                with html.Tr(v_for="row in rows", key="row.site",
                                             raw_attrs=[':data-site="row.site"', ':data-status="row.status"']):
                                    html.Th("{{ row.title }}", scope="row")
                                    for key, _title in TABLE_COLUMNS[1:-1]:
                                        html.Td(f"{{{{ row.text.{key} }}}}",
                                                raw_attrs=[f'data-col="{key}"', f':data-value="row.values.{key}"'])
                                    html.Td("{{ row.notes }}", classes="notes", raw_attrs=['data-col="notes"'])
                        html.Div("{{ save_message }}", v_if="save_message", id="save-message", classes="note")
                        html.Div("{{ save_error }}", v_if="save_error", id="save-error", classes="refusal",
                                 role="alert")
                        html.Pre("{{ JSON.stringify({points, view_geometry, measure_count}) }}", id="page-data",
                                 classes="page-data")
        self.ui = layout


def _slice_view_gutter(server, view_id, view):
    """The slice slider under each view (no 3D buttons: the station has no 3D view)."""
    from trame.widgets import html
    from trame_slicer.app.logic import connect_slice_view_slider_to_state
    from trame_slicer.app.ui.slider import Slider

    with html.Div(style="position: absolute; bottom: 0; left: 0; width: 100%;"):
        Slider(typed_state=connect_slice_view_slider_to_state(server, view), theme="dark", density="compact")
    html.Div(view.get_singleton_tag(), classes="view-label")


_CSS = """
html { overflow-y: auto; }
.station { display: flex; gap: 12px; padding: 8px; height: 100%; }
.side { width: 330px; flex: none; overflow-y: auto; font-size: 14px; }
.side h3 { margin: 10px 0 4px; font-size: 15px; }
.main { flex: 1; display: flex; flex-direction: column; min-width: 0; }
.views { height: 640px; flex: none; position: relative; }
.view-label { position: absolute; top: 2px; right: 6px; color: #ddd; font-size: 12px; }
#worklist { list-style: none; padding: 0; }
#worklist button.study { color: #1a4f9c; text-decoration: underline; }
#worklist button.current { font-weight: bold; }
.site-row { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
.site-row button { border: 1px solid #888; border-radius: 4px; padding: 1px 8px; }
.site-row button.placing { background: #ffd54f; }
.site-row button.placed { background: #c8e6c9; }
.site-row button.clear { font-size: 12px; }
.site-line { font-size: 12px; color: #333; flex-basis: 100%; margin-left: 8px; }
.site-line.warning, .site-line.error { color: #e65100; }
.site-row { flex-wrap: wrap; }
button.apply { border: 1px solid #888; border-radius: 4px; padding: 1px 8px; margin-top: 4px; }
.hint { background: #fff8e1; padding: 2px 6px; }
.refusal { background: #ffebee; color: #b71c1c; padding: 4px 8px; margin: 4px 0; }
.note { color: #555; font-size: 13px; }
.warnings { color: #e65100; }
table.results { border-collapse: collapse; margin-top: 8px; font-size: 14px; }
table.results th, table.results td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
table.results th[scope=row], table.results td.notes { text-align: left; }
table.audit { font-size: 12px; border-collapse: collapse; }
table.audit td { border-bottom: 1px solid #eee; padding: 1px 4px; }
table.audit td.source { color: #666; }
label.override { display: block; font-size: 12px; }
label.override input { border: 1px solid #aaa; width: 160px; margin-left: 4px; }
.page-data { display: none; }
"""
