"""Manifest checks: every problem named by line and column, before any work; safe folder names."""

from __future__ import annotations

import csv

import pytest

from PentixaforQuantLib.cli.main import main
from PentixaforQuantLib.cohort.manifest import ManifestError, protocol_for, read_manifest
from PentixaforQuantLib.measure.protocol import ProtocolParameters

HEADER = ["study_id", "dicom", "points", "diagnosis", "group", "uptake", "activity_mbq", "peptide_mass_ug"]


@pytest.fixture
def study_files(tmp_path):
    (tmp_path / "s1" / "dicom").mkdir(parents=True)
    (tmp_path / "s1" / "points.mrk.json").write_text("{}")
    return tmp_path


def _write(folder, rows, header=HEADER):
    path = folder / "manifest.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _problems(path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        read_manifest(path)
    return info.value.problems


GOOD = ["s1", "s1/dicom", "s1/points.mrk.json", "lymphoma", "A", "yes", "150", "10"]


def test_a_good_manifest_resolves_paths_against_its_folder(study_files):
    m = read_manifest(_write(study_files, [GOOD, ["s2", "", "", "myeloma", "B", "no", "", ""]]))
    e1, e2 = m.entries
    assert e1.dicom == str((study_files / "s1" / "dicom").resolve()) and e1.uptake
    assert e1.specific_activity_mbq_per_ug == 15.0 and e1.line == 2
    assert not e2.uptake and e2.dicom is None and e2.activity_mbq is None and e2.specific_activity_mbq_per_ug is None


@pytest.mark.parametrize("change,line_col", [
    ({1: "s1/nothing"}, "line 2, column 'dicom': 's1/nothing': folder not found"),
    ({2: "s1/missing.mrk.json"}, "line 2, column 'points': 's1/missing.mrk.json': file not found"),
    ({6: "lots"}, "line 2, column 'activity_mbq': 'lots' is not a positive number"),
    ({7: "-3"}, "line 2, column 'peptide_mass_ug': '-3' is not a positive number"),
    ({5: "maybe"}, "line 2, column 'uptake': 'maybe': write yes or no"),
    ({0: "a\x07b"}, "line 2, column 'study_id': contains a control character"),
])
def test_each_bad_cell_is_named_by_line_and_column(study_files, change, line_col):
    row = list(GOOD)
    for index, value in change.items():
        row[index] = value
    problems = _problems(_write(study_files, [row]))
    assert problems == [f"manifest.csv {line_col}"]


def test_unknown_and_missing_columns_are_refused_on_line_1(study_files):
    header = [("diagnosys" if h == "diagnosis" else h) for h in HEADER]
    problems = _problems(_write(study_files, [GOOD], header))
    assert "manifest.csv line 1, column 4 'diagnosys': unknown column; did you mean 'diagnosis'?" in problems
    assert "manifest.csv line 1: required column 'diagnosis' is missing" in problems


def test_duplicate_ids_and_ids_that_clean_to_the_same_folder_are_refused(study_files):
    rows = [GOOD, GOOD[:0] + ["s1"] + GOOD[1:], ["a/b"] + GOOD[1:], ["a_b"] + GOOD[1:]]
    problems = _problems(_write(study_files, rows))
    assert "manifest.csv line 3, column 'study_id': 's1' is already used on line 2" in problems
    assert any(p.startswith("manifest.csv line 5, column 'study_id': 'a_b' and 'a/b' (line 4) give the same folder")
               for p in problems)


def test_all_problems_are_listed_at_once_and_nothing_is_run(study_files, capsys):
    rows = [["s1", "nope", "s1/points.mrk.json", "x", "A", "yes", "abc", "10"], ["s3", "", "", "x", "A", "yes", "", ""]]
    path = _write(study_files, rows)
    out = study_files / "out"
    assert main(["batch", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 2, column 'dicom'" in err and "line 2, column 'activity_mbq'" in err
    assert "line 3, column 'dicom': empty (needed for a scan with uptake)" in err
    assert not out.exists()  # refused before any work
    assert main(["batch", str(path), "--out", str(out), "--workers", "0"]) == 2
    assert "--workers 0: must be at least 1" in capsys.readouterr().err


def test_optional_columns_override_suv_and_protocol_per_row(study_files):
    header = HEADER + ["weight_kg", "dose_mbq", "threshold", "connectivity", "peak"]
    m = read_manifest(_write(study_files, [GOOD + ["82.5", "140", "50", "26", "local"]], header))
    e = m.entries[0]
    assert e.overrides == {"weight_kg": 82.5, "dose_bq": 140e6}
    p = protocol_for(e.protocol, ProtocolParameters())
    assert p.isocontour.threshold_fraction == 0.5 and p.isocontour.connectivity == 26 and p.peak_variant == "local"
    problems = _problems(_write(study_files, [GOOD + ["heavy", "", "", "7", ""]], header))
    assert "manifest.csv line 2, column 'weight_kg': 'heavy': must be a positive number" in problems
    assert "manifest.csv line 2, column 'connectivity': '7': must be 6, 18 or 26" in problems
    out_of_range = _problems(_write(study_files, [GOOD + ["", "", "", "", ""], GOOD[:0] + ["s9"] + GOOD[1:] +
                                                  ["", "", "500", "", ""]], header))
    assert len(out_of_range) == 1 and out_of_range[0].startswith("manifest.csv line 3: protocol columns:")
    assert "threshold" in out_of_range[0]


def test_a_date_without_a_clock_time_is_refused_as_the_command_line_refuses_it(study_files):
    """Read as midnight, a date alone would decay-correct by the wrong hours without a word."""
    header = HEADER + ["injection_time", "scan_time"]
    m = read_manifest(_write(study_files, [GOOD + ["2024-05-02T09:58+02:00", "2024-05-02 11:00:00"]], header))
    e = m.entries[0]
    assert e.overrides["injection_datetime"].isoformat() == "2024-05-02T09:58:00+02:00"
    assert e.overrides["scan_datetime"].isoformat() == "2024-05-02T11:00:00"
    problems = _problems(_write(study_files, [GOOD + ["2024-05-02", "noon"]], header))
    assert problems == [
        "manifest.csv line 2, column 'injection_time': '2024-05-02': must be an ISO date-time with a clock time, "
        "such as 2024-05-02T09:58:00",
        "manifest.csv line 2, column 'scan_time': 'noon': must be an ISO date-time with a clock time, such as "
        "2024-05-02T09:58:00"]


def test_stats_refuses_a_bad_cohort_table_naming_line_and_column(tmp_path, capsys):
    from PentixaforQuantLib.cohort.table import COLUMN_KEYS

    missing = tmp_path / "missing.csv"
    missing.write_text("id,diagnosis\nS1,lymphoma\n")
    assert main(["stats", str(missing), "--out", str(tmp_path / "s")]) == 2
    assert "missing.csv line 1: missing column(s) study_id" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    cells = dict.fromkeys(COLUMN_KEYS, "")
    cells.update(study_id="S1", uptake="yes", suv_max="high")
    bad.write_text(",".join(COLUMN_KEYS) + "\n" + ",".join(cells[k] for k in COLUMN_KEYS) + "\n")
    assert main(["stats", str(bad), "--out", str(tmp_path / "s")]) == 2
    assert "bad.csv line 2, column 'suv_max': 'high' is not a number" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
