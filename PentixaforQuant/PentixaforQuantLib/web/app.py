"""The reading station: the protocol in a browser, on real Slicer slice views served by trame-slicer.

One server process holds one MRML scene (trame-slicer's ``SlicerApp``) and reads one study at a time from the
worklist. The page shows the axial, coronal and sagittal slice views and a coronal MIP (a click on the MIP moves
the three slice views to the hottest voxel under the cursor), each named with its orientation letters; the SUV
under the cursor; the Pentixafor display preset (inverted grey, SUV 0-6) with a window control; a "next hot spot"
control walking the PET's foci from the hottest; the SUV audit in readable units with its overrides; one button per
site; the results as an HTML table; Save and Next study. Points are placed by Slicer's own markups widget in the
slice views; every placed or moved point is measured by the same GUI-free code as the desktop panel.

Work is not lost or saved wrong: Save is disabled, with the reason beside it, while the SUV is refused, typed
overrides are not applied, a site is being placed or the last measurement failed (the results table is then marked
as not current); pressing a placed site's button starts a re-placement that Escape (or Cancel) undoes; leaving a
study with unsaved changes asks first; a study reopened with a refused override keeps its points until the SUV is
accepted again.

The browser names studies by their index in the worklist and sends no paths; values typed into the page (reader,
overrides) are parsed here or by the controller and refused with one line when they do not parse. Every action of
the page goes through :meth:`ReadingStation._action`, so an error reaches the page as one line (never a traceback).
"""

from __future__ import annotations

import logging
import os
import traceback

import numpy as np

from ..errors import PentixaforQuantError
from ..inputs import INPUTS
from ..measure.sites import ALL_SITES
from ..scene.panel import OVERRIDE_FIELDS, PANEL_TITLES, PARAMETERS
from ..scene.panel_text import readable_audit
from .readout import TABLE_COLUMNS, hot_spots, orientation_letters, suv_at, table_rows
from .worklist import DONE, REFUSED, Worklist

__all__ = ["ReadingStation", "VIEW_IDS", "MIP_VIEW", "VIEW_NAMES", "table_rows", "TABLE_COLUMNS"]

log = logging.getLogger(__name__)

#: Slice views of the page (Slicer's names) and the coronal MIP.
VIEW_IDS = ("Red", "Green", "Yellow")
MIP_VIEW = "MIP"
#: What the page calls each view.
VIEW_NAMES = {"Red": "Axial", "Green": "Coronal", "Yellow": "Sagittal", MIP_VIEW: "MIP (coronal)"}
#: The window of the Pentixafor preset (SUV) and the slider's range.
PRESET_WINDOW = [0.0, 6.0]
WINDOW_RANGE = (0.0, 30.0)


def _study_index(raw, count: int) -> int:
    """A study index sent by the page: an integer (or its digits) naming a study of the worklist."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise PentixaforQuantError("that is not a study of the worklist")
    text = str(raw).strip()
    if not text.isdigit() or not 0 <= int(text) < count:
        raise PentixaforQuantError("that is not a study of the worklist")
    return int(text)


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
        self._pending_points = {}  # saved points of a study whose SUV is refused (placed once it is accepted)
        self._replacing = None  # (site, ras): a placed site being placed again; Escape puts it back
        self._baseline = None  # what was saved or loaded: leaving with anything else asks first
        self._hot_spots = None  # the open PET's foci, found on the first "next hot spot"
        self._anatomy = None  # (AnatomySeries, volume node): the CT or MR shown under the PET
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
            interactor = self.view(name).interactor()
            interactor.AddObserver(vtk.vtkCommand.WindowResizeEvent, lambda *_: self._publish_geometry())
            interactor.AddObserver(vtk.vtkCommand.MouseMoveEvent,
                                   lambda caller, _event, name=name: self._on_mouse_move(name, caller), 10.0)

    def _publish_geometry(self):
        """The XY -> RAS matrix, size and orientation letters of each view (the page's way to map a pixel to a
        position, and the letters at the views' edges).

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
            matrix = [m.GetElement(r, c) for r in range(4) for c in range(4)]
            geometry[name] = {"xy_to_ras": matrix, "size": list(view.render_window().GetSize()),
                              "letters": orientation_letters(matrix), "name": VIEW_NAMES[name]}
        with self.state:
            self.state.view_geometry = geometry

    def _on_mouse_move(self, name, interactor):
        """The SUV of the voxel under the cursor (slice views) or the hottest along the MIP's ray."""
        c = self.controller
        if c is None or c.pet_node is None:
            return
        from ..scene.mrml import volume_array, volume_grid

        x, y = interactor.GetEventPosition()
        m = self.view(name).get_view_node().GetXYToRAS()
        ras = np.array([sum(m.GetElement(r, k) * v for k, v in enumerate((x, y, 0.0, 1.0))) for r in range(3)])
        if name == MIP_VIEW:
            hottest = self._hottest_along_anterior(ras)
            ras = ras if hottest is None else hottest
        value = suv_at(volume_array(c.pet_node), volume_grid(c.pet_node), ras)
        text = ("outside the PET" if value is None else
                f"SUV {value:.2f} at R {ras[0]:.0f}, A {ras[1]:.0f}, S {ras[2]:.0f} mm ({VIEW_NAMES[name]})")
        if self._anatomy is not None and name != MIP_VIEW:
            series = self._anatomy[0]
            under = suv_at(series.voxels, _grid(series), ras)
            unit = " HU" if series.modality == "CT" else ""
            text += f"; {series.modality} {under:.0f}{unit}" if under is not None else f"; outside the {series.modality}"
        with self.state:
            self.state.cursor_text = text

    def _on_mip_click(self, interactor, _event):
        """Move the slice views to the hottest voxel under the clicked MIP pixel."""
        if self.controller is None or self.controller.pet_node is None:
            return
        x, y = interactor.GetEventPosition()
        m = self.view(MIP_VIEW).get_view_node().GetXYToRAS()
        ras = np.array([sum(m.GetElement(r, c) * v for c, v in enumerate((x, y, 0.0, 1.0))) for r in range(3)])
        target = self._hottest_along_anterior(ras)
        if target is not None:
            self._jump(target)

    def _jump(self, ras):
        for name in VIEW_IDS:
            self.view(name).get_view_node().JumpSliceByOffsetting(*ras)

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
        s.placing_title = ""
        s.rows = []
        s.warnings = []
        s.reader_name = ""
        s.save_message = ""
        s.save_error = ""
        s.save_block = ""
        s.results_stale = ""
        s.dirty = False
        s.busy = False
        s.confirm_target = -1
        s.confirm_text = ""
        s.message = ""
        s.message_show = False
        s.points = {}
        s.pending_points = 0
        s.view_geometry = {}
        s.measure_count = 0
        s.window = list(PRESET_WINDOW)
        s.cursor_text = ""
        s.hot_spot = ""
        s.anatomy = ""
        s.fusion_opacity = 0.5

    def _for_page(self, message: str, index: int | None = None) -> str:
        """A message without the server's folder names: a study's folder is shown as its id."""
        message = str(message or "")
        studies = self.worklist.studies if index is None else [self.worklist.studies[index]]
        for study in studies:
            if study.dicom is not None:
                message = message.replace(str(study.dicom), study.study_id)
            if study.points is not None:
                message = message.replace(str(study.points), f"the points file of {study.study_id}")
        return message.replace(str(self.worklist.out_dir), "the output folder")

    def _tell(self, text: str):
        """A message the reader sees where they look (a snackbar over the page)."""
        self.state.message = text
        self.state.message_show = True

    def _worklist_items(self):
        items = []
        for n, study in enumerate(self.worklist.studies):
            state = self.worklist.state(n, open_now=(n == self.index))
            note = study.problem or self._refused.get(n, "")
            if n in self._refused:
                state = REFUSED
            items.append({"index": n, "study_id": study.study_id, "state": state, "note": self._for_page(note, n)})
        return items

    def _publish(self, controller=None):
        """Send what the controller shows to the page (called by the controller after every change)."""
        c = self.controller
        if c is None:
            return
        if self._replacing is not None and c.placing_site != self._replacing[0]:
            self._replacing = None  # placed again (or placement left): nothing to undo any more
        statuses = c.site_statuses()
        with self.state:
            self.state.sites = [s.to_dict() for s in statuses]
            self.state.summary = c.summary_lines() if c.pet_node is not None else []
            self.state.placing = c.placing_site or ""
            self.state.placing_title = PANEL_TITLES.get(c.placing_site, "") if c.placing_site else ""
            self.state.audit = [[self._for_page(v) for v in r] for r in readable_audit(c.audit_rows())]
            self.state.suv_refusal = self._for_page(c.suv_refusal) if c.suv_refusal else ""
            self.state.points = {s.site: [float(v) for v in s.ras] for s in statuses if s.ras is not None}
            self.state.rows = table_rows(c.study) if c.study is not None else []
            self.state.warnings = [str(w) for w in c.study.warnings] if c.study is not None else []
            self.state.study_error = self._for_page(c.last_error) if c.last_error else ""
            if c.study is not None:
                self._show_outlines()
            self._update_save_state()
            self.state.measure_count += 1

    def _typed_overrides_pending(self) -> bool:
        c = self.controller
        for name in OVERRIDE_FIELDS:
            if str(self.state[name] or "").strip() != str(c.get_parameter(name) or "").strip():
                return True
        return self.state.normalization != c.get_parameter("normalization")

    def save_block(self) -> str:
        """Why the open study cannot be saved now ("" when it can); shown beside the Save button."""
        c = self.controller
        if c is None or c.pet_node is None:
            return "nothing to save: no PET is shown"
        if c.suv_refusal:
            return "the SUV is refused: correct the SUV values and apply"
        if self._typed_overrides_pending():
            return "typed SUV values are not applied: press Apply (or undo them)"
        if c.placing_site:
            return f"placing {PANEL_TITLES[c.placing_site]}: click it in a view, or press Escape"
        if c.last_error:
            return "the last measurement failed"
        if c.study is None or not any(c.is_placed(site) for site in ALL_SITES):
            return "nothing measured yet: place a site"
        return ""

    def _snapshot(self):
        """The reading as it would be saved: points (with those kept while the SUV is refused), overrides and
        normalisation."""
        c = self.controller
        if c is None:
            return None
        points = dict(self._pending_points)
        if c.points_node is not None:
            points.update({site: c.site_ras(site) for site in ALL_SITES if c.is_placed(site)})
        rounded = tuple(sorted((site, tuple(round(float(v), 4) for v in ras)) for site, ras in points.items()))
        overrides = tuple(str(c.get_parameter(name) or "") for name in OVERRIDE_FIELDS)
        return rounded, overrides, c.get_parameter("normalization")

    def _dirty(self) -> bool:
        return self.controller is not None and self._baseline is not None and self._snapshot() != self._baseline

    def _update_save_state(self):
        c = self.controller
        block = self.save_block()
        self.state.save_block = block
        stale = ""
        if c is not None and c.study is not None:
            if c.suv_refusal:
                stale = "not current: these numbers are from before the refused SUV values"
            elif self._typed_overrides_pending():
                stale = "not current: the typed SUV values are not applied yet"
            elif c.last_error:
                stale = "not current: the last measurement failed"
        self.state.results_stale = stale
        self.state.dirty = self._dirty()
        self.state.pending_points = len(self._pending_points)

    # ------------------------------------------------------------------------------------------- actions
    def _action(self, name, fn, what, *, busy: bool = False):
        """Register ``fn`` as the page action ``name``: its errors reach the page as one line (the traceback
        goes to the server's log only). With ``busy`` the page shows the busy sign while it runs: the sign is sent
        first, and the event loop is let go once so that it reaches the page before the work blocks the server."""

        def work(*args):
            try:
                with self.state:
                    fn(*args)
            except PentixaforQuantError as exc:
                with self.state:
                    self._tell(f"{what}: {self._for_page(str(exc))}")
            except Exception as exc:  # noqa: BLE001 - one line in the page; the details in the server's log
                log.error("%s failed:\n%s", name, traceback.format_exc())
                with self.state:
                    self._tell(f"{what}: internal error ({type(exc).__name__}); see the server's log")

        async def work_busy(*args):
            import asyncio

            with self.state:
                self.state.busy = True
            await asyncio.sleep(0.02)
            try:
                work(*args)
            finally:
                with self.state:
                    self.state.busy = False

        run = work_busy if busy else work
        self.server.trigger(name)(run)
        return run

    def _leave_allowed(self, target: int, discard) -> bool:
        """Whether the open study may be left for ``target``; with unsaved changes the page asks first."""
        if discard is True or self.index is None or target == self.index or not self._dirty():
            return True
        self.state.confirm_target = target
        self.state.confirm_text = (f"{self.worklist.studies[self.index].study_id} has unsaved changes. Open "
                                   f"{self.worklist.studies[target].study_id} and discard them?")
        return False

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
        if self._anatomy is not None:
            nodes.append(self._anatomy[1])
            self._anatomy = None
        for node in nodes:
            if node is not None and scene.IsNodePresent(node):
                scene.RemoveNode(node)
        self.controller = None

    def open_study(self, index, discard=False):
        """Open study ``index`` of the worklist (a refusal is shown in the page; the worklist stays usable).
        With unsaved changes in the open study the page asks first (``discard=True`` answers yes)."""
        index = _study_index(index, len(self.worklist.studies))
        self.state.confirm_target = -1
        if not self._leave_allowed(index, discard):
            return
        self._open(index)

    def _open(self, index: int):
        from ..outputs.points import read_points
        from ..scene.panel import PanelController
        from .saving import read_saved_points

        self._close_study()
        study = self.worklist.studies[index]
        self.index = index
        self._pending_points, self._replacing, self._baseline, self._hot_spots = {}, None, None, None
        self._anatomy = None
        saved = self.worklist.saved_reading(index)
        self.seen_revision = None if saved is None else saved.get("revision")
        reader, count, window = self.state.reader_name, self.state.measure_count, self.state.window
        opacity = self.state.fusion_opacity
        self._init_state()
        self.state.reader_name, self.state.measure_count = reader, count  # the reader stays; the count grows
        self.state.window, self.state.fusion_opacity = window, opacity
        self.state.current = index
        self.state.study_title = study.study_id
        self.state.study_note = (f"Saved by {saved.get('reader')} at {_local_time(saved.get('saved_at'))} "
                                 f"(revision {saved.get('revision')}); reloaded" if saved else "")
        if study.problem:
            self.state.study_error = f"{study.study_id}: {self._for_page(study.problem, index)}"
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
            try:
                if saved:
                    points = read_saved_points(self.worklist.output_folder(index)) or {}
                else:
                    points = read_points(study.points) if study.points else {}
            except PentixaforQuantError as exc:
                points = {}
                self.state.study_note = f"points not loaded: {self._for_page(str(exc), index)}"
            pet = c.load_dicom(study.dicom, series_uid=study.series_uid)
            if pet is not None:
                self._show_pet(pet)
                self._show_anatomy(study)
                for site, ras in points.items():
                    c.place_site(site, ras)
            else:
                self._pending_points = dict(points)  # kept until the SUV is accepted (see apply_overrides)
            self._publish()
            if c.suv_refusal:
                self.state.study_error = f"{study.study_id}: {self._for_page(c.suv_refusal, index)}"
                self._refused[index] = c.suv_refusal
            else:
                self._refused.pop(index, None)
            self._baseline = self._snapshot()
            self._update_save_state()
        self.state.worklist_items = self._worklist_items()
        self._publish_geometry()

    def _show_pet(self, pet):
        self.controller.apply_display_preset()  # the desktop panel's reading preset (inverted grey, SUV 0-6)
        self._apply_window()
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

    def _show_anatomy(self, study):
        """The study's CT or MR (manifest ``ct`` column, else a second series in its folder) under the PET in the
        three slice views, the PET on top with the page's opacity; the MIP stays the PET's."""
        import slicer.util

        from .anatomy import read_anatomy_series

        try:
            series = read_anatomy_series(study.anatomy or study.dicom)
        except PentixaforQuantError as exc:
            self.state.study_note = f"CT/MR not shown: {self._for_page(str(exc))}"
            return
        if series is None:
            return
        scene = self.slicer_app.scene
        node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", f"{study.study_id} {series.modality}")
        slicer.util.updateVolumeFromArray(node, series.voxels)
        node.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(series.ijk_to_ras))
        node.CreateDefaultDisplayNodes()
        display = node.GetDisplayNode()
        display.SetAndObserveColorNodeID("vtkMRMLColorTableNodeGrey")
        display.AutoWindowLevelOff()
        if series.modality == "CT":
            display.SetWindowLevel(400.0, 40.0)  # soft tissue, bone still bright
        else:
            lo, hi = np.percentile(series.voxels, [1, 99.5])
            display.SetWindowLevelMinMax(float(lo), float(hi))
        self._anatomy = (series, node)
        self.state.anatomy = f"{series.modality} under the PET: {series.description}"
        self._apply_fusion()

    def _apply_fusion(self):
        if self._anatomy is None or self.controller is None or self.controller.pet_node is None:
            return
        opacity = float(self.state.fusion_opacity)
        if not 0.0 <= opacity <= 1.0:
            raise PentixaforQuantError("the PET opacity must lie between 0 and 1")
        layouts = {self.view(v).get_view_node().GetLayoutName() for v in VIEW_IDS}
        scene = self.slicer_app.scene
        for n in range(scene.GetNumberOfNodesByClass("vtkMRMLSliceCompositeNode")):
            composite = scene.GetNthNodeByClass(n, "vtkMRMLSliceCompositeNode")
            if composite.GetLayoutName() in layouts:
                composite.SetBackgroundVolumeID(self._anatomy[1].GetID())
                composite.SetForegroundVolumeID(self.controller.pet_node.GetID())
                composite.SetForegroundOpacity(opacity)

    def set_fusion(self):
        self._apply_fusion()

    def next_study(self, discard=False):
        """The next study after the open one that is not done (wrapping), else the next one."""
        n = len(self.worklist.studies)
        start = -1 if self.index is None else self.index
        order = [(start + k) % n for k in range(1, n + 1)]
        target = next((i for i in order if self.worklist.state(i) not in (DONE, REFUSED)), order[0])
        self.open_study(target, discard)

    def keep_study(self):
        """The reader answered "stay" to the unsaved-changes question."""
        self.state.confirm_target = -1

    # ------------------------------------------------------------------------------------------- sites
    def place(self, site):
        """The next click in a slice view places ``site``. Placing a placed site again keeps its point until the
        click: Escape (:meth:`cancel_placing`) puts it back."""
        c = self.controller
        if site not in ALL_SITES:
            raise PentixaforQuantError("that is not a site of the protocol")
        if c is None or c.points_node is None:
            raise PentixaforQuantError("no PET is shown")
        if c.placing_site and c.placing_site != site:
            self.cancel_placing()
        previous = c.site_ras(site) if c.is_placed(site) else None
        c.start_placing(site)
        self._replacing = (site, previous) if previous is not None else None

    def cancel_placing(self):
        """Leave place mode; a site that was being placed again gets its previous point back."""
        c = self.controller
        if c is None or not c.placing_site:
            return
        replacing, self._replacing = self._replacing, None
        c.cancel_placing()
        if replacing is not None and not c.is_placed(replacing[0]):
            c.place_site(*replacing)

    def clear(self, site):
        if site not in ALL_SITES:
            raise PentixaforQuantError("that is not a site of the protocol")
        if self.controller is not None and self.controller.points_node is not None:
            self.controller.clear_site(site)

    def _show_outlines(self):
        seg = self.controller.segmentation
        display = seg.GetDisplayNode() if seg is not None else None
        if display is not None and display.GetAttribute("PentixaforQuant.web") is None:
            display.SetAttribute("PentixaforQuant.web", "outlines")
            display.SetSliceIntersectionThickness(2)
            display.SetViewNodeIDs([self.view(v).get_view_node_id() for v in VIEW_IDS])

    # ------------------------------------------------------------------------------------------- display
    def _apply_window(self):
        c = self.controller
        if c is None or c.pet_node is None or c.pet_node.GetDisplayNode() is None:
            return
        lo, hi = (float(v) for v in self.state.window)
        if not (WINDOW_RANGE[0] <= lo < hi <= WINDOW_RANGE[1]):
            raise PentixaforQuantError(f"the window must lie within SUV {WINDOW_RANGE[0]:g}-{WINDOW_RANGE[1]:g}")
        display = c.pet_node.GetDisplayNode()
        display.AutoWindowLevelOff()
        display.SetWindowLevelMinMax(lo, hi)

    def set_window(self, lo=None, hi=None):
        if lo is not None and hi is not None:
            self.state.window = [float(lo), float(hi)]
        self._apply_window()

    def reset_window(self):
        self.state.window = list(PRESET_WINDOW)
        self._apply_window()

    def next_hot_spot(self):
        """Centre the slice views on the next of the PET's foci, from the hottest (wrapping)."""
        from ..scene.mrml import volume_array, volume_grid

        c = self.controller
        if c is None or c.pet_node is None:
            raise PentixaforQuantError("no PET is shown")
        if self._hot_spots is None:
            self._hot_spots = (hot_spots(volume_array(c.pet_node), volume_grid(c.pet_node)), -1)
        spots, last = self._hot_spots
        if not spots:
            self.state.hot_spot = "no focus of SUV 2 or more"
            return
        n = (last + 1) % len(spots)
        self._hot_spots = (spots, n)
        self._jump(spots[n]["ras"])
        r, a, s = spots[n]["ras"]
        self.state.hot_spot = (f"hot spot {n + 1} of {len(spots)}: SUVmax {spots[n]['suv']:.2f} at R {r:.0f}, "
                               f"A {a:.0f}, S {s:.0f} mm")

    # ------------------------------------------------------------------------------------------- SUV
    def apply_overrides(self):
        """Convert the open study again with the normalisation and overrides typed into the page."""
        c = self.controller
        if c is None:
            return
        had_pet = c.pet_node is not None
        for name in OVERRIDE_FIELDS:
            c.set_override(name, str(self.state[name] or ""))
        if self.state.normalization not in PARAMETERS["normalization"].choices:
            raise PentixaforQuantError("unknown SUV normalisation")
        if self.state.normalization != c.get_parameter("normalization"):
            c.set_parameter("normalization", self.state.normalization)  # converts again
        else:
            c.reconvert()
        if c.pet_node is not None and not had_pet:
            self._show_pet(c.pet_node)
            self._show_anatomy(self.worklist.studies[self.index])
            pending, self._pending_points = self._pending_points, {}
            for site, ras in pending.items():  # the points kept while the SUV was refused
                c.place_site(site, ras)
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

        self.state.save_message = self.state.save_error = ""
        block = self.save_block()
        if block:
            self.state.save_error = f"not saved: {block}"
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
            self.state.save_error = self._for_page(f"cannot write the outputs: {exc.strerror or exc}")
            return
        self.seen_revision = reading["revision"]
        self._baseline = self._snapshot()
        self.state.save_message = (f"Saved by {reading['reader']} at {_local_time(reading['saved_at'])} "
                                   f"(revision {reading['revision']})")
        self.state.study_note = self.state.save_message
        self._update_save_state()
        self.state.worklist_items = self._worklist_items()

    # ------------------------------------------------------------------------------------------- page
    def _build_ui(self):
        from trame.widgets import client, html
        from trame_vuetify.ui.vuetify3 import SinglePageLayout
        from trame_vuetify.widgets import vuetify3 as v

        act = self._action
        act("open_study", self.open_study, "cannot open the study", busy=True)
        act("next_study", self.next_study, "cannot open the next study", busy=True)
        act("keep_study", self.keep_study, "cannot stay")
        act("place", self.place, "cannot place the site")
        act("cancel_placing", self.cancel_placing, "cannot cancel the placement")
        act("clear", self.clear, "cannot clear the site")
        act("save", self.save, "not saved")
        act("apply_overrides", self.apply_overrides, "SUV values not applied", busy=True)
        set_window = act("set_window", self.set_window, "window not set")
        set_fusion = act("set_fusion", self.set_fusion, "opacity not set")
        act("reset_window", self.reset_window, "window not reset")
        act("next_hot_spot", self.next_hot_spot, "no hot spot")
        self.state.change(*OVERRIDE_FIELDS, "normalization")(lambda **_: self._update_save_state())
        self.state.change("window")(lambda **_: set_window())
        self.state.change("fusion_opacity")(lambda **_: set_fusion())

        with SinglePageLayout(self.server, full_height=True) as layout:
            layout.title.set_text("PentixaforQuant")
            layout.toolbar.density = "compact"
            layout.footer.hide()  # the page's height is the reading's: views and results
            with layout.toolbar:
                html.Span("{{ study_title }}", id="study-title", classes="mx-3 text-subtitle-1")
                v.VProgressCircular(v_if="busy", indeterminate=True, size=22, width=3, id="busy", classes="mx-2")
                html.Span("loading...", v_if="busy", classes="busy-text")
                v.VSpacer()
                v.VTextField(v_model=("reader_name",), label="Reader", density="compact", hide_details=True,
                             style="max-width: 180px", id="reader-name", maxlength=80)
                v.VBtn("Save", click="trigger('save')", id="save", classes="ml-2", variant="tonal",
                       disabled=("!!save_block || busy",))
                with html.Div(classes="save-status"):
                    html.Span("{{ save_block }}", v_if="save_block && !save_error", id="save-blocked",
                              raw_attrs=[':title="save_block"'])
                    html.Span("{{ save_message }}", v_if="save_message && !save_block", id="save-message",
                              raw_attrs=[':title="save_message"'])
                    html.Span("{{ save_error }}", v_if="save_error", id="save-error", role="alert",
                              raw_attrs=[':title="save_error"'])
                v.VBtn("Next study", click="trigger('next_study')", id="next-study", classes="ml-2",
                       variant="tonal", disabled=("busy",))
            with layout.content:
                client.Style(_CSS)
                client.Script(_KEYS_JS)
                with v.VSnackbar(v_model=("message_show",), timeout=8000, location="top", id="snackbar"):
                    html.Span("{{ message }}", id="message")
                with v.VDialog(model_value=("confirm_target >= 0",), persistent=True, max_width=480):
                    with v.VCard(id="confirm-leave"):
                        v.VCardText("{{ confirm_text }}")
                        with v.VCardActions():
                            v.VSpacer()
                            v.VBtn("Stay", click="trigger('keep_study')", id="confirm-stay")
                            v.VBtn("Discard changes and open", color="error", id="confirm-discard",
                                   click="trigger('open_study', [confirm_target, true])")
                with html.Div(classes="station"):
                    with html.Div(classes="side"):
                        self._sites_panel(html, v)
                        self._display_panel(html, v)
                        self._worklist_panel(html)
                        self._suv_panel(html)
                    with html.Div(classes="main"):
                        # The areas around the views keep their size whatever they show, so the views never move
                        # or resize under the reader's mouse (a resized view maps clicks wrongly until redrawn).
                        with html.Div(classes="status-area"):
                            html.Div("{{ study_error }}", v_if="study_error", classes="refusal", id="study-error",
                                     role="alert", raw_attrs=[':title="study_error"'])
                            html.Div("{{ pending_points }} saved point(s) kept: they come back when the SUV is "
                                     "accepted", v_if="pending_points", classes="refusal", id="pending-points")
                            html.Div("{{ study_note }}", v_if="study_note", classes="note", id="study-note")
                        with html.Div(classes="views"):
                            self.layout_manager.initialize_layout_grid(layout)
                        html.Div("{{ cursor_text || 'move the mouse over a view to read the SUV' }}",
                                 id="cursor-suv", classes="cursor")
                        with html.Div(classes="results-area"):
                            self._results_table(html)
                        html.Pre("{{ JSON.stringify({points, view_geometry, measure_count, save_block, dirty, "
                                 "busy, placing, results_stale, pending_points, anatomy}) }}", id="page-data",
                                 classes="page-data")
        self.ui = layout

    def _sites_panel(self, html, v):
        html.H3("Sites")
        with html.Div(id="sites"):
            with html.Div(v_for="s in sites", key="s.site", classes="site-row",
                          raw_attrs=[':data-site="s.site"', ':data-status="s.status"']):
                html.Button("{{ s.title }}", click="trigger('place', [s.site])",
                            classes=("{ placing: s.placing, placed: s.placed }",),
                            raw_attrs=[':id="\'place-\' + s.site"', ':disabled="busy"'])
                html.Button("clear", v_if="s.placed && !s.placing", click="trigger('clear', [s.site])",
                            classes="clear", raw_attrs=[':id="\'clear-\' + s.site"'])
                html.Div("{{ s.line }}", classes=("'site-line ' + s.status",))
        with html.Div(v_if="placing", classes="hint", id="placing-hint"):
            html.Span("Click {{ placing_title }} in a slice view. ")
            html.Button("Cancel (Esc)", click="trigger('cancel_placing')", id="cancel-placing", classes="apply")
        with html.Ul(id="summary"):
            html.Li("{{ line }}", v_for="line in summary")

    def _display_panel(self, html, v):
        html.H3("Display")
        html.Div("Pentixafor preset: inverted grey, SUV window {{ window[0].toFixed(1) }} - "
                 "{{ window[1].toFixed(1) }}", classes="note", id="window-text")
        v.VRangeSlider(v_model=("window",), min=WINDOW_RANGE[0], max=WINDOW_RANGE[1], step=0.5, density="compact",
                       hide_details=True, id="window", strict=True)
        with html.Div(classes="buttons"):
            html.Button("Reset window", click="trigger('reset_window')", id="reset-window", classes="apply")
            html.Button("Next hot spot", click="trigger('next_hot_spot')", id="next-hot-spot", classes="apply")
        html.Div("{{ hot_spot }}", v_if="hot_spot", classes="note", id="hot-spot")
        with html.Div(v_if="anatomy", id="fusion"):
            html.Div("{{ anatomy }}; PET opacity {{ Math.round(fusion_opacity * 100) }} %", classes="note",
                     id="fusion-text")
            v.VSlider(v_model=("fusion_opacity",), min=0, max=1, step=0.05, density="compact", hide_details=True,
                      id="fusion-opacity")

    def _worklist_panel(self, html):
        html.H3("Worklist")
        with html.Ul(id="worklist"):
            with html.Li(v_for="item in worklist_items", key="item.index",
                         raw_attrs=[':data-state="item.state"', ':data-study="item.study_id"']):
                html.Button("{{ item.study_id }}", click="trigger('open_study', [item.index])",
                            classes=("{ study: true, current: item.index === current }",),
                            raw_attrs=[':disabled="busy"'])
                html.Span(" ({{ item.state }})", classes="state")
                html.Div("{{ item.note }}", v_if="item.note", classes="note")

    def _suv_panel(self, html):
        html.H3("SUV")
        html.Div("{{ suv_refusal }}", v_if="suv_refusal", classes="refusal", id="suv-refusal", role="alert")
        with html.Table(classes="audit", id="suv-audit"):
            with html.Tr(v_for="(row, i) in audit", key="i"):
                html.Td("{{ row[0] }}")
                html.Td("{{ row[1] }}", classes="value")
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
            html.Button("Apply", click="trigger('apply_overrides')", id="apply-overrides", classes="apply")

    def _results_table(self, html):
        html.Div("{{ results_stale }}", v_if="results_stale && rows.length", classes="refusal", id="results-stale",
                 role="alert")
        with html.Table(id="results", classes=("{ results: true, stale: !!results_stale }",)):
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
                    with html.Td(classes="notes", raw_attrs=['data-col="notes"']):
                        # One short line per warning; its full text (positions, what to do) one click away.
                        with html.Details(v_for="(w, n) in row.warnings", key="n", classes="warning"):
                            html.Summary("{{ w.short }}", raw_attrs=[':title="w.detail"'])
                            html.Div("{{ w.detail }}", classes="detail")
                        html.Span("{{ row.notes }}", v_if="!row.warnings.length")
        with html.Ul(v_if="warnings.length", classes="warnings", id="warnings"):
            html.Li("{{ w }}", v_for="w in warnings")
        html.Div("Definitions of every number: study.json and sites.csv of the saved reading.", classes="note")


def _grid(series):
    from ..geometry import VoxelGrid

    return VoxelGrid(series.ijk_to_ras, series.voxels.shape)


def _local_time(iso: str | None) -> str:
    """A saved time (UTC, ISO 8601) in this machine's local time."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(iso)).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    except ValueError:
        return str(iso)


def _slice_view_gutter(server, view_id, view):
    """The slice slider under each view, the view's name and its orientation letters (no 3D buttons)."""
    from trame.widgets import html
    from trame_slicer.app.logic import connect_slice_view_slider_to_state
    from trame_slicer.app.ui.slider import Slider

    with html.Div(style="position: absolute; bottom: 0; left: 0; width: 100%;"):
        Slider(typed_state=connect_slice_view_slider_to_state(server, view), theme="dark", density="compact")
    tag = view.get_singleton_tag()
    letters = f"view_geometry['{tag}'] && view_geometry['{tag}'].letters"
    html.Div(VIEW_NAMES.get(tag, tag), classes="view-label", raw_attrs=[f'data-view="{tag}"'])
    for edge in ("left", "right", "top", "bottom"):
        html.Div(f"{{{{ {letters} ? {letters}.{edge} : '' }}}}", classes=f"letter letter-{edge}",
                 raw_attrs=[f'data-view="{tag}"', f'data-edge="{edge}"'])


#: Escape cancels a placement (and puts back a re-placed point); leaving the page with unsaved changes asks.
_KEYS_JS = """
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && window.trame && window.trame.state.get('placing')) {
    window.trame.trigger('cancel_placing');
  }
});
window.addEventListener('beforeunload', (e) => {
  if (window.trame && window.trame.state.get('dirty')) { e.preventDefault(); e.returnValue = ''; }
});
"""

_CSS = """
html { overflow-y: auto; }
.station { display: flex; gap: 10px; padding: 6px; height: calc(100vh - 48px); box-sizing: border-box; }
.side { width: 300px; flex: none; overflow-y: auto; font-size: 13px; padding-right: 4px; }
.side h3 { margin: 8px 0 3px; font-size: 14px; }
.main { flex: 1; display: flex; flex-direction: column; min-width: 0; min-height: 0; }
.views { flex: 1 1 auto; min-height: 240px; position: relative; }
.status-area { flex: none; height: 44px; overflow-y: auto; }
.results-area { flex: none; height: 250px; overflow-y: auto; }
.view-label { position: absolute; top: 2px; left: 50%; transform: translateX(-50%); color: #fff;
  background: rgba(0,0,0,.55); padding: 0 6px; border-radius: 3px; font-size: 12px; pointer-events: none; }
.letter { position: absolute; color: #ffeb3b; font-weight: bold; font-size: 13px; pointer-events: none;
  text-shadow: 0 0 2px #000; }
.letter-left { left: 4px; top: 50%; } .letter-right { right: 4px; top: 50%; }
.letter-top { top: 18px; left: 50%; } .letter-bottom { bottom: 26px; left: 50%; }
.cursor { font-size: 12px; color: #333; padding: 1px 4px; height: 18px; flex: none; overflow: hidden;
  white-space: nowrap; }
.busy-text { font-size: 13px; }
.save-status { max-width: 340px; font-size: 12px; line-height: 1.2; margin-left: 8px; overflow: hidden;
  max-height: 44px; }
#save-blocked { color: #8d6e00; } #save-error { color: #b71c1c; font-weight: bold; } #save-message { color: #1b5e20; }
#worklist { list-style: none; padding: 0; max-height: 150px; overflow-y: auto; border: 1px solid #eee; }
#worklist button.study { color: #1a4f9c; text-decoration: underline; }
#worklist button.current { font-weight: bold; }
.site-row { display: flex; align-items: center; gap: 6px; margin: 1px 0; flex-wrap: wrap; }
.site-row button { border: 1px solid #888; border-radius: 4px; padding: 0 8px; }
.site-row button.placing { background: #ffd54f; }
.site-row button.placed { background: #c8e6c9; }
.site-row button.clear { font-size: 12px; }
.site-line { font-size: 12px; color: #333; flex-basis: 100%; margin-left: 8px; }
.site-line.warning, .site-line.error { color: #e65100; }
.buttons { display: flex; gap: 6px; }
button.apply { border: 1px solid #888; border-radius: 4px; padding: 0 8px; margin-top: 3px; }
.hint { background: #fff8e1; padding: 2px 6px; }
.refusal { background: #ffebee; color: #b71c1c; padding: 3px 8px; margin: 2px 0; font-size: 13px; }
.note { color: #555; font-size: 12px; }
.warnings { color: #e65100; font-size: 12px; margin: 0; }
table.results { border-collapse: collapse; margin-top: 2px; font-size: 13px; flex: none; }
table.results th, table.results td { border: 1px solid #ccc; padding: 0 6px; text-align: right; }
table.results th[scope=row], table.results td.notes, table.results th:first-child { text-align: left; }
table.results.stale td { color: #9e9e9e; text-decoration: line-through; }
table.results th:last-child { text-align: left; }
table.results td.notes details.warning summary { cursor: pointer; }
table.results td.notes .detail { max-width: 520px; white-space: normal; color: #333; padding: 1px 0 3px 12px; }
table.audit { font-size: 12px; border-collapse: collapse; width: 100%; }
table.audit td { border-bottom: 1px solid #eee; padding: 1px 3px; vertical-align: top; word-break: break-word; }
table.audit td:first-child { word-break: normal; hyphens: auto; }
table.audit td.value { white-space: normal; }
table.audit td.source { color: #666; font-size: 11px; }
label.override { display: block; font-size: 12px; }
label.override input { border: 1px solid #aaa; width: 150px; margin-left: 4px; }
.page-data { display: none; }
"""
