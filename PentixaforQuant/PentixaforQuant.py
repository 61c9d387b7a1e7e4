"""PentixaforQuant: Slicer scripted module (Module, Logic facade, self-test).

All science lives in the Qt-free package ``PentixaforQuantLib`` next to this file; this file only adapts it to
Slicer's module conventions. The module panel (widget and ``.ui``) is added on top of the same Logic.
"""

import logging
import os

import slicer
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
)

#: Packages needed beyond what Slicer bundles; installed only after the user agrees (never at import).
REQUIRED_PACKAGES = {"scipy": "scipy>=1.10", "skimage": "scikit-image>=0.21"}


class PentixaforQuant(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("PentixaforQuant")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = []
        self.parent.contributors = ["PentixaforQuant developers"]
        self.parent.helpText = _(
            "CXCR4 PET (68Ga-Pentixafor) quantification: SUV from PET DICOM with a full audit; a 40 % isocontour "
            "VOI around the clicked target lesion with SUVmax, SUVmean and SUVpeak; the aortic blood pool and the "
            "target-to-blood-pool ratio; and the five-site bone-marrow template (C7, T12, L5, right and left "
            "ilium) with meanSUVmax. Results go to a table node and segments to a segmentation node."
        )
        self.parent.acknowledgementText = _(
            "Tested against the IBSI-SUV digital reference objects (Vacha et al., IBSI, CC BY 4.0) and a "
            "synthetic Pentixafor reference phantom with analytic answers."
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


def missingPackages():
    """Import names of the required packages that are not installed in Slicer's Python."""
    import importlib.util

    return [name for name in REQUIRED_PACKAGES if importlib.util.find_spec(name) is None]


def installPackages():
    """Install the missing packages (call only after the user agreed)."""
    slicer.util.pip_install(" ".join(REQUIRED_PACKAGES[name] for name in missingPackages()))


class PentixaforQuantLogic(ScriptedLoadableModuleLogic):
    """Slicer-convention facade over :class:`PentixaforQuantLib.scene.logic.StudyLogic` on ``slicer.mrmlScene``.

    Python console example::

        import PentixaforQuant
        logic = PentixaforQuant.PentixaforQuantLogic()
        pet = logic.loadDicom("/path/to/pet/series")
        points = logic.newPointsNode()          # place points labelled lesion, aorta, C7, T12, L5, ...
        study = logic.measure(pet, points)      # table + segments appear in the scene
    """

    def __init__(self):
        ScriptedLoadableModuleLogic.__init__(self)
        from PentixaforQuantLib.scene.logic import StudyLogic

        self.study = StudyLogic(slicer.mrmlScene)

    def loadDicom(self, source, normalization="bw", overrides=None):
        return self.study.load_dicom(source, normalization=normalization, overrides=overrides)

    def suvVolume(self, volumeNode, normalization="bw", overrides=None):
        """SUV volume for a PET volume loaded by Slicer's DICOM module (or already in SUV)."""
        resolver = slicer.dicomDatabase.fileForInstance if slicer.dicomDatabase else None
        return self.study.suv_volume(volumeNode, resolver=resolver, normalization=normalization, overrides=overrides)

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
        resolver = slicer.dicomDatabase.fileForInstance if slicer.dicomDatabase else None
        return self.study.export_dicom(petVolumeNode, pointsNode, outputFolder, parameters=parameters,
                                       roi_node=roiNode, resolver=resolver)


class PentixaforQuantTest(ScriptedLoadableModuleTest):
    """Self-test: the synthetic phantom written as PET DICOM, loaded, measured and checked against its design."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_phantom_end_to_end()

    def test_phantom_end_to_end(self):
        import tempfile

        from PentixaforQuantLib.phantom.dicom_writer import write_phantom
        from PentixaforQuantLib.phantom.design import PhantomOptions, make_phantom

        self.delayDisplay("Writing the synthetic Pentixafor phantom")
        phantom = make_phantom(PhantomOptions(radionuclide="Ga-68"))
        with tempfile.TemporaryDirectory() as folder:
            write_phantom(phantom, folder)
            logic = PentixaforQuantLogic()
            pet = logic.loadDicom(os.path.join(folder, "dicom"))
        points = logic.study.new_points_node(points_ras=phantom.truth.seed_points)
        study = logic.measure(pet, points)
        registerSegmentStatisticsPlugin()
        from PentixaforQuantSegmentStatistics.SUVSegmentStatisticsPlugin import checkPluginOnStudy

        checkPluginOnStudy(self, pet, logic.study.output_nodes(points).segmentation, study)
        truth = phantom.truth.expected
        self.assertAlmostEqual(study.lesion.stats.suv_max, truth["lesion"]["suv_max"], places=2)
        self.assertEqual(study.lesion.stats.voxels, truth["lesion"]["voxels"])
        self.assertAlmostEqual(study.blood_pool.stats.suv_mean, truth["blood_pool"]["suv_mean"], places=2)
        self.assertEqual(study.marrow_sites_used, ["C7", "T12", "L5", "right_ilium", "left_ilium"])
        logging.info("PentixaforQuant self-test passed")
        self.delayDisplay("Test passed")
