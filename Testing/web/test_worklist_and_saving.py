"""The reading station's rules without a browser: which studies a worklist offers and where their files may be,
reading states, and saving a reading (whole, with the reader, never over a newer reading)."""

from __future__ import annotations

import json
import os

import pytest

from PentixaforQuantLib.cli.web import access_token, is_loopback
from PentixaforQuantLib.web.saving import SaveConflict, read_saved_points, save_reading
from PentixaforQuantLib.web.worklist import (
    DONE,
    IN_PROGRESS,
    NOT_READ,
    REFUSED,
    Worklist,
    WorklistError,
    safe_study_id,
)


@pytest.mark.parametrize("raw, expected", [
    ("patient 01", "patient_01"), ("../../etc", "______etc"), ("a/b\\c", "a_b_c"), (".hidden", "_hidden"),
    ("P-7.2_x", "P-7.2_x"), ("na\x00me", "na_me"),
])
def test_study_ids_are_one_safe_folder_name(raw, expected):
    assert safe_study_id(raw) == expected
    assert "/" not in expected and not expected.startswith(".")


@pytest.mark.parametrize("raw", ["", "..", "///", "  "])
def test_study_ids_without_usable_characters_are_refused(raw):
    with pytest.raises(WorklistError):
        safe_study_id(raw)


def test_folder_worklist_lists_study_folders_and_refuses_links_out(tmp_path):
    root = tmp_path / "worklist"
    (root / "b_study").mkdir(parents=True)
    (root / "a_study").mkdir()
    (root / ".cache").mkdir()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, root / "c_link")
    wl = Worklist.from_path(root, tmp_path / "out")
    assert [s.study_id for s in wl.studies] == ["a_study", "b_study", "c_link"]
    assert wl.studies[0].problem is None and wl.studies[0].dicom == (root / "a_study").resolve()
    assert "outside" in wl.studies[2].problem and wl.studies[2].dicom is None
    assert [wl.state(n) for n in range(3)] == [NOT_READ, NOT_READ, REFUSED]
    assert wl.state(0, open_now=True) == IN_PROGRESS
    assert wl.output_folder(1) == (tmp_path / "out" / "b_study").resolve()


def test_manifest_paths_must_stay_inside_the_manifest_folder(tmp_path):
    root = tmp_path / "cohort"
    (root / "s1" / "PET").mkdir(parents=True)
    (root / "s1" / "points.mrk.json").write_text("{}", encoding="utf-8")
    (root / "s6").mkdir()
    (tmp_path / "secret").mkdir()
    manifest = root / "manifest.csv"
    manifest.write_text("study_id,dicom,points,diagnosis\n"
                        "S1,s1/PET,s1/points.mrk.json,AML\n"
                        "S2,../secret,,AML\n"
                        "S3,/etc,,AML\n"
                        "S4,missing,,AML\n"
                        "../S5,,,AML\n"
                        "S6,s6,../secret/p.csv,AML\n"
                        "S7,s6,s6/none.csv,AML\n", encoding="utf-8")
    wl = Worklist.from_path(manifest, tmp_path / "out")
    by_id = {s.study_id: s for s in wl.studies}
    assert by_id["S1"].problem is None and by_id["S1"].dicom == (root / "s1" / "PET").resolve()
    assert by_id["S1"].points == (root / "s1" / "points.mrk.json").resolve()
    assert "../secret/p.csv is outside the manifest's folder" in by_id["S6"].problem
    assert "no such points file s6/none.csv" in by_id["S7"].problem
    assert "outside the manifest's folder" in by_id["S2"].problem and "line 3" in by_id["S2"].problem
    assert "outside the manifest's folder" in by_id["S3"].problem
    assert "no such folder missing" in by_id["S4"].problem
    assert by_id["___S5"].problem.endswith("empty dicom column")
    assert all(s.dicom is None for s in wl.studies if s.problem)


def test_manifest_without_the_required_columns_or_with_duplicate_ids_is_refused(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("id,folder\nS1,x\n", encoding="utf-8")
    with pytest.raises(WorklistError, match="required column 'study_id' is missing"):
        Worklist.from_path(bad, tmp_path / "out")
    (tmp_path / "x").mkdir()
    bad.write_text("study_id,dicom\nS 1,x\nS_1,x\n", encoding="utf-8")
    with pytest.raises(WorklistError, match="'S_1' appears twice"):
        Worklist.from_path(bad, tmp_path / "out")


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def test_a_token_is_made_beyond_loopback_or_when_asked():
    assert access_token("127.0.0.1") is None
    tokens = {access_token("0.0.0.0"), access_token("10.1.2.3"), access_token("127.0.0.1", require_token=True)}
    assert None not in tokens and len(tokens) == 3 and all(len(t) >= 24 for t in tokens)


@pytest.fixture(scope="module")
def measured_controller(phantom_study):
    from PentixaforQuantLib.scene.panel import PanelController

    phantom, folder = phantom_study
    controller = PanelController()
    assert controller.load_dicom(folder / "dicom") is not None
    for site in ("lesion", "aorta", "C7"):
        controller.place_site(site, phantom.truth.seed_points[site])
    assert controller.study is not None and controller.study.tbr is not None
    return controller


def test_save_writes_the_outputs_with_reader_time_and_revision(measured_controller, tmp_path):
    folder = tmp_path / "out" / "S1"
    reading = save_reading(measured_controller, folder, reader="  Dr  Reader ", seen_revision=None)
    assert reading["reader"] == "Dr Reader" and reading["revision"] == 1
    assert {p.name for p in folder.iterdir()} >= {"study.json", "sites.csv", "vois.seg.nrrd", "study.mrb",
                                                 "points.mrk.json"}
    doc = json.loads((folder / "study.json").read_text())
    assert doc["reading"] == reading and "T" in reading["saved_at"] and reading["saved_at"].endswith("+00:00")
    assert doc["tbr"] == pytest.approx(measured_controller.study.tbr, rel=1e-12)
    points = read_saved_points(folder)
    assert set(points) == {"lesion", "aorta", "C7"}
    for site, ras in points.items():
        assert list(ras) == pytest.approx(list(measured_controller.site_ras(site)), abs=1e-9)
    wl = Worklist([__import__("PentixaforQuantLib.web.worklist", fromlist=["Study"]).Study("S1", tmp_path)],
                  tmp_path / "out")
    assert wl.state(0) == DONE and wl.saved_reading(0)["revision"] == 1


def test_second_writer_is_told_and_nothing_is_written(measured_controller, tmp_path):
    folder = tmp_path / "S2"
    first = save_reading(measured_controller, folder, reader="A", seen_revision=None)
    before = (folder / "study.json").read_bytes()
    with pytest.raises(SaveConflict, match="saved by A at .* after you opened it; nothing was written"):
        save_reading(measured_controller, folder, reader="B", seen_revision=None)  # opened before A saved
    assert (folder / "study.json").read_bytes() == before
    again = save_reading(measured_controller, folder, reader="A", seen_revision=first["revision"])
    assert again["revision"] == 2


def test_save_needs_a_reader(measured_controller, tmp_path):
    from PentixaforQuantLib.errors import PentixaforQuantError

    with pytest.raises(PentixaforQuantError, match="reader's name"):
        save_reading(measured_controller, tmp_path / "S3", reader=" ", seen_revision=None)
    assert not (tmp_path / "S3").exists()


def test_web_command_refuses_bad_input_in_one_line(tmp_path, capsys):
    from PentixaforQuantLib.cli.main import main

    assert main(["web", "--worklist", str(tmp_path / "missing")]) == 2
    assert main(["web", str(tmp_path), "--worklist", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
