"""PentixaforQuant: Slicer scripted module (Module, parameter node, Widget, Logic facade, self-test).

All science and every panel behaviour live in the Qt-free package ``PentixaforQuantLib`` next to this file; the
widget only connects Qt signals to ``PentixaforQuantLib.scene.panel.PanelController`` and shows its state.
"""

import logging
import os
from typing import Annotated

import qt
import slicer
from slicer import vtkMRMLMarkupsFiducialNode, vtkMRMLMarkupsROINode, vtkMRMLScalarVolumeNode, vtkMRMLTableNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

# Standard library only: safe before scipy and scikit-image are installed.
from PentixaforQuantLib.scene.panel_parameters import PARAMETERS, SITE_ROW_TITLES, SITE_WIDGET_NAMES

#: Import names of the packages needed beyond what Slicer bundles (Resources/requirements.txt pins them).
REQUIRED_IMPORTS = ("scipy", "skimage")


#
# PentixaforQuant
#
class PentixaforQuant(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("PentixaforQuant")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = []
        self.parent.contributors = ["PentixaforQuant developers"]
        self.parent.helpText = _(
            "CXCR4 PET (68Ga-Pentixafor) quantification, exactly to the published definitions.<br>"
            "<b>SUV</b> from PET DICOM (bw, lbm Janmahasatian, bsa Du Bois, ibw Devine) with an audit of every input "
            "and decision; missing values can be given as overrides.<br>"
            "<b>Target lesion</b>: voxels connected to the peak near the click with SUV &ge; 40 % of SUVmax "
            "(6-connected); SUVmax, SUVmean, SUVpeak (1 mL sphere), volume.<br>"
            "<b>Blood pool</b>: 15 mm sphere in the aortic arch lumen, SUVmean; <b>TBR</b> = SUVmax(lesion) / "
            "SUVmean(blood pool) (Buck et al., J Nucl Med 2022).<br>"
            "<b>Bone marrow</b>: 15 mm spheres at C7, T12, L5, right and left ilium, SUVmax each; "
            "<b>meanSUVmax</b> = their mean (Herhaus et al., Haematologica 2016).<br>"
            "Results go to a table node, VOIs to a segmentation node; everything is saved with the scene."
        )
        self.parent.acknowledgementText = _(
            "SUV tested against the IBSI-SUV digital reference objects (Vacha et al., IBSI, CC BY 4.0); the protocol "
            "against a synthetic Pentixafor reference phantom with analytic answers."
        )
        slicer.app.connect("startupCompleted()", registerSegmentStatisticsPlugin)


def registerSegmentStatisticsPlugin():
    """Add PentixaforQuant's SUV plugin (SUVpeak, SUV max/mean/SD with DICOM codes) to Segment Statistics."""
    try:
        from SegmentStatistics import SegmentStatisticsLogic
        from PentixaforQuantSegmentStatistics.SUVSegmentStatisticsPlugin import (
            PentixaforQuantSUVSegmentStatisticsPlugin,
        )
    except ImportError as exc:  # Segment Statistics absent: the rest of the module works without the plugin
        logging.warning(f"PentixaforQuant: Segment Statistics plugin not registered ({exc})")
        return
    SegmentStatisticsLogic.registerPlugin(PentixaforQuantSUVSegmentStatisticsPlugin())


#
# Parameter node: the fields and defaults of PentixaforQuantLib.scene.panel_parameters.PARAMETERS (the test suite
# checks that they agree); the panel controller reads and writes the same node.
#
@parameterNodeWrapper
class PentixaforQuantParameterNode:
    petVolume: vtkMRMLScalarVolumeNode
    pointsNode: vtkMRMLMarkupsFiducialNode
    roiNode: vtkMRMLMarkupsROINode
    cohortTable: vtkMRMLTableNode
    normalization: Annotated[str, Choice(["bw", "lbm", "bsa", "ibw"])] = "bw"
    thresholdPercent: Annotated[float, WithinRange(10.0, 90.0)] = 40.0
    thresholdMethod: Annotated[str, Choice(["fixed", "a50"])] = "fixed"
    connectivity: Annotated[int, Choice([6, 18, 26])] = 6
    searchRadiusMm: Annotated[float, WithinRange(0.0, 50.0)] = 10.0
    bloodPoolDiameterMm: Annotated[float, WithinRange(0.0, 40.0)] = 15.0
    marrowDiameterMm: Annotated[float, WithinRange(0.0, 40.0)] = 15.0
    peakVariant: Annotated[str, Choice(["global", "local"])] = "global"
    peakRadiusMm: Annotated[float, WithinRange(0.0, 15.0)] = 6.2035
    maxVolumeMl: Annotated[float, WithinRange(0.0, 10000.0)] = 1000.0
    tbrNumerator: Annotated[str, Choice(["suv_max", "suv_peak", "suv_mean"])] = "suv_max"
    autoUpdate: bool = True
    overrideWeightKg: str = ""
    overrideHeightM: str = ""
    overrideSex: str = ""
    overrideDoseMBq: str = ""
    overrideInjectionDateTime: str = ""
    overrideScanDateTime: str = ""
    overrideHalfLifeS: str = ""
    studyId: str = ""
    diagnosis: str = ""
    group: str = ""
    uptake: Annotated[str, Choice(["", "yes", "no"])] = ""
    activityMBq: str = ""
    peptideMassUg: str = ""


def dicomResolver():
    """SOP Instance UID -> file in Slicer's DICOM database (None without a database)."""
    return slicer.dicomDatabase.fileForInstance if slicer.dicomDatabase else None


def missingPackages():
    """Import names of the required packages that are not installed in Slicer's Python."""
    import importlib.util

    return [name for name in REQUIRED_IMPORTS if importlib.util.find_spec(name) is None]


def installPackages(requirementsPath):
    """Install a requirements file into Slicer's Python; call only after the user agreed (clicked Install).

    Slicer 5.12+ (``pip_ensure``), else the 5.10 ``slicer.util.pip_install``. The click was the consent, so no
    second confirmation dialog is asked for where the API allows.
    """
    import importlib
    import inspect

    for name in ("slicer.packaging", "slicer.pydeps"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "pip_ensure") and hasattr(module, "load_requirements"):
            options = {"requester": "PentixaforQuant"}
            if "prompt_install" in inspect.signature(module.pip_ensure).parameters:
                options["prompt_install"] = False
            module.pip_ensure(module.load_requirements(requirementsPath), **options)
            return
    with open(requirementsPath, encoding="utf-8") as fh:
        requirements = [line.strip() for line in fh if line.strip() and not line.startswith(("#", "-"))]
    slicer.util.pip_install(requirements)  # a list: no shell splitting of the version specifiers


def installRequirement(requirement):
    """Install one requirement string (e.g. ``"highdicom>=0.27"``) the same way; only after the user agreed."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "requirements.txt")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(requirement + "\n")
        installPackages(path)


#
# PentixaforQuantWidget
#
class PentixaforQuantWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """Connects the panel to :class:`PentixaforQuantLib.scene.panel.PanelController`; holds no state of its own."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._controller = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/PentixaforQuant.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        for widget in uiWidget.findChildren(qt.QWidget):  # each parameter's definition as its tooltip
            name = widget.property("SlicerParameterName")
            if name in PARAMETERS:
                widget.toolTip = PARAMETERS[name].tooltip
        self.ui.resultsTableView.setMRMLScene(slicer.mrmlScene)

        self.logic = PentixaforQuantLogic()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.installPackagesButton.connect("clicked(bool)", self.onInstallPackages)
        self.ui.loadDicomButton.connect("clicked(bool)", self.onLoadDicom)
        self.ui.loadDemoButton.connect("clicked(bool)", lambda: self._run(self._loadDemo))
        self.ui.applyOverridesButton.connect("clicked(bool)", lambda: self._run(lambda c: c.apply_overrides()))
        self.ui.clearOverridesButton.connect("clicked(bool)", lambda: self._run(lambda c: c.clear_overrides()))
        for site, part in SITE_WIDGET_NAMES.items():
            getattr(self.ui, f"{part[0].lower()}{part[1:]}TitleLabel").text = SITE_ROW_TITLES[site]  # as the outputs
            getattr(self.ui, f"place{part}Button").connect("clicked(bool)", lambda on, s=site: self.onPlace(s, on))
            getattr(self.ui, f"clear{part}Button").connect(
                "clicked(bool)", lambda _checked, s=site: self._run(lambda c: c.clear_site(s)))
            getattr(self.ui, f"jump{part}Button").connect(
                "clicked(bool)", lambda _checked, s=site: self._run(lambda c: c.jump_to_site(s)))
        self.ui.placeNextButton.connect("clicked(bool)", lambda: self._run(lambda c: c.start_placing()))
        self.ui.recomputeButton.connect("clicked(bool)", lambda: self._run(lambda c: c.recompute()))
        self.ui.exportCsvButton.connect("clicked(bool)", self.onExportCsv)
        self.ui.exportStudyButton.connect("clicked(bool)", self.onExportStudy)
        self.ui.exportDicomButton.connect("clicked(bool)", self.onExportDicom)
        self.ui.addToCohortButton.connect("clicked(bool)", lambda: self._run(lambda c: c.add_to_cohort()))
        self.ui.displayPresetButton.connect("clicked(bool)", lambda: self._run(lambda c: c.apply_display_preset()))
        self.ui.jumpToLesionButton.connect("clicked(bool)", lambda: self._run(lambda c: c.jump_to_site("lesion")))

        self._showPackagesMessage()
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.removeObservers()
        self._closeController()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
        if self._controller is not None:
            self._controller.remove_listener(self._updateGUI)

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)
        self._closeController()

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.petVolume:  # an SUV volume already in the scene saves a click
            # numpy and pydicom only (Slicer bundles them): safe before scipy is installed
            from PentixaforQuantLib.scene.mrml import volume_suv_units

            for node in slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode"):
                if volume_suv_units(node):
                    self._parameterNode.petVolume = node
                    break

    def setParameterNode(self, inputParameterNode: PentixaforQuantParameterNode | None) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            controller = self._getController()
            if controller is not None:
                controller.remove_listener(self._updateGUI)
                controller.add_listener(self._updateGUI)
                self._updateGUI(controller)

    # -------------------------------------------------------------------------------------------- controller
    def _getController(self):
        """The panel controller, once the required packages are installed (None before)."""
        if self._controller is None and not missingPackages():
            self._controller = self.logic.getController()
        return self._controller

    def _closeController(self) -> None:
        if self._controller is not None:
            self._controller.close()
        self._controller = None
        if self.logic is not None:
            self.logic.forgetController()

    def _run(self, action):
        """Run ``action(controller)``; a refusal is shown inline as its one line, never as a traceback dialog."""
        from PentixaforQuantLib.errors import PentixaforQuantError

        controller = self._getController()
        if controller is None:
            self._showPackagesMessage()
            return None
        self.ui.messageLabel.visible = False
        with slicer.util.tryWithErrorDisplay(_("PentixaforQuant failed unexpectedly."), waitCursor=True):
            try:
                return action(controller)
            except PentixaforQuantError as exc:
                self.ui.messageLabel.text = str(exc)
                self.ui.messageLabel.visible = True
        return None

    def _showPackagesMessage(self) -> None:
        missing = missingPackages()
        self.ui.packagesFrame.visible = bool(missing)
        for box in (self.ui.inputCollapsibleButton, self.ui.suvCollapsibleButton, self.ui.sitesCollapsibleButton,
                    self.ui.resultsCollapsibleButton):
            box.enabled = not missing

    def onInstallPackages(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Installing scipy and scikit-image failed."), waitCursor=True):
            installPackages(self.resourcePath("requirements.txt"))
        self._showPackagesMessage()
        if not missingPackages():
            self.setParameterNode(self._parameterNode)

    # ----------------------------------------------------------------------------------------------- actions
    def onLoadDicom(self) -> None:
        folder = qt.QFileDialog.getExistingDirectory(slicer.util.mainWindow(), _("PET DICOM folder"))
        if folder:
            self._run(lambda c: self._show(c, c.load_dicom(folder, progress=self._progress)))

    def _loadDemo(self, controller):
        return self._show(controller, controller.load_demo_phantom())

    def _show(self, controller, pet):
        self.ui.loadProgressBar.visible = False
        if pet is not None:
            controller.apply_display_preset()
            slicer.util.resetSliceViews()
        return pet

    def _progress(self, fraction, message) -> None:
        bar = self.ui.loadProgressBar
        bar.visible = fraction < 1.0
        bar.setRange(0, 0 if fraction <= 0.0 else 100)  # busy until the reader reports a fraction
        bar.value = int(100 * fraction)
        bar.format = message
        slicer.app.processEvents()

    def onPlace(self, site, checked) -> None:
        self._run(lambda c: c.start_placing(site) if checked else c.cancel_placing())

    def onExportCsv(self) -> None:
        path = qt.QFileDialog.getSaveFileName(slicer.util.mainWindow(), _("Export results"), "sites.csv",
                                              "CSV (*.csv)")
        if path:
            self._run(lambda c: c.export_csv(path))

    def onExportStudy(self) -> None:
        folder = qt.QFileDialog.getExistingDirectory(slicer.util.mainWindow(), _("Export study into folder"))
        if folder:
            self._run(lambda c: c.export_study(os.path.join(folder, "PentixaforQuant study")))

    def onExportDicom(self) -> None:
        import importlib.util

        if importlib.util.find_spec("highdicom") is None:  # optional: installed only when the user agrees
            from PentixaforQuantLib.outputs.dicom_seg import HIGHDICOM_REQUIREMENT

            if not slicer.util.confirmOkCancelDisplay(
                    _("Export DICOM writes DICOM SEG and SR with the Python package highdicom, which Slicer does not "
                      "bundle. Install {requirement} now?").format(requirement=HIGHDICOM_REQUIREMENT),
                    windowTitle=_("PentixaforQuant: install highdicom")):
                return
            with slicer.util.tryWithErrorDisplay(_("Installing highdicom failed."), waitCursor=True):
                installRequirement(HIGHDICOM_REQUIREMENT)
            if importlib.util.find_spec("highdicom") is None:
                return
        folder = qt.QFileDialog.getExistingDirectory(slicer.util.mainWindow(), _("Export DICOM SEG and SR into folder"))
        if folder:
            self._run(lambda c: c.export_dicom(os.path.join(folder, "PentixaforQuant DICOM")))

    # ------------------------------------------------------------------------------------------------- view
    def _updateGUI(self, controller) -> None:
        """Show the controller's state: site rows, summary, SUV audit or refusal, results, warnings."""
        statuses = controller.site_statuses()
        for status in statuses:
            part = SITE_WIDGET_NAMES[status.site]
            label = getattr(self.ui, f"{part[0].lower()}{part[1:]}StatusLabel")
            label.text = status.line
            button = getattr(self.ui, f"place{part}Button")
            button.blockSignals(True)
            button.checked = status.placing
            button.blockSignals(False)
            getattr(self.ui, f"clear{part}Button").enabled = status.placed
            getattr(self.ui, f"jump{part}Button").enabled = status.placed
        self.ui.summaryLabel.text = "<br>".join(controller.summary_lines())
        self.ui.refusalLabel.visible = bool(controller.suv_refusal)
        self.ui.refusalLabel.text = controller.suv_refusal or ""
        rows = controller.audit_rows()
        self.ui.auditTable.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.ui.auditTable.setItem(r, c, qt.QTableWidgetItem(value))
        if controller.refusal_field:  # the field to fill: highlighted next to the refusal
            for widget in slicer.util.findChildren(self.ui.suvCollapsibleButton, className="QLineEdit"):
                field = widget.property("SlicerParameterName")
                widget.styleSheet = "border: 2px solid #b00020;" if field == controller.refusal_field else ""
        self.ui.resultsTableView.setMRMLTableNode(controller.results_table)
        warnings = [f"{s.title}: {'; '.join(s.warnings)}" for s in statuses if s.warnings]
        self.ui.warningsLabel.text = "<br>".join(warnings + ([controller.last_error] if controller.last_error else []))


#
# PentixaforQuantLogic
#
class PentixaforQuantLogic(ScriptedLoadableModuleLogic):
    """Slicer-convention facade over the library on ``slicer.mrmlScene``.

    Python console example::

        import PentixaforQuant
        logic = PentixaforQuant.PentixaforQuantLogic()
        pet = logic.loadDicom("/path/to/pet/series")
        points = logic.newPointsNode()          # place points labelled lesion, aorta, C7, T12, L5, ...
        study = logic.measure(pet, points)      # table + segments appear in the scene
        panel = logic.getController()           # what the panel does: panel.place_at(ras), panel.state(), ...

    Misuse (None, a node of the wrong kind or from another scene, a points list without placed points, a volume
    not in SUV units, parameters of the wrong type) raises a ``PentixaforQuantError`` subclass whose message is
    one line naming the argument; the checks live in ``StudyLogic``, so both faces refuse the same things.
    """

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)
        self._study = None
        self._controller = None

    def getParameterNode(self):
        return PentixaforQuantParameterNode(super().getParameterNode())

    def getController(self):
        """The panel controller on the module's parameter node (the widget and the console share it)."""
        from PentixaforQuantLib.scene.panel import PanelController

        raw = super().getParameterNode()
        if self._controller is None or self._controller.parameter_node is not raw:
            self._controller = PanelController(slicer.mrmlScene, raw, resolver=dicomResolver())
        return self._controller

    def forgetController(self) -> None:
        self._controller = None

    @property
    def study(self):
        """The protocol on the scene (:class:`PentixaforQuantLib.scene.logic.StudyLogic`)."""
        if self._study is None:
            from PentixaforQuantLib.scene.logic import StudyLogic

            self._study = StudyLogic(slicer.mrmlScene)
        return self._study

    def loadDicom(self, source, normalization="bw", overrides=None):
        return self.study.load_dicom(source, normalization=normalization, overrides=overrides)

    def suvVolume(self, volumeNode, normalization="bw", overrides=None):
        """SUV volume for a PET volume loaded by Slicer's DICOM module (or already in SUV)."""
        return self.study.suv_volume(volumeNode, resolver=dicomResolver(), normalization=normalization,
                                     overrides=overrides)

    def newPointsNode(self, name="Pentixafor points"):
        return self.study.new_points_node(name)

    def measure(self, petVolumeNode, pointsNode, parameters=None, roiNode=None):
        return self.study.measure(petVolumeNode, pointsNode, parameters=parameters, roi_node=roiNode)

    def observe(self, petVolumeNode, pointsNode, parameters=None, roiNode=None):
        self.study.observe(petVolumeNode, pointsNode, parameters=parameters, roi_node=roiNode)

    def stopObserving(self):
        self.study.stop_observing()

    def exportDicom(self, petVolumeNode, pointsNode, outputFolder, parameters=None, roiNode=None):
        """Write the VOIs as DICOM SEG and the numbers as DICOM SR TID 1500 into ``outputFolder`` (needs highdicom,
        installed only after the user agrees). Returns {"seg": path, "sr": path}."""
        return self.study.export_dicom(petVolumeNode, pointsNode, outputFolder, parameters=parameters,
                                       roi_node=roiNode, resolver=dicomResolver())


#
# PentixaforQuantTest
#
class PentixaforQuantTest(ScriptedLoadableModuleTest):
    """Self-test: the demo phantom through the panel controller, seven points, the table against the design, then
    one point moved and only its row changed (the scenario of PentixaforQuantLib.scene.panel_selftest)."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_panel_on_the_demo_phantom()

    def test_panel_on_the_demo_phantom(self):
        if missingPackages():
            self.skipTest("scipy and scikit-image are not installed (install them from the module panel)")
        from PentixaforQuantLib.scene.panel import PanelController
        from PentixaforQuantLib.scene.panel_selftest import run_panel_self_test

        controller = PanelController(slicer.mrmlScene)
        try:
            rows = run_panel_self_test(controller, log=self.delayDisplay)
            self.delayDisplay("Checking the Segment Statistics plugin on the measured VOIs")
            registerSegmentStatisticsPlugin()
            from PentixaforQuantSegmentStatistics.SUVSegmentStatisticsPlugin import checkPluginOnStudy

            checkPluginOnStudy(self, controller.pet_node, controller.segmentation, controller.study)
        finally:
            controller.close()
        logging.info("PentixaforQuant self-test passed: lesion SUVmax %s", rows["lesion"]["SUVmax"])
        self.delayDisplay("Test passed")
