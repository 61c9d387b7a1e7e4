"""Every user input declared once: the protocol parameters, the SUV normalisation and the SUV overrides.

One :class:`Input` per input gives its key, unit, how it is shown, default, range or choices (with readable
labels), help text, and its name on each face: the command-line option, the manifest column and the panel field
(the Slicer panel's parameter node, which the web station shares). The faces are made from this table:

- ``measure/parameter_ranges.py`` (the ranges ``ProtocolParameters`` and ``IsocontourParameters`` check) and
  ``ProtocolParameters``' choices;
- the command line's range checks and ``--help`` ranges (``cli/options.py``);
- the manifest reader's columns and their parsing (``outputs/manifest.py``, used by batch and the web worklist);
- the panel's fields, ranges, choices, defaults and tooltips (``scene/panel_parameters.py``), and the panel fields
  the web station fills from a manifest row.

The Slicer module's ``@parameterNodeWrapper`` is written by hand (Slicer reads its annotations);
``Testing/test_slicer_module.py`` holds it against this table. Adding an input is an entry here plus the line that
uses its value. Standard library only: the Slicer module reads it before the scientific packages are installed.

The plausibility limits of the SUV overrides are those of the DICOM header values (``suv/limits.py``); the
manifest reader checks a row against them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ValueRange", "Input", "INPUTS", "PROTOCOL", "SUV", "OVERRIDE", "inputs_of", "by_manifest_column",
           "by_panel_field"]

PROTOCOL, SUV, OVERRIDE = "protocol", "suv", "override"


@dataclass(frozen=True)
class ValueRange:
    """A closed or half-open interval of finite numbers, with its unit and what the value is."""

    low: float
    high: float
    unit: str = ""
    what: str = ""
    low_inclusive: bool = True
    high_inclusive: bool = True

    def contains(self, value) -> bool:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return False
        if not math.isfinite(v) or isinstance(value, bool):
            return False
        above = v >= self.low if self.low_inclusive else v > self.low
        below = v <= self.high if self.high_inclusive else v < self.high
        return above and below

    def describe(self, scale: float = 1.0, unit: str | None = None) -> str:
        """``"above 0 and at most 15 mm"``; ``scale`` and ``unit`` express the range in another unit (e.g. %)."""
        unit = self.unit if unit is None else unit
        lo, hi = _number(self.low * scale), _number(self.high * scale)
        first = f"from {lo}" if self.low_inclusive else f"above {lo}"
        last = f"to {hi}" if self.high_inclusive else f"below {hi}"
        if not self.low_inclusive and self.high_inclusive:
            last = f"and at most {hi}"
        text = f"{first} {last}"
        return f"{text} {unit}".rstrip()


def _number(x: float) -> str:
    """``10`` for 10.000000000000002 (0.1 x 100), ``4294967295``, ``6.2035``."""
    x = round(float(x), 9)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:g}"


@dataclass(frozen=True)
class Input:
    """One user input.

    Attributes
    ----------
    key : str
        The attribute it sets: a ``ProtocolParameters`` attribute (``isocontour.<attribute>`` for the isocontour's),
        ``normalization``/``series_uid``, or an ``SUVOverrides`` field. Errors about it carry this key as ``field``.
    group : {"protocol", "suv", "override"}
    label : str
        How people see it named.
    type : type
        float, int, str or bool (of the value in the key's unit).
    default : object
        In the key's unit (None: taken from the DICOM headers).
    unit : str
        Unit of the key's value.
    shown_unit, scale : str, float
        The unit the faces take and show it in, and the factor (shown = value x scale): the threshold in % of
        SUVmax (100), the activity in MBq (1e-6 from Bq).
    range : ValueRange or None
        The stated range (in the key's unit); protocol parameters only.
    choices : tuple of (value, label)
        The allowed values and how each is shown.
    help : str
        The definition, shown as the panel's tooltip.
    cli_flag, manifest_column, panel_field : str or None
        Its name on each face (None: not offered there).
    flag_choice : object
        For a two-way choice given on the command line and in the manifest as yes/no (``--a50``, column ``a50``):
        the choice "yes" selects; "no" selects the default.
    panel_choices : tuple
        The choices the panel offers when fewer than ``choices``.
    """

    key: str
    group: str
    label: str
    type: type
    default: object
    help: str
    unit: str = ""
    shown_unit: str | None = None
    scale: float = 1.0
    range: ValueRange | None = None
    choices: tuple = ()
    cli_flag: str | None = None
    manifest_column: str | None = None
    panel_field: str | None = None
    flag_choice: object = None
    panel_choices: tuple = ()

    @property
    def choice_values(self) -> tuple:
        return tuple(value for value, _ in self.choices)

    @property
    def shown_default(self):
        """The default in the shown unit (what the panel's field holds)."""
        if self.default is None or self.type is not float:
            return self.default
        return round(self.default * self.scale, 9)

    def from_shown(self, value: float) -> float:
        """A value given in the shown unit (``--dose-mbq 180``, threshold 50 %) in the key's unit."""
        return value * round(1.0 / self.scale) if self.scale < 1 else value / self.scale

    def describe_range(self) -> str:
        """The range in the shown unit, e.g. ``"from 10 to 90 % of SUVmax"``."""
        return self.range.describe(self.scale, self.shown_unit)


_THRESHOLD_HELP = ("Isocontour threshold: the lesion VOI holds the voxels connected to the peak with SUV >= this % of "
                   "SUVmax (40 %, Buck et al. 2022; A50 uses 50 % above background)")

#: Every input, in the order the faces list them.
INPUTS: dict[str, Input] = {i.key: i for i in (
    # ------------------------------------------------------------------ protocol parameters (measure/protocol.py)
    # The ranges are wide enough for every published variant and narrow enough to exclude unit mistakes
    # (measure/parameter_ranges.py gives the reasons).
    Input("isocontour.threshold_fraction", PROTOCOL, "Isocontour threshold", float, 0.40, _THRESHOLD_HELP,
          shown_unit="% of SUVmax", scale=100.0, range=ValueRange(0.10, 0.90, "", "isocontour threshold"),
          cli_flag="--threshold", manifest_column="threshold", panel_field="thresholdPercent"),
    Input("isocontour.method", PROTOCOL, "Threshold method", str, "fixed",
          "fixed: t = % x SUVmax; a50: background-adjusted t = BG + % x (SUVmax - BG), BG = median SUV of a shell "
          "around the lesion", choices=(("fixed", "fixed % of SUVmax"), ("a50", "A50, background-adjusted")),
          cli_flag="--a50", manifest_column="a50", panel_field="thresholdMethod", flag_choice="a50"),
    Input("isocontour.connectivity", PROTOCOL, "Connectivity", int, 6,
          "Voxel neighbourhood of the lesion VOI: 6 (faces), 18 (+ edges), 26 (+ corners)",
          choices=((6, "6 (faces)"), (18, "18 (faces and edges)"), (26, "26 (faces, edges and corners)")),
          cli_flag="--connectivity", manifest_column="connectivity", panel_field="connectivity"),
    Input("isocontour.search_radius_mm", PROTOCOL, "Peak search radius", float, 10.0,
          "The ascent from the click to the lesion's peak stays within this distance (mm) of the click", unit="mm",
          range=ValueRange(0.0, 50.0, "mm", "peak search radius around the click", low_inclusive=False),
          cli_flag="--search-radius-mm", manifest_column="search_radius_mm", panel_field="searchRadiusMm"),
    Input("isocontour.max_volume_ml", PROTOCOL, "Lesion size limit", float, 1000.0,
          "Size limit (mL): a lesion VOI larger than this is flagged as leaked and stops growing", unit="mL",
          range=ValueRange(0.0, 10000.0, "mL", "lesion VOI size limit", low_inclusive=False),
          cli_flag="--max-volume-ml", manifest_column="max_volume_ml", panel_field="maxVolumeMl"),
    Input("isocontour.background_suv", PROTOCOL, "A50 background SUV", float, None,
          "Background SUV of the A50 threshold (default: measured around the VOI)",
          range=ValueRange(0.0, 100.0, "", "A50 background SUV"),
          cli_flag="--background-suv", manifest_column="background_suv"),
    Input("isocontour.split_at_saddle", PROTOCOL, "Split at the saddle", bool, False,
          "Not the published method: keep only the clicked structure's part of the isocontour, split from the rest "
          "at saddles (flagged); off by default",
          cli_flag="--split-at-saddle"),
    Input("peak_variant", PROTOCOL, "SUVpeak centring", str, "global",
          "SUVpeak: global = best 1 mL sphere centred on any VOI voxel (PERCIST), local = sphere centred on the "
          "SUVmax voxel", choices=(("global", "global (PERCIST)"), ("local", "local (on the SUVmax voxel)")),
          cli_flag="--peak", manifest_column="peak", panel_field="peakVariant"),
    Input("peak_radius_mm", PROTOCOL, "SUVpeak sphere radius", float, 6.2035,
          "SUVpeak sphere radius (mm): 6.2035 = 1 mL; 6.0 = 1.2 cm diameter", unit="mm",
          range=ValueRange(0.0, 15.0, "mm", "SUVpeak sphere radius; 6.2035 mm = 1 mL", low_inclusive=False),
          cli_flag="--peak-radius-mm", manifest_column="peak_radius_mm", panel_field="peakRadiusMm"),
    Input("blood_pool_diameter_mm", PROTOCOL, "Blood-pool sphere diameter", float, 15.0,
          "Diameter (mm) of the blood-pool sphere in the aortic arch lumen; SUVmean of the voxels whose centres lie "
          "inside (Buck et al. 2022)", unit="mm",
          range=ValueRange(0.0, 40.0, "mm", "blood-pool sphere diameter", low_inclusive=False),
          cli_flag="--blood-pool-diameter-mm", manifest_column="blood_pool_diameter_mm",
          panel_field="bloodPoolDiameterMm"),
    Input("marrow_diameter_mm", PROTOCOL, "Marrow sphere diameter", float, 15.0,
          "Diameter (mm) of each marrow sphere (C7, T12, L5, ilia); SUVmax of the voxels whose centres lie inside "
          "(Herhaus et al. 2016)", unit="mm",
          range=ValueRange(0.0, 40.0, "mm", "marrow sphere diameter", low_inclusive=False),
          cli_flag="--marrow-diameter-mm", manifest_column="marrow_diameter_mm", panel_field="marrowDiameterMm"),
    Input("tbr_numerator", PROTOCOL, "TBR numerator", str, "suv_max",
          "TBR = this lesion value / blood-pool SUVmean (SUVmax in Buck et al. 2022)",
          choices=(("suv_max", "SUVmax"), ("suv_peak", "SUVpeak"), ("suv_mean", "SUVmean")),
          cli_flag="--tbr-numerator", manifest_column="tbr_numerator", panel_field="tbrNumerator"),
    # ------------------------------------------------------------------ SUV (suv/normalizations.py, suv/series_reader.py)
    Input("normalization", SUV, "SUV normalisation", str, "bw",
          "SUV normalisation: body weight (bw), lean body mass Janmahasatian (lbm), body surface area Du Bois (bsa) "
          "or ideal body weight Devine (ibw)",
          choices=(("bw", "body weight"), ("lbm", "lean body mass (Janmahasatian)"),
                   ("lbm-james128", "lean body mass (James-128)"), ("bsa", "body surface area (Du Bois)"),
                   ("ibw", "ideal body weight (Devine)")),
          cli_flag="--suv", manifest_column="suv", panel_field="normalization",
          panel_choices=("bw", "lbm", "bsa", "ibw")),
    Input("series_uid", SUV, "Series", str, None, "SeriesInstanceUID to use when the folder holds several PET series",
          cli_flag="--series-uid", manifest_column="series_uid"),
    # ------------------------------------------------------------------ SUV overrides (suv/overrides.py)
    Input("weight_kg", OVERRIDE, "weight (kg)", float, None, "Patient weight in kg, replacing PatientWeight (0010,1030)",
          unit="kg", cli_flag="--weight-kg", manifest_column="weight_kg", panel_field="overrideWeightKg"),
    Input("height_m", OVERRIDE, "height (m)", float, None, "Patient height in m, replacing PatientSize (0010,1020)",
          unit="m", cli_flag="--height-m", manifest_column="height_m", panel_field="overrideHeightM"),
    Input("sex", OVERRIDE, "sex (M/F/O)", str, None, "Patient sex M, F or O, replacing PatientSex (0010,0040)",
          choices=(("M", "male"), ("F", "female"), ("O", "other")),
          cli_flag="--sex", manifest_column="sex", panel_field="overrideSex"),
    Input("dose_bq", OVERRIDE, "injected activity (MBq)", float, None,
          "Injected activity in MBq, replacing RadionuclideTotalDose (0018,1074)", unit="Bq", shown_unit="MBq",
          scale=1e-6, cli_flag="--dose-mbq", manifest_column="dose_mbq", panel_field="overrideDoseMBq"),
    Input("injection_datetime", OVERRIDE, "injection date-time", str, None,
          "Injection date-time (YYYY-MM-DD HH:MM:SS), replacing RadiopharmaceuticalStartDateTime (0018,1078) / "
          "StartTime (0018,1072)", unit="datetime",
          cli_flag="--injection-time", manifest_column="injection_time", panel_field="overrideInjectionDateTime"),
    Input("half_life_s", OVERRIDE, "half-life (s)", float, None,
          "Radionuclide half-life in s, replacing RadionuclideHalfLife (0018,1075)", unit="s",
          cli_flag="--half-life-s", manifest_column="half_life_s", panel_field="overrideHalfLifeS"),
    Input("scan_datetime", OVERRIDE, "scan date-time", str, None,
          "Scan (decay reference) date-time (YYYY-MM-DD HH:MM:SS), replacing SeriesDate/SeriesTime and "
          "AcquisitionTime", unit="datetime",
          cli_flag="--scan-time", manifest_column="scan_time", panel_field="overrideScanDateTime"),
)}


def inputs_of(group: str) -> tuple[Input, ...]:
    """The inputs of one group, in table order."""
    return tuple(i for i in INPUTS.values() if i.group == group)


def by_manifest_column() -> dict[str, Input]:
    """Manifest column -> input, in table order."""
    return {i.manifest_column: i for i in INPUTS.values() if i.manifest_column}


def by_panel_field() -> dict[str, Input]:
    """Panel field (parameter-node name) -> input, in table order."""
    return {i.panel_field: i for i in INPUTS.values() if i.panel_field}
