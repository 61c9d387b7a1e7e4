"""The panel's parameters: names, types, defaults and definitions (tooltips), with no import beyond the standard
library, so the Slicer module file can declare its ``@parameterNodeWrapper`` fields and tooltips from them before
the scientific packages are installed.

The names and text formats are those the parameter node wrapper of Slicer writes (numbers as ``str()``, booleans
``True``/``False``, node references under the field name), so the widget's bindings and
:class:`~.panel.PanelController` read and write the same parameter node.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MODULE_NAME", "Parameter", "PARAMETERS", "NODE_REFERENCES", "OVERRIDE_FIELDS", "SITE_WIDGET_NAMES"]

MODULE_NAME = "PentixaforQuant"


@dataclass(frozen=True)
class Parameter:
    """One field of the parameter node: name, Python type, default, tooltip (its definition), the allowed choices
    or the allowed range (inclusive), as the widget's ``Choice`` / ``WithinRange`` annotations say."""

    name: str
    type: type
    default: object
    tooltip: str
    choices: tuple = ()
    range: tuple | None = None

    def check(self, value):
        """``value`` as this parameter's type; ValueError naming the parameter when it is not allowed."""
        try:
            value = self.type(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} must be a {self.type.__name__}, not {value!r}") from None
        if self.choices and value not in self.choices:
            raise ValueError(f"{self.name} must be one of {', '.join(map(str, self.choices))}, not {value!r}")
        if self.range is not None and not (self.range[0] <= value <= self.range[1]):
            raise ValueError(f"{self.name} must be between {self.range[0]:g} and {self.range[1]:g}, not {value!r}")
        return value

    def to_text(self, value) -> str:
        """The text the parameter node wrapper writes for ``value`` (numbers ``str()``, bools True/False)."""
        if self.type is bool:
            return "True" if value else "False"
        return str(self.type(value))

    def from_text(self, text: str):
        if self.type is bool:
            return text == "True"
        try:
            return self.type(text)
        except (TypeError, ValueError):
            return self.default


#: Every panel parameter, as stored on the parameter node; node references are in :data:`NODE_REFERENCES`.
PARAMETERS = {p.name: p for p in (
    Parameter("normalization", str, "bw", "SUV normalisation: body weight (bw), lean body mass Janmahasatian (lbm), "
              "body surface area Du Bois (bsa) or ideal body weight Devine (ibw)", ("bw", "lbm", "bsa", "ibw")),
    Parameter("thresholdPercent", float, 40.0, "Isocontour threshold: the lesion VOI holds the voxels connected to "
              "the peak with SUV >= this % of SUVmax (40 %, Buck et al. 2022; A50 uses 50 % above background)",
              range=(1.0, 100.0)),
    Parameter("thresholdMethod", str, "fixed", "fixed: t = % x SUVmax; a50: background-adjusted "
              "t = BG + % x (SUVmax - BG), BG = median SUV of a shell around the lesion", ("fixed", "a50")),
    Parameter("connectivity", int, 6, "Voxel neighbourhood of the lesion VOI: 6 (faces), 18 (+ edges), "
              "26 (+ corners)", (6, 18, 26)),
    Parameter("searchRadiusMm", float, 10.0, "The lesion peak is the hottest voxel whose centre lies within this "
              "distance (mm) of the click", range=(1.0, 50.0)),
    Parameter("bloodPoolDiameterMm", float, 15.0, "Diameter (mm) of the blood-pool sphere in the aortic arch "
              "lumen; SUVmean of the voxels whose centres lie inside (Buck et al. 2022)", range=(4.0, 40.0)),
    Parameter("marrowDiameterMm", float, 15.0, "Diameter (mm) of each marrow sphere (C7, T12, L5, ilia); SUVmax of "
              "the voxels whose centres lie inside (Herhaus et al. 2016)", range=(4.0, 40.0)),
    Parameter("peakVariant", str, "global", "SUVpeak: global = best 1 mL sphere centred on any VOI voxel "
              "(PERCIST), local = sphere centred on the SUVmax voxel", ("global", "local")),
    Parameter("peakRadiusMm", float, 6.2035, "SUVpeak sphere radius (mm): 6.2035 = 1 mL; 6.0 = 1.2 cm diameter",
              range=(3.0, 15.0)),
    Parameter("maxVolumeMl", float, 1000.0, "Size limit (mL): a lesion VOI larger than this is flagged as leaked "
              "and stops growing", range=(1.0, 10000.0)),
    Parameter("tbrNumerator", str, "suv_max", "TBR = this lesion value / blood-pool SUVmean (SUVmax in Buck et al. "
              "2022)", ("suv_max", "suv_peak", "suv_mean")),
    Parameter("autoUpdate", bool, True, "Recompute when a point is placed, dropped, cleared or removed"),
    # SUV overrides: text, empty = use the DICOM header.
    Parameter("overrideWeightKg", str, "", "Patient weight in kg, replacing PatientWeight (0010,1030)"),
    Parameter("overrideHeightM", str, "", "Patient height in m, replacing PatientSize (0010,1020)"),
    Parameter("overrideSex", str, "", "Patient sex M, F or O, replacing PatientSex (0010,0040)"),
    Parameter("overrideDoseMBq", str, "", "Injected activity in MBq, replacing RadionuclideTotalDose (0018,1074)"),
    Parameter("overrideInjectionDateTime", str, "", "Injection date-time (YYYY-MM-DD HH:MM:SS), replacing "
              "RadiopharmaceuticalStartDateTime (0018,1078) / StartTime (0018,1072)"),
    Parameter("overrideScanDateTime", str, "", "Scan (decay reference) date-time (YYYY-MM-DD HH:MM:SS), replacing "
              "SeriesDate/SeriesTime and AcquisitionTime"),
    Parameter("overrideHalfLifeS", str, "", "Radionuclide half-life in s, replacing RadionuclideHalfLife "
              "(0018,1075)"),
    # Cohort row of this study.
    Parameter("studyId", str, "", "Study identifier of the cohort row (adding the same id again replaces it)"),
    Parameter("diagnosis", str, "", "Diagnosis of the cohort row"),
    Parameter("group", str, "", "Group of the cohort row"),
    Parameter("uptake", str, "not_recorded", "Uptake in the target lesion discernible: yes or no (not recorded: "
              "left empty in the cohort row)", ("not_recorded", "yes", "no")),
    Parameter("activityMBq", str, "", "Injected activity (MBq) for the cohort row"),
    Parameter("peptideMassUg", str, "", "Injected peptide mass (ug) for the cohort row"),
)}

#: Node references of the parameter node (the same names as the wrapper's node fields).
NODE_REFERENCES = ("petVolume", "pointsNode", "roiNode", "cohortTable")

#: Override parameter -> (SUVOverrides field, words naming it, keywords of the DICOM attributes it replaces).
OVERRIDE_FIELDS = {
    "overrideWeightKg": ("weight_kg", "weight (kg)", ("PatientWeight", "weight")),
    "overrideHeightM": ("height_m", "height (m)", ("PatientSize", "height")),
    "overrideSex": ("sex", "sex (M/F/O)", ("PatientSex", "sex")),
    "overrideDoseMBq": ("dose_bq", "injected activity (MBq)", ("RadionuclideTotalDose", "dose")),
    "overrideInjectionDateTime": ("injection_datetime", "injection date-time",
                                  ("RadiopharmaceuticalStart", "injection")),
    "overrideHalfLifeS": ("half_life_s", "half-life (s)", ("RadionuclideHalfLife", "half-life", "radionuclide")),
    "overrideScanDateTime": ("scan_datetime", "scan date-time",
                             ("SeriesDate", "SeriesTime", "AcquisitionDate", "AcquisitionTime", "scan")),
}


#: Site key -> the name part of its row's widgets in the panel (``place<Name>Button``, ``<name>StatusLabel``, ...).
SITE_WIDGET_NAMES = {
    "lesion": "Lesion",
    "aorta": "Aorta",
    "C7": "C7",
    "T12": "T12",
    "L5": "L5",
    "right_ilium": "RightIlium",
    "left_ilium": "LeftIlium",
}
