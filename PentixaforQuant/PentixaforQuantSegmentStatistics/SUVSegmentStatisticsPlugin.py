"""Segment Statistics plugin: SUVpeak (PentixaforQuant's definition), SUVmax, SUVmean, SD and volume of any segment.

The numbers come from the Qt-free library (``PentixaforQuantLib.measure.segment_metrics``, tested headless), the
DICOM quantity, units, derivation and method codes of every key from ``PentixaforQuantLib.outputs.dicom_codes``
(QuantitativeReporting reads ``DICOM.QuantityCode`` and ``DICOM.UnitsCode`` without a fallback). SUVpeak is the
highest mean of the image voxels within r = 6.2035 mm (1 mL) of a segment voxel, so it exists for any segment,
also one smaller than 1 mL. On a volume that is not in SUV units the plugin reports nothing, logs why and keeps
the reason in ``lastProblem``; the other Segment Statistics plugins are unaffected.
"""

import logging

import slicer
from SegmentStatisticsPlugins import SegmentStatisticsPluginBase

from PentixaforQuantLib.outputs.dicom_codes import SEGMENT_STATISTICS_KEYS, segment_statistic_info
from PentixaforQuantLib.scene.mrml import volume_suv_units  # numpy and pydicom (bundled with Slicer): safe before scipy


class PentixaforQuantSUVSegmentStatisticsPlugin(SegmentStatisticsPluginBase):
    """SUVpeak, SUVmax, SUVmean, SD (population) and volume of a segment on an SUV volume."""

    def __init__(self):
        super().__init__()
        self.name = "PentixaforQuant SUV"
        self.title = "PentixaforQuant SUV"
        self.keys = [spec.key for spec in SEGMENT_STATISTICS_KEYS]
        self.defaultKeys = list(self.keys)
        #: Why the last computation reported nothing (None when it reported values).
        self.lastProblem = None

    def _node(self, parameter):
        node_id = self.getParameterNode().GetParameter(parameter) if self.getParameterNode() else ""
        return slicer.mrmlScene.GetNodeByID(node_id) if node_id else None

    def _report_nothing(self, reason):
        self.lastProblem = reason
        logging.warning(f"{self.name}: {reason}")
        return {}

    def computeStatistics(self, segmentID):
        requested = self.getRequestedKeys()
        if not requested:
            return {}
        segmentation = self._node("Segmentation")
        volume = self._node("ScalarVolume")
        if segmentation is None or volume is None or volume.GetImageData() is None:
            return self._report_nothing("no scalar volume selected: SUV statistics need the PET volume in SUV")
        try:
            from PentixaforQuantLib.errors import PentixaforQuantError
            from PentixaforQuantLib.measure.segment_metrics import segment_suv_statistics, suv_units_problem
            from PentixaforQuantLib.scene.mrml import volume_array, volume_grid
        except ImportError as exc:
            return self._report_nothing(f"needs {exc.name} (the PentixaforQuant module offers to install it)")
        units = volume_suv_units(volume)
        problem = suv_units_problem(units)
        if problem:
            return self._report_nothing(f"{volume.GetName()}: {problem}")
        segment = segmentation.GetSegmentation().GetSegment(segmentID)
        name = segment.GetName() if segment is not None else segmentID
        try:
            mask = slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, segmentID, volume)
            values = segment_suv_statistics(volume_array(volume), volume_grid(volume), mask, units)
        except PentixaforQuantError as exc:
            return self._report_nothing(f"segment {name!r}: {exc}")
        self.lastProblem = None
        return {key: values[key] for key in requested}

    def getMeasurementInfo(self, key):
        volume = self._node("ScalarVolume")
        info = segment_statistic_info(key, volume_suv_units(volume) if volume is not None else None)
        if info is None:
            return None

        def code(c):
            return self.createCodedEntry(c.value, c.scheme, c.meaning, True)

        out = {
            "name": info["name"],
            "title": info["title"],
            "description": info["description"],
            "units": info["units"],
            "DICOM.QuantityCode": code(info["quantity"]),
            "DICOM.UnitsCode": code(info["units_code"]),
        }
        if info["derivation"] is not None:
            out["DICOM.DerivationCode"] = code(info["derivation"])
        if info["method"] is not None:
            out["DICOM.MeasurementMethodCode"] = code(info["method"])
        return out


def checkPluginOnStudy(testCase, petNode, segmentationNode, study):
    """Module self-test (inside Slicer): Segment Statistics with this plugin registered gives the protocol's numbers
    with complete DICOM codes, and reports nothing (without failing) on a volume that is not in SUV."""
    from SegmentStatistics import SegmentStatisticsLogic

    plugin = PentixaforQuantSUVSegmentStatisticsPlugin.__name__
    logic = SegmentStatisticsLogic()
    parameters = logic.getParameterNode()
    parameters.SetParameter("Segmentation", segmentationNode.GetID())
    parameters.SetParameter("ScalarVolume", petNode.GetID())
    logic.computeStatistics()
    statistics = logic.getStatistics()
    lesion = segmentationNode.GetSegmentation().GetSegmentIdBySegmentName("Target lesion")
    testCase.assertAlmostEqual(statistics[lesion, f"{plugin}.suv_peak"], study.lesion.peak.suv_peak, places=5)
    testCase.assertAlmostEqual(statistics[lesion, f"{plugin}.suv_max"], study.lesion.stats.suv_max, places=5)
    for spec in SEGMENT_STATISTICS_KEYS:
        info = statistics["MeasurementInfo"][f"{plugin}.{spec.key}"]
        testCase.assertTrue(info["DICOM.QuantityCode"] and info["DICOM.UnitsCode"], spec.key)
    # A volume in activity units: this plugin reports nothing, the core plugins still do.
    raw = slicer.modules.volumes.logic().CloneVolume(slicer.mrmlScene, petNode, "not SUV")
    raw.SetVoxelValueUnits(None)
    raw.RemoveAttribute("DICOM.MeasurementUnitsCodeValue")
    parameters.SetParameter("ScalarVolume", raw.GetID())
    logic.computeStatistics()
    statistics = logic.getStatistics()
    testCase.assertNotIn((lesion, f"{plugin}.suv_peak"), statistics)
    testCase.assertIn((lesion, "ScalarVolumeSegmentStatisticsPlugin.mean"), statistics)
