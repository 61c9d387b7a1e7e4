"""The analysis choices the papers made, expressed in the cohort table and on the command line, and the checks
of a cohort table: each refusal one line (table-driven), a property test over cohort values, the Table 1."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from PentixaforQuantLib.cli.main import main
from PentixaforQuantLib.cohort.analysis import cohort_statistics
from PentixaforQuantLib.cohort.table import COLUMN_KEYS, CohortTableError, read_cohort_table
from PentixaforQuantLib.outputs.json_text import json_text
from PentixaforQuantLib.suv.limits import DOSE_RANGE_BQ, SUV_MAX_LIMIT

COLUMNS = list(COLUMN_KEYS) + ["exclude"]


def _write(path, rows, columns=COLUMNS):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return path


def _aml_rows():
    """15 marrow studies shaped like the AML study: 5 PET-positive AML (#5 extramedullary only), 5 PET-negative
    AML (visually negative: uptake = no), 5 controls; meanSUVmax from five sites each."""
    rng = np.random.default_rng(16)
    rows = []
    for i, (group, level, uptake) in enumerate([("AML+", 6.0, "yes")] * 5 + [("AML-", 3.8, "no")] * 5
                                              + [("control", 3.2, "yes")] * 5, start=1):
        sites = {s: round(float(level * rng.lognormal(0, 0.08)), 3) for s in ("C7", "T12", "L5", "right_ilium",
                                                                             "left_ilium")}
        if i == 5:
            sites = {s: round(v * 0.5, 3) for s, v in sites.items()}  # no marrow involvement
        rows.append({"study_id": f"#{i}", "diagnosis": "AML" if group != "control" else "control", "group": group,
                     "uptake": uptake, "activity_mbq": 150, "peptide_mass_ug": 10, **sites,
                     "exclude": "marrow: extramedullary disease only (SUVmax 5.2)" if i == 5 else ""})
    return rows


def _means(rows, ids):
    by = {r["study_id"]: r for r in rows}
    return [np.mean([by[i][s] for s in ("C7", "T12", "L5", "right_ilium", "left_ilium")]) for i in ids]


def test_the_aml_papers_marrow_analysis_with_an_exclusion_and_chosen_comparisons(tmp_path, capsys):
    rows = _aml_rows()
    path = _write(tmp_path / "aml.csv", rows)
    assert main(["stats", str(path), "--out", str(tmp_path / "s"), "--compare", "AML+ vs control",
                 "--compare", "AML- vs control", "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "excluded from the marrow analysis: #5 (extramedullary disease only (SUVmax 5.2))" in out
    st_ = json.loads((tmp_path / "s" / "stats.json").read_text())
    groups = st_["marrow"]["groups"]
    # #5 is left out; the visually negative patients (uptake = no) keep their marrow values.
    assert groups["AML+"]["study_ids"] == ["#1", "#2", "#3", "#4"] and groups["AML-"]["n"] == 5
    assert st_["excluded"] == [{"study_id": "#5", "from": "marrow",
                                "reason": "extramedullary disease only (SUVmax 5.2)"}]
    assert [(t["a"], t["b"]) for t in st_["marrow"]["t_tests"]] == [("AML+", "control"), ("AML-", "control")]
    positive, control = _means(rows, ["#1", "#2", "#3", "#4"]), _means(rows, [f"#{i}" for i in range(11, 16)])
    ref = stats.ttest_ind(positive, control)
    t = st_["marrow"]["t_tests"][0]
    assert t["p"] == pytest.approx(ref.pvalue, rel=1e-6) and t["df"] == 7
    ci = ref.confidence_interval()
    assert t["mean_difference_ci95"] == pytest.approx([ci.low, ci.high], rel=1e-5)
    assert groups["AML+"]["ci95"] == pytest.approx(list(stats.t.interval(0.95, 3, np.mean(positive),
                                                                         stats.sem(positive))), rel=1e-5)
    # #5 still counts as a scan and enters the lesion statistics (the exclusion is from the marrow analysis only).
    assert st_["scans"] == 15 and st_["by_diagnosis"]["AML"]["n"] == 5


def test_default_comparisons_are_each_group_against_the_first_and_a_missing_group_is_never_tested(tmp_path):
    rows = _aml_rows()
    for r in rows[10:12]:
        r["group"] = ""
    table = read_cohort_table(_write(tmp_path / "c.csv", rows))
    st_ = cohort_statistics(table.rows)
    assert [(t["a"], t["b"]) for t in st_["marrow"]["t_tests"]] == [("AML+", "AML-"), ("AML+", "control")]
    assert st_["marrow"]["no_group"] == ["#11", "#12"] and "(not given)" not in st_["marrow"]["groups"]
    named = cohort_statistics(table.rows, missing_group="unknown", comparisons=[("AML+", "unknown")])
    assert named["marrow"]["groups"]["unknown"]["study_ids"] == ["#11", "#12"]
    assert [(t["a"], t["b"]) for t in named["marrow"]["t_tests"]] == [("AML+", "unknown")]


def test_derived_columns_are_recomputed_and_only_needed_columns_are_required(tmp_path):
    rows = [{"study_id": f"S{i}", "uptake": "yes", "activity_mbq": 100 + 10 * i, "peptide_mass_ug": 5 + i,
             "specific_activity_mbq_per_ug": 99.0, "suv_max": 5 + i * 1.5} for i in range(8)]
    columns = ["study_id", "uptake", "activity_mbq", "peptide_mass_ug", "specific_activity_mbq_per_ug", "suv_max"]
    table = read_cohort_table(_write(tmp_path / "few.csv", rows, columns))
    assert [r["specific_activity_mbq_per_ug"] for r in table.rows] == pytest.approx(
        [(100 + 10 * i) / (5 + i) for i in range(8)])
    assert sum("specific_activity_mbq_per_ug" in w and "recomputed" in w for w in table.warnings) == 8
    st_ = cohort_statistics(table.rows, columns=table.columns)
    assert isinstance(st_["correlations"]["suv_max"]["rho"], float)
    assert "correlations.tbr" in st_["not_computed"] and "marrow.groups" in st_["not_computed"]
    # meanSUVmax and the sites used follow the site columns
    marrow = [{"study_id": "M1", "C7": 4, "T12": 6, "mean_suv_max": 9, "marrow_sites_used": 5}]
    t = read_cohort_table(_write(tmp_path / "m.csv", marrow, ["study_id", "C7", "T12", "mean_suv_max",
                                                              "marrow_sites_used"]))
    assert t.rows[0]["mean_suv_max"] == 5.0 and t.rows[0]["marrow_sites_used"] == 2 and len(t.warnings) == 2


def test_diagnosis_spellings_differing_in_case_or_spaces_are_one_with_a_warning(tmp_path, capsys):
    rows = [{"study_id": f"S{i}", "diagnosis": d, "uptake": "yes", "suv_max": 10 + i}
            for i, d in enumerate(["Multiple myeloma", "Multiple Myeloma", "multiple  myeloma ", "Multiple myeloma",
                                   "AML"])]
    path = _write(tmp_path / "d.csv", rows, ["study_id", "diagnosis", "uptake", "suv_max"])
    assert main(["stats", str(path), "--out", str(tmp_path / "s"), "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert "differ only in case or spaces are taken as one, 'Multiple myeloma'" in err and "'Multiple Myeloma'" in err
    st_ = json.loads((tmp_path / "s" / "stats.json").read_text())
    assert set(st_["by_diagnosis"]) == {"Multiple myeloma", "AML"} and st_["by_diagnosis"]["Multiple myeloma"]["n"] == 4
    assert any("spellings" in w for w in st_["warnings"])


def test_table1_and_the_prism_tables(tmp_path):
    rows = _aml_rows()
    rows[0].update(suv_max=12.0, tbr=6.0, suv_mean=7.0, suv_peak=9.0)
    rows[1].update(suv_max=8.0, tbr=4.0, suv_mean=5.0, suv_peak=6.0)
    path = _write(tmp_path / "t.csv", rows)
    assert main(["stats", str(path), "--out", str(tmp_path / "s"), "--no-figures"]) == 0
    table1 = list(csv.DictReader(open(tmp_path / "s" / "table1.csv", encoding="utf-8")))
    cell = {(r["section"], r["characteristic"]): r for r in table1}
    assert cell[("scans", "scans")]["value"] == "15"
    assert cell[("scans", "without discernible uptake")]["value"] == "5 (33.3 %)"
    assert cell[("AML", "with uptake (positive)")]["value"] == "5 (50.0 %)"
    suv = cell[("all diagnoses", "SUVmax (mean ± SD)")]
    assert suv["n"] == "2" and suv["value"] == "10.00 ± 2.83" and float(suv["ci95_low"]) == pytest.approx(
        stats.t.interval(0.95, 1, 10.0, stats.sem([12.0, 8.0]))[0], rel=1e-6)
    assert cell[("injection", "specific activity (MBq/ug), median (range)")]["value"] == "15.00 (15.00-15.00)"
    prism = list(csv.reader(open(tmp_path / "s" / "prism_marrow_by_group.csv", encoding="utf-8")))
    assert prism[0] == ["AML+", "AML-", "control"] and len(prism) == 1 + 5


# ----------------------------------------------------------------------------------------- refusals, one line each
def _cohort_text(**cells):
    row = {"study_id": "S1", "uptake": "yes", "activity_mbq": "150", "peptide_mass_ug": "10", "suv_max": "12"}
    row.update(cells)
    return ",".join(row) + "\n" + ",".join(row.values()) + "\n"


REFUSALS = [
    # (label, file bytes or None for a good table, extra options, expected text in the one line)
    ("--q 0", None, ["--q", "0"], "--q 0: must be above 0 and at most 10 %"),
    ("--q 100", None, ["--q", "100"], "--q 100: must be above 0 and at most 10 %"),
    ("--q -1", None, ["--q", "-1"], "--q -1: must be above 0"),
    ("--q nan", None, ["--q", "nan"], "--q nan: must be above 0"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), [], "a binary file, not a CSV"),
    ("UTF-16", _cohort_text().encode("utf-16"), [], "UTF-16 text; save the cohort table as UTF-8 CSV"),
    ("latin-1", _cohort_text(diagnosis="Lymphom\xe4").encode("latin-1"), [], "not UTF-8 text"),
    ("negative SUVmax", _cohort_text(suv_max="-3.2").encode(), [], "column 'suv_max': -3.2 is outside the plausible"),
    ("SUVmax 5000", _cohort_text(suv_max="5000").encode(), [], f"from 0 to {SUV_MAX_LIMIT:g}"),
    ("activity 0", _cohort_text(activity_mbq="0").encode(), [], "column 'activity_mbq': 0 is outside the plausible"),
    ("activity in kBq", _cohort_text(activity_mbq="150000").encode(), [],
     f"to {DOSE_RANGE_BQ[1] / 1e6:g} MBq"),
    ("Infinity", _cohort_text(tbr="Infinity").encode(), [], "column 'tbr': Infinity is outside the plausible"),
    ("not a number", _cohort_text(suv_mean="high").encode(), [], "column 'suv_mean': 'high' is not a number"),
    ("sites 2.5", _cohort_text(marrow_sites_used="2.5").encode(), [], "2.5 is not a whole number"),
    ("duplicate id", (_cohort_text() + "S1,yes,140,9,10\n").encode(), [], "'S1' is already used on line 2"),
    ("no study_id", b"id,suv_max\nS1,3\n", [], "line 1: missing column(s) study_id"),
    ("empty", b"", [], "empty; the first line names the columns"),
    ("header only", b"study_id,suv_max\n", [], "no studies"),
    ("uptake maybe", _cohort_text(uptake="maybe").encode(), [], "column 'uptake': 'maybe'"),
    ("compare unknown", None, ["--compare", "A vs B"], "--compare: no group 'A', 'B'"),
    ("compare syntax", None, ["--compare", "A-B"], "write two groups as 'GROUP vs GROUP'"),
    ("compare itself", None, ["--compare", "A vs A"], "cannot be compared with itself"),
    ("missing group empty", None, ["--missing-group", " "], "--missing-group: give the name"),
    ("a folder", "folder", [], "is a folder; give the cohort.csv file"),
]


@pytest.mark.parametrize("label,data,options,expected", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_stats_refuses_with_one_line_and_writes_nothing(tmp_path, capsys, label, data, options, expected):
    path = tmp_path / "cohort.csv"
    if data == "folder":
        path.mkdir()
    else:
        path.write_bytes(_cohort_text().encode() if data is None else data)
    out = tmp_path / "s"
    assert main(["stats", str(path), "--out", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err
    assert "Traceback" not in err and not out.exists()


@pytest.mark.parametrize("address", ["not a url", "tcp://host", "http://127.0.0.1:8786", "tcp://127.0.0.1:99999"])
def test_batch_refuses_a_scheduler_address_that_is_not_one(tmp_path, capsys, address):
    assert main(["batch", str(tmp_path / "manifest.csv"), "--out", str(tmp_path / "o"), "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a Dask scheduler address" in err and not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------ property test over values
_finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e7)
_cell = st.one_of(st.none(), _finite, st.sampled_from([float("nan"), float("inf"), float("-inf"), 0.0, -0.0]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.fixed_dictionaries({k: _cell for k in ("activity_mbq", "peptide_mass_ug", "suv_max",
                                                                  "suv_mean", "tbr", "C7", "marrow_sites_used")}),
                       min_size=1, max_size=6),
       uptakes=st.lists(st.sampled_from(["yes", "no", ""]), min_size=6, max_size=6))
def test_any_cohort_values_give_valid_json_in_range_or_one_line_refusal(tmp_path, values, uptakes):
    from PentixaforQuantLib.cohort.value_ranges import COHORT_VALUE_RANGES

    rows = [{"study_id": f"S{i}", "uptake": uptakes[i], "group": "g" if i % 2 else "h", **v}
            for i, v in enumerate(values)]
    path = _write(tmp_path / "p.csv", [{k: (repr(x) if isinstance(x, float) else x) for k, x in r.items()}
                                       for r in rows])
    try:
        table = read_cohort_table(path)
    except CohortTableError as exc:
        message = str(exc)
        assert "\n" not in message and "p.csv line " in message and "column '" in message
        bad = [(k, x) for r in rows for k, x in r.items() if isinstance(x, float) and not math.isnan(x)
               and not COHORT_VALUE_RANGES[k].contains(x)]
        assert bad  # refused only for a value outside its range
        return
    for row in table.rows:
        for key, rng in COHORT_VALUE_RANGES.items():
            assert row[key] is None or rng.contains(row[key])
    doc = cohort_statistics(table.rows, columns=table.columns, input_warnings=table.warnings)
    text = json_text(doc)

    def refuse(constant):
        raise AssertionError(f"{constant} in stats.json")

    json.loads(text, parse_constant=refuse)


def test_json_text_writes_no_nan_or_infinity():
    text = json_text({"a": float("inf"), "b": [1.5, float("nan"), (float("-inf"),)], "c": {"d": 2}})

    def refuse(constant):
        raise AssertionError(constant)

    assert json.loads(text, parse_constant=refuse) == {"a": "not a finite number",
                                                        "b": [1.5, "not a finite number", ["not a finite number"]],
                                                        "c": {"d": 2}}
