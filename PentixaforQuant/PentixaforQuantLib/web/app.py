"""The reading station: the protocol in a browser, on real Slicer slice views served by trame-slicer.

One server process holds one MRML scene (trame-slicer's ``SlicerApp``) and reads one study at a time from the
worklist. The page shows axial, coronal and sagittal slice views and a coronal MIP (a click on the MIP moves the
three slice views to the hottest voxel under the cursor), the SUV audit with its overrides, one button per site,
the results as an HTML table, Save and Next study. Points are placed by Slicer's own markups widget in the slice
views; every placed or moved point is measured by the same GUI-free code as the desktop panel.

The browser names studies by their index in the worklist and sends no paths; values typed into the page (reader,
overrides) are parsed here and refused with one line when they do not parse.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

import numpy as np

from ..errors import PentixaforQuantError
from ..measure.sites import ALL_SITES, AORTA, LESION, SITE_TITLES
from .worklist import DONE, IN_PROGRESS, REFUSED, Worklist

__all__ = ["ReadingStation", "VIEW_IDS", "MIP_VIEW"]

#: Slice views of the page (Slicer's names) and the coronal MIP.
VIEW_IDS = ("Red", "Green", "Yellow")
MIP_VIEW = "MIP"

#: Override fields of the page: state key, SUVOverrides field, parser, label.
_OVERRIDE_FIELDS = (
    ("ov_weight_kg", "weight_kg", float, "Weight (kg)"),
    ("ov_height_m", "height_m", float, "Height (m)"),
    ("ov_sex", "sex", str, "Sex (M/F/O)"),
    ("ov_dose_mbq", "dose_bq", lambda s: float(s) * 1e6, "Injected activity (MBq)"),
    ("ov_injection_time", "injection_datetime", datetime.fromisoformat, "Injection date-time (ISO)"),
    ("ov_scan_time", "scan_datetime", datetime.fromisoformat, "Scan date-time (ISO)"),
    ("ov_half_life_s", "half_life_s", float, "Half-life (s)"),
)

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

    def __init__(self, worklist: Worklist, *, server=None, parameters=None):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")  # no X display needed
        from trame.app import get_server
        from trame_slicer.core import LayoutManager, SlicerApp
        from trame_slicer.rca_view import register_rca_factories
        from trame_slicer.views import Layout, LayoutDirection, ViewLayoutDefinition

        from ..measure.protocol import ProtocolParameters
        from ..scene.logic import StudyLogic

        self.server = server or get_server(None, client_type="vue3")
        self.state = self.server.state
        self.worklist = worklist
        self.parameters = parameters or ProtocolParameters()
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
        self.logic = StudyLogic(scene=self.slicer_app.scene)
        self.pet = None
        self.points = None
        self.index = None
        self.seen_revision = None
        self.overrides = None
        self._study_nodes = []
        self._observations = []
        self._setup_views()
        self._init_state()
        self._build_ui()

    # ------------------------------------------------------------------------------------------- views
    def view(self, name):
        return self.slicer_app.view_manager.get_view(name)

    def _setup_views(self):
        import slicer
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
        self._slicer = slicer

    def _publish_geometry(self):
        """The XY -> RAS matrix and size of each view (the page's way to map a pixel to a position)."""
        geometry = {}
        for name in (*VIEW_IDS, MIP_VIEW):
            view = self.view(name)
            m = view.get_view_node().GetXYToRAS()
            geometry[name] = {
                "xy_to_ras": [m.GetElement(r, c) for r in range(4) for c in range(4)],
                "size": list(view.render_window().GetSize()),
            }
        with self.state:
            self.state.view_geometry = geometry

    def _on_mip_click(self, interactor, _event):
        """Move the slice views to the hottest voxel under the clicked MIP pixel."""
        if self.pet is None:
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

        grid = volume_grid(self.pet)
        image = volume_array(self.pet)
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

        grid = volume_grid(self.pet)
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
        s.audit = {"factor": "", "units": "", "inputs": [], "decisions": []}
        s.normalization = "bw"
        for key, *_ in _OVERRIDE_FIELDS:
            s[key] = ""
        s.sites = self._site_items({})
        s.placing = ""
        s.rows = []
        s.warnings = []
        s.reader_name = ""
        s.save_message = ""
        s.save_error = ""
        s.points = {}
        s.view_geometry = {}
        s.measure_count = 0

    def _worklist_items(self):
        items = []
        for n, study in enumerate(self.worklist.studies):
            state = self.worklist.state(n, open_now=(n == self.index))
            items.append({"index": n, "study_id": study.study_id, "state": state, "note": study.problem or ""})
        return items

    def _site_items(self, points):
        study = self.logic.last_study if self.points is not None else None
        items = []
        for site in ALL_SITES:
            value = ""
            if study is not None:
                if site == LESION and study.lesion is not None:
                    value = f"SUVmax {study.lesion.stats.suv_max:.2f}"
                elif site == AORTA and study.blood_pool is not None:
                    value = f"SUVmean {study.blood_pool.stats.suv_mean:.2f}"
                elif site in study.marrow:
                    value = f"SUVmax {study.marrow[site].stats.suv_max:.2f}"
                if site in study.errors:
                    value = study.errors[site]
            items.append({"site": site, "title": SITE_TITLES[site], "placed": site in points, "value": value})
        return items

    # ------------------------------------------------------------------------------------------- studies
    def _remove_study_nodes(self):
        for node, tag in self._observations:
            node.RemoveObserver(tag)
        self._observations.clear()
        scene = self.slicer_app.scene
        nodes = list(self._study_nodes)
        if self.points is not None:
            out = self.logic.output_nodes(self.points)
            nodes += [out.results_table, out.parameters_table, out.segmentation]
        for node in nodes:
            if node is not None and scene.IsNodePresent(node):
                scene.RemoveNode(node)
        self._study_nodes.clear()
        self.logic._caches.clear()
        self.logic.last_study = None
        self.pet = self.points = None

    def open_study(self, index: int, *, keep_overrides: bool = False):
        """Open study ``index`` of the worklist (a refusal is shown in the page; the worklist stays usable)."""
        index = int(index)
        if not 0 <= index < len(self.worklist.studies):
            return
        self._remove_study_nodes()
        study = self.worklist.studies[index]
        self.index = index
        saved = self.worklist.saved_reading(index)
        self.seen_revision = None if saved is None else saved.get("revision")
        if not keep_overrides:
            from .saving import overrides_from_dict

            self.overrides = overrides_from_dict((saved or {}).get("overrides"))
            self._overrides_to_state()
        with self.state:
            self.state.current = index
            self.state.study_title = study.study_id
            self.state.study_error = ""
            self.state.save_message = self.state.save_error = ""
            self.state.study_note = (f"Saved by {saved.get('reader')} at {saved.get('saved_at')} "
                                     f"(revision {saved.get('revision')}); reloaded" if saved else "")
            self.state.rows, self.state.warnings, self.state.points = [], [], {}
            self.state.audit = {"factor": "", "units": "", "inputs": [], "decisions": []}
            try:
                if study.problem:
                    raise PentixaforQuantError(study.problem)
                self._load(study, saved)
            except PentixaforQuantError as exc:
                self.state.study_error = f"{study.study_id}: {exc}"
                self._remove_study_nodes()
            self.state.worklist_items = self._worklist_items()
            self.state.sites = self._site_items(self.state.points)

    def _load(self, study, saved):
        from ..scene.mrml import AUDIT_ATTRIBUTE
        from .saving import read_saved_points

        pet = self.logic.load_dicom(study.dicom, normalization=self.state.normalization, overrides=self.overrides)
        self.pet = pet
        self._study_nodes.append(pet)
        audit = json.loads(pet.GetAttribute(AUDIT_ATTRIBUTE) or "{}")
        self.state.audit = {
            "factor": f"{audit.get('factor', 0):.6g}" if isinstance(audit.get("factor"), (int, float)) else "per slice",
            "units": audit.get("units", ""),
            "inputs": [{"name": k, "value": str(v.get("value")), "source": str(v.get("source"))}
                       for k, v in (audit.get("inputs") or {}).items() if isinstance(v, dict)],
            "decisions": list(audit.get("decisions") or []),
        }
        display = self.slicer_app.display_manager
        display.show_volume_in_slice_background(pet)
        for name in VIEW_IDS:
            self.view(name).fit_view_to_content()
        self.view(MIP_VIEW).fit_view_to_content()
        self._configure_mip()
        points = self.logic.new_points_node(f"{study.study_id} points")
        self.points = points
        self._study_nodes.append(points)
        for site in ALL_SITES:
            n = points.AddControlPoint([0.0, 0.0, 0.0], site)
            points.UnsetNthControlPointPosition(n)
        points.SetFixedNumberOfControlPoints(True)
        pdisplay = points.GetDisplayNode()
        pdisplay.SetViewNodeIDs([self.view(v).get_view_node_id() for v in VIEW_IDS])
        pdisplay.SetGlyphScale(2.5)
        pdisplay.SetTextScale(3.0)
        saved_points = read_saved_points(self.worklist.output_folder(self.index)) if saved else None
        for site, ras in (saved_points or {}).items():
            if site in ALL_SITES:
                points.SetNthControlPointPositionWorld(ALL_SITES.index(site), *[float(v) for v in ras])
        events = (points.PointPositionDefinedEvent, points.PointEndInteractionEvent,
                  points.PointPositionUndefinedEvent)
        for event in events:
            self._observations.append((points, points.AddObserver(event, self._on_points_changed)))
        self.recompute()

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
        if self.points is None or site not in ALL_SITES:
            return
        n = ALL_SITES.index(site)
        if self.points.GetNthControlPointPositionStatus(n) == self.points.PositionDefined:
            self.points.UnsetNthControlPointPosition(n)
        self.points.SetControlPointPlacementStartIndex(n)
        self.slicer_app.markups_logic.place_node(self.points, persistent=False)
        with self.state:
            self.state.placing = site

    def clear(self, site: str):
        if self.points is None or site not in ALL_SITES:
            return
        self.points.UnsetNthControlPointPosition(ALL_SITES.index(site))

    def _on_points_changed(self, *_):
        self.recompute()

    def recompute(self):
        """Measure the placed sites (only changed ones are recomputed) and publish the table."""
        from ..scene.mrml import markups_site_points

        if self.pet is None or self.points is None:
            return
        with self.state:
            try:
                study = self.logic.measure(self.pet, self.points, parameters=self.parameters)
            except PentixaforQuantError as exc:
                self.state.study_error = str(exc)
                return
            self._show_outlines()
            points = markups_site_points(self.points)
            self.state.points = {site: [float(v) for v in ras] for site, ras in points.items()}
            self.state.rows = table_rows(study)
            self.state.warnings = list(study.warnings)
            self.state.sites = self._site_items(points)
            self.state.placing = ""
            self.state.measure_count += 1
            self.state.worklist_items = self._worklist_items()

    def _show_outlines(self):
        seg = self.logic.output_nodes(self.points).segmentation
        display = seg.GetDisplayNode()
        if display is not None and display.GetAttribute("PentixaforQuant.web") is None:
            display.SetAttribute("PentixaforQuant.web", "outlines")
            display.SetVisibility2DFill(False)
            display.SetVisibility2DOutline(True)
            display.SetSliceIntersectionThickness(2)
            display.SetViewNodeIDs([self.view(v).get_view_node_id() for v in VIEW_IDS])

    # ------------------------------------------------------------------------------------------- SUV
    def _overrides_to_state(self):
        from dataclasses import asdict

        values = asdict(self.overrides) if self.overrides is not None else {}
        with self.state:
            for key, field, _parse, _label in _OVERRIDE_FIELDS:
                v = values.get(field)
                if v is None:
                    self.state[key] = ""
                elif field == "dose_bq":
                    self.state[key] = f"{v / 1e6:g}"
                elif isinstance(v, datetime):
                    self.state[key] = v.isoformat()
                else:
                    self.state[key] = str(v)

    def apply_overrides(self):
        """Re-read the open study with the overrides typed into the page (each marked "user override")."""
        from ..suv import SUVOverrides

        values = {}
        for key, field, parse, label in _OVERRIDE_FIELDS:
            text = str(self.state[key] or "").strip()
            if not text:
                continue
            try:
                values[field] = parse(text)
            except ValueError:
                with self.state:
                    self.state.study_error = f"{label}: {text!r} is not a valid value"
                return
        if "sex" in values and values["sex"] not in ("M", "F", "O"):
            with self.state:
                self.state.study_error = "Sex: use M, F or O"
            return
        self.overrides = SUVOverrides(**values)
        if self.index is not None:
            points = dict(self.state.points or {})
            self.open_study(self.index, keep_overrides=True)
            if self.points is not None:
                for site, ras in points.items():
                    self.points.SetNthControlPointPositionWorld(ALL_SITES.index(site), *ras)
                self.recompute()

    # ------------------------------------------------------------------------------------------- saving
    def save(self):
        from .saving import save_reading

        with self.state:
            self.state.save_message = self.state.save_error = ""
            if self.pet is None or self.logic.last_study is None:
                self.state.save_error = "no measured study to save"
                return
            study = self.worklist.studies[self.index]
            try:
                reading = save_reading(self.logic, self.pet, self.points, self.logic.last_study,
                                       self.worklist.output_folder(self.index), reader=self.state.reader_name,
                                       seen_revision=self.seen_revision, overrides=self.overrides,
                                       source={"study_id": study.study_id})
            except PentixaforQuantError as exc:
                self.state.save_error = str(exc)
                return
            except OSError as exc:
                self.state.save_error = f"cannot write the outputs: {exc}"
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
                                html.A("{{ item.study_id }}", href="#", click=(ctrl.open_study, "[item.index]"),
                                       classes=("{ current: item.index === current }",))
                                html.Span(" ({{ item.state }})", classes="state")
                                html.Div("{{ item.note }}", v_if="item.note", classes="note")
                        html.H3("Sites")
                        with html.Div(id="sites"):
                            with html.Div(v_for="s in sites", key="s.site", classes="site-row",
                                          raw_attrs=[':data-site="s.site"', ':data-placed="s.placed"']):
                                html.Button("{{ s.title }}", click=(ctrl.place, "[s.site]"),
                                            classes=("{ placing: placing === s.site, placed: s.placed }",),
                                            raw_attrs=[':id="\'place-\' + s.site"'])
                                html.Button("clear", v_if="s.placed", click=(ctrl.clear, "[s.site]"),
                                            classes="clear")
                                html.Span("{{ s.value }}", classes="site-value")
                        html.Div("Click in a slice view to place: {{ placing }}", v_if="placing",
                                 classes="hint", id="placing-hint")
                        html.H3("SUV")
                        with html.Div(id="suv-audit"):
                            html.Div("{{ audit.units }} = activity concentration x {{ audit.factor }}",
                                     v_if="audit.units")
                            with html.Table(classes="audit"):
                                with html.Tr(v_for="row in audit.inputs", key="row.name"):
                                    html.Td("{{ row.name }}")
                                    html.Td("{{ row.value }}")
                                    html.Td("{{ row.source }}", classes="source")
                            with html.Ul():
                                html.Li("{{ d }}", v_for="d in audit.decisions")
                        with html.Details(id="overrides"):
                            html.Summary("Overrides (each marked \"user override\" in the audit)")
                            with html.Label("SUV "):
                                with html.Select(v_model=("normalization",)):
                                    for value, text in (("bw", "body weight"), ("lbm", "lean body mass"),
                                                        ("lbm-james128", "LBM (James-128)"),
                                                        ("bsa", "body surface area"), ("ibw", "ideal body weight")):
                                        html.Option(text, value=value)
                            for key, _field, _parse, label in _OVERRIDE_FIELDS:
                                with html.Label(label, classes="override"):
                                    html.Input(v_model=(key,), raw_attrs=[f'id="{key}"'])
                            html.Button("Apply", click=ctrl.apply_overrides, id="apply-overrides")
                    with html.Div(classes="main"):
                        html.Div("{{ study_error }}", v_if="study_error", classes="refusal", id="study-error",
                                 role="alert")
                        html.Div("{{ study_note }}", v_if="study_note", classes="note", id="study-note")
                        with html.Div(classes="views"):
                            self.layout_manager.initialize_layout_grid(layout)
                        with html.Ul(v_if="warnings.length", classes="warnings", id="warnings"):
                            html.Li("{{ w }}", v_for="w in warnings")
                        with html.Table(id="results", classes="results"):
                            html.Caption("Results (SUV {{ audit.units }}; definitions in study.json)")
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
#worklist a.current { font-weight: bold; }
.site-row { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
.site-row button { border: 1px solid #888; border-radius: 4px; padding: 1px 8px; }
.site-row button.placing { background: #ffd54f; }
.site-row button.placed { background: #c8e6c9; }
.site-row button.clear { font-size: 12px; }
.site-value { font-size: 12px; color: #333; }
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
