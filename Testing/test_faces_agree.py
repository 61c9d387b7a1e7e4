"""The faces (command line, batch, Slicer panel, web station) apply the same rules to the same input.

Each test here is a disagreement that once existed: the panel's threshold range against the protocol's, the
batch manifest reader against the web worklist's, and the override field a refusal highlights.
"""

from __future__ import annotations

import math

import pytest

from PentixaforQuantLib.errors import ParameterError, PentixaforQuantError, SUVError
from PentixaforQuantLib.measure.isocontour import IsocontourParameters
from PentixaforQuantLib.measure.parameter_ranges import PROTOCOL_RANGES
from PentixaforQuantLib.measure.protocol import ProtocolParameters
from PentixaforQuantLib.scene.panel_parameters import PARAMETERS


# ------------------------------------------------------------------------------ the threshold range
def test_the_panel_threshold_range_is_the_protocols():
    rng = PROTOCOL_RANGES["isocontour.threshold_fraction"]
    assert PARAMETERS["thresholdPercent"].range == (rng.low * 100, rng.high * 100) == (10.0, 90.0)


@pytest.mark.parametrize("fraction", [0.05, 0.95, 1.0])
def test_the_isocontour_parameters_refuse_what_the_protocol_refuses(fraction):
    with pytest.raises(ParameterError, match="threshold"):
        ProtocolParameters().with_isocontour(threshold_fraction=fraction)
    with pytest.raises(ParameterError, match="threshold"):
        IsocontourParameters(threshold_fraction=fraction)


def test_the_panel_refuses_a_threshold_the_protocol_refuses_and_keeps_no_old_result(headless, phantom_study):
    from PentixaforQuantLib.scene.panel import PanelController

    phantom, folder = phantom_study
    controller = PanelController(headless.scene)
    controller.load_dicom(folder / "dicom")
    controller.place_at(phantom.truth.seed_points["lesion"])
    assert controller.study is not None and controller.study.lesion is not None
    with pytest.raises(ParameterError, match="thresholdPercent 5: must be from 10 to 90 % of SUVmax"):
        controller.set_parameter("thresholdPercent", 5.0)
    assert controller.get_parameter("thresholdPercent") == 40.0  # the refused value is not stored
    # A value written straight to the parameter node (a widget binding) is refused too: no result under it.
    controller.parameter_node.SetParameter("thresholdPercent", "5.0")
    assert controller.study is None and controller.result_rows() == []
    assert controller.results_table.GetNumberOfRows() == 0  # the scene's table and VOIs hold no old numbers
    assert controller.segmentation.GetSegmentation().GetNumberOfSegments() == 0
    assert "threshold" in controller.last_error and "from 10 to 90 %" in controller.last_error
    controller.set_parameter("thresholdPercent", 50.0)
    assert controller.study.parameters.isocontour.threshold_fraction == 0.5 and controller.last_error is None
    assert controller.results_table.GetNumberOfRows() == 9 and controller.segmentation.GetSegmentation() \
        .GetNumberOfSegments() == 1  # seven sites + TBR + meanSUVmax rows; the lesion's VOI
    controller.close()


# ------------------------------------------------------------------------------ one manifest reader
def _manifest(root, text):
    (root / "s1" / "dicom").mkdir(parents=True)
    (root / "s1" / "points.csv").write_text("label,r,a,s\n", encoding="utf-8")
    path = root / "manifest.csv"
    path.write_text(text, encoding="utf-8")
    return path


SEMICOLON = ("study_id;dicom;points;diagnosis;group;uptake;activity_mbq;peptide_mass_ug;suv;weight_kg;dose_mbq;"
             "threshold;peak\n"
             "S1;s1/dicom;s1/points.csv;AML;A;yes;150;10;lbm;80;180;50;local\n")


def test_the_web_worklist_reads_a_semicolon_manifest_as_batch_does(tmp_path):
    from PentixaforQuantLib.cohort.manifest import read_manifest
    from PentixaforQuantLib.web.worklist import Worklist

    path = _manifest(tmp_path, SEMICOLON)
    (entry,) = read_manifest(path).entries
    worklist = Worklist.from_path(path, tmp_path / "out")
    (study,) = worklist.studies
    assert study.problem is None and study.dicom == (tmp_path / "s1" / "dicom").resolve()
    assert str(study.dicom) == entry.dicom


def test_the_web_worklist_carries_the_rows_suv_inputs_and_protocol_columns(tmp_path):
    from PentixaforQuantLib.cohort.manifest import protocol_for, read_manifest
    from PentixaforQuantLib.web.worklist import Worklist

    path = _manifest(tmp_path, SEMICOLON)
    (entry,) = read_manifest(path).entries
    (study,) = Worklist.from_path(path, tmp_path / "out").studies
    assert entry.normalization == "lbm" and entry.overrides == {"weight_kg": 80.0, "dose_bq": 180e6}
    # The panel fields the web station opens the study with: the same inputs, in the panel's units.
    assert study.panel_settings == {"normalization": "lbm", "overrideWeightKg": "80", "overrideDoseMBq": "180",
                                    "thresholdPercent": 50.0, "peakVariant": "local"}
    assert protocol_for(entry.protocol, ProtocolParameters()) == ProtocolParameters(peak_variant="local") \
        .with_isocontour(threshold_fraction=0.5)


def test_the_web_worklist_refuses_a_row_batch_refuses(tmp_path):
    from PentixaforQuantLib.cohort.manifest import ManifestError, read_manifest
    from PentixaforQuantLib.web.worklist import Worklist

    path = _manifest(tmp_path, SEMICOLON.replace(";50;local", ";5;local"))
    with pytest.raises(ManifestError, match="threshold"):
        read_manifest(path)
    (study,) = Worklist.from_path(path, tmp_path / "out").studies
    assert study.dicom is None and "threshold" in study.problem and "line 2" in study.problem


# ------------------------------------------------------------------------------ the field a refusal concerns
def test_an_ibw_refusal_for_a_short_height_names_the_height(headless, phantom_study):
    from PentixaforQuantLib.scene.panel import PanelController

    phantom, folder = phantom_study
    controller = PanelController(headless.scene)
    controller.set_parameter("normalization", "ibw")
    controller.set_override("overrideSex", "M")
    controller.set_override("overrideHeightM", "1.0")
    assert controller.load_dicom(folder / "dicom") is None
    assert "ideal body weight is not positive" in controller.suv_refusal and "weight" in controller.suv_refusal
    assert controller.refusal_field == "overrideHeightM"
    controller.close()


def test_suv_refusals_carry_their_field_as_data():
    from PentixaforQuantLib.suv import body_size
    from PentixaforQuantLib.suv.overrides import parse_override_datetime

    cases = [
        (lambda: body_size.ibw_kg(1.0, "M"), "height_m"),
        (lambda: body_size.lbm_james_kg(200.0, 1.5, "F"), "weight_kg"),
        (lambda: body_size.ibw_kg(1.7, "X"), "sex"),
        (lambda: body_size.bsa_dubois_m2(math.nan, 1.7), "weight_kg"),
        (lambda: parse_override_datetime("2024-05-02", "injection time", field="injection_datetime"),
         "injection_datetime"),
    ]
    for call, field in cases:
        with pytest.raises(SUVError) as info:
            call()
        assert info.value.field == field, str(info.value)


def test_every_project_error_has_a_field():
    assert PentixaforQuantError("x").field is None
    assert ParameterError("y", field="peak_radius_mm").field == "peak_radius_mm"


def test_a_panel_opened_with_a_rows_settings_uses_the_batchs_inputs(headless, tmp_path):
    from PentixaforQuantLib.cohort.manifest import protocol_for, read_manifest
    from PentixaforQuantLib.scene.panel import PanelController
    from PentixaforQuantLib.suv import SUVOverrides
    from PentixaforQuantLib.web.worklist import Worklist

    path = _manifest(tmp_path, SEMICOLON)
    (entry,) = read_manifest(path).entries
    (study,) = Worklist.from_path(path, tmp_path / "out").studies
    controller = PanelController(headless.scene)
    controller.use_settings(study.panel_settings)
    assert controller.protocol_parameters() == protocol_for(entry.protocol, ProtocolParameters())
    assert controller._overrides() == SUVOverrides(**entry.overrides)
    assert controller.get_parameter("normalization") == entry.normalization
    controller.close()


def test_a_row_with_an_input_the_station_cannot_show_is_refused_by_it(tmp_path):
    from PentixaforQuantLib.web.worklist import Worklist

    path = _manifest(tmp_path, "study_id,dicom,suv,background_suv,a50\nS1,s1/dicom,lbm-james128,,\n"
                               "S2,s1/dicom,bw,1.5,yes\n")
    s1, s2 = Worklist.from_path(path, tmp_path / "out").studies
    assert s1.dicom is None and "column 'suv' (lbm-james128)" in s1.problem
    assert s2.dicom is None and "column 'background_suv'" in s2.problem


# ------------------------------------------------------------------------------ manifest values in range
@pytest.mark.parametrize("column, text, words", [
    ("activity_mbq", "150000", "outside 10-3000 MBq, the limits of the DICOM header value; in kBq? that would be "
                               "150 MBq"),
    ("dose_mbq", "150000", "in kBq? that would be 150 MBq"),
    ("weight_kg", "70000", "in grams? that would be 70 kg"),
    ("height_m", "175", "in centimetres? that would be 1.75 m"),
    ("half_life_s", "30", "30 s is outside 60-864000 s"),
])
def test_manifest_values_outside_the_header_limits_are_refused_naming_the_unit(tmp_path, column, text, words):
    from PentixaforQuantLib.cohort.manifest import ManifestError, read_manifest

    header = SEMICOLON.splitlines()[0].split(";")
    row = SEMICOLON.splitlines()[1].split(";")
    if column in header:
        row[header.index(column)] = text
    else:
        header.append(column)
        row.append(text)
    path = _manifest(tmp_path, ";".join(header) + "\n" + ";".join(row) + "\n")
    with pytest.raises(ManifestError) as info:
        read_manifest(path)
    (problem,) = info.value.problems
    assert f"line 2, column {column!r}: {text!r}" in problem and words in problem, problem


# ------------------------------------------------------------------------------ the project's errors, with their field
def test_input_refusals_are_project_errors_naming_their_field():
    from PentixaforQuantLib.outputs.cohort_row import cohort_row

    for kwargs, field in (({"study_id": " "}, "study_id"), ({"study_id": "S1", "uptake": "maybe"}, "uptake"),
                          ({"study_id": "S1", "activity_mbq": "lots"}, "activity_mbq")):
        with pytest.raises(PentixaforQuantError) as info:
            cohort_row(None, **kwargs)
        assert info.value.field == field
    with pytest.raises(ParameterError) as info:
        ProtocolParameters(peak_radius_mm=20.0)
    assert info.value.field == "peak_radius_mm"
    with pytest.raises(ParameterError) as info:
        ProtocolParameters(tbr_numerator="suv_min")
    assert info.value.field == "tbr_numerator"


def test_the_command_line_options_are_the_table_of_inputs():
    import argparse

    from PentixaforQuantLib.cli.options import add_protocol_options, add_suv_options, protocol_parameters, \
        suv_overrides
    from PentixaforQuantLib.inputs import INPUTS
    from PentixaforQuantLib.suv import SUVOverrides

    parser = argparse.ArgumentParser()
    add_suv_options(parser)
    add_protocol_options(parser)
    flags = {s for a in parser._actions for s in a.option_strings}
    assert {i.cli_flag for i in INPUTS.values() if i.cli_flag} <= flags
    args = parser.parse_args([])
    assert protocol_parameters(args) == ProtocolParameters() and suv_overrides(args) == SUVOverrides()
    args = parser.parse_args(["--threshold", "50", "--a50", "--dose-mbq", "180", "--split-at-saddle"])
    assert protocol_parameters(args) == ProtocolParameters().with_isocontour(threshold_fraction=0.5, method="a50",
                                                                             split_at_saddle=True)
    assert suv_overrides(args) == SUVOverrides(dose_bq=180e6)


# ------------------------------------------------------------------------------ one table of sites
def test_the_outputs_panel_and_scene_take_the_sites_from_one_table():
    from PentixaforQuantLib.measure.sites import ALL_SITES, MARROW_SITES, SITES
    from PentixaforQuantLib.outputs.dicom_codes import SITE_CODES
    from PentixaforQuantLib.scene.logic import SEGMENT_COLORS
    from PentixaforQuantLib.scene.panel import PANEL_TITLES
    from PentixaforQuantLib.scene.panel_parameters import SITE_WIDGET_NAMES

    assert tuple(SITES) == ALL_SITES and MARROW_SITES == ("C7", "T12", "L5", "right_ilium", "left_ilium")
    for key, site in SITES.items():
        assert PANEL_TITLES[key] == SITE_CODES[key].label == site.title
        assert SEGMENT_COLORS[key] == site.colour and SITE_WIDGET_NAMES[key] == site.widget_name
        assert SITE_CODES[key].property_type.meaning == site.property_type[2]
    assert SITE_CODES["right_ilium"].laterality.meaning == "Right" and SITE_CODES["lesion"].anatomic_region is None


def test_no_module_branches_on_a_site_name_but_on_its_kind_or_voi_in_the_table():
    """``site == LESION`` / ``site == "aorta"`` outside the table of sites: the kind and the VOI shape decide."""
    import ast
    from pathlib import Path

    lib = Path(__file__).resolve().parents[1] / "PentixaforQuant" / "PentixaforQuantLib"
    found = {}
    for path in sorted(lib.rglob("*.py")):
        rel = path.relative_to(lib).as_posix()
        if rel == "measure/sites.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and any(
                    (isinstance(side, ast.Name) and side.id in ("LESION", "AORTA"))
                    or (isinstance(side, ast.Constant) and side.value in ("lesion", "aorta"))
                    for side in (node.left, *node.comparators)):
                found.setdefault(rel, []).append(f"{node.lineno}: {ast.unparse(node)}")
    assert found == {}, found


def test_the_isocontour_choices_are_the_table_of_inputs():
    from PentixaforQuantLib.inputs import INPUTS
    from PentixaforQuantLib.measure.lesion_growth import CONNECTIVITY_RANK

    assert tuple(CONNECTIVITY_RANK) == INPUTS["isocontour.connectivity"].choice_values == (6, 18, 26)
    for name, bad in (("connectivity", 8), ("method", "a41")):
        with pytest.raises(ParameterError) as info:
            IsocontourParameters(**{name: bad})
        assert info.value.field == f"isocontour.{name}" and repr(bad) in str(info.value), str(info.value)
    assert IsocontourParameters(method="a50", connectivity=26).connectivity == 26


def test_one_per_site_dispatch_measures_each_kind_and_refuses_an_unknown_site():
    import numpy as np

    from PentixaforQuantLib.geometry import VoxelGrid
    from PentixaforQuantLib.measure.protocol import SphereResult, measure_site, run_protocol

    grid = VoxelGrid.from_spacing((40, 40, 40), (2.0, 2.0, 2.0))
    image = np.full(grid.shape_kji, 2.0, dtype=np.float32)
    centre = grid.ijk_to_ras_points(np.array([20.0, 20.0, 20.0]))
    aorta = measure_site(image, grid, "aorta", centre, ProtocolParameters(blood_pool_diameter_mm=10.0))
    marrow = measure_site(image, grid, "C7", centre, ProtocolParameters(marrow_diameter_mm=20.0))
    assert isinstance(aorta, SphereResult) and aorta.diameter_mm == 10.0 and marrow.diameter_mm == 20.0
    assert aorta.stats.suv_mean == pytest.approx(2.0) and marrow.stats.voxels > aorta.stats.voxels
    assert measure_site(image, grid, "spleen", centre) == "unknown site 'spleen'"
    study = run_protocol(image, grid, {"aorta": centre, "C7": centre, "spleen": centre})
    assert study.site_result("aorta") is study.blood_pool and study.site_result("C7") is study.marrow["C7"]
    assert study.site_result("lesion") is None and study.errors == {"spleen": "unknown site 'spleen'"}


def test_the_suv_audit_is_read_back_in_one_typed_walk():
    from PentixaforQuantLib.suv.audit import AuditInput, AuditRecord

    record = {"factor": 2.5e-4, "units": "{SUVbw}g/ml", "suv_type": "BW", "decay_correction": None,
              "inputs": {"weight_kg": {"value": 70.0, "source": "user override"}, "series": "x"},
              "decisions": ["scan time = SeriesTime"]}
    audit = AuditRecord.from_dict(record)
    assert audit.inputs == (AuditInput("weight_kg", 70.0, "user override"), AuditInput("series", "x", None))
    assert audit.decisions == ("scan time = SeriesTime",) and audit.factor == 2.5e-4 and audit.factors == ()
    assert audit.header == {"factor": 2.5e-4, "units": "{SUVbw}g/ml", "suv_type": "BW"}
    per_slice = AuditRecord.from_dict({"factors": {"1.2.3": 1.0, "1.2.4": 2.0}})
    assert per_slice.factor is None and per_slice.factors == (1.0, 2.0)
