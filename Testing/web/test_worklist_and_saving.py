"""The reading station's rules without a browser: which studies a worklist offers and where their files may be,
reading states, and saving a reading (whole, with the reader, never over a newer reading)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from PentixaforQuantLib.cli.web import check_port, is_loopback
from PentixaforQuantLib.web.saving import SaveConflict, read_saved_points, remove_stale_folders, save_reading
from PentixaforQuantLib.web.security import check_reader_name, new_token, same_origin, token_matches
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


def test_every_start_makes_a_new_token_compared_whole():
    tokens = {new_token() for _ in range(20)}
    assert len(tokens) == 20 and all(len(t) >= 32 for t in tokens)
    token = tokens.pop()
    assert token_matches(token, token)
    assert not token_matches(token[:-1], token) and not token_matches(None, token) and not token_matches("", token)
    assert not token_matches("wslink-secret", token)  # the library's public default never opens the station


@pytest.mark.parametrize("origin, host, allowed", [
    ("http://127.0.0.1:8080", "127.0.0.1:8080", True),
    ("http://localhost:8080", "localhost:8080", True),
    ("http://[::1]:8080", "[::1]:8080", True),
    ("http://example.org", "example.org:80", True),
    (None, "127.0.0.1:8080", True),  # not a browser page: the token still decides
    ("http://127.0.0.1:8081", "127.0.0.1:8080", False),  # another server on this machine
    ("http://localhost:8080", "127.0.0.1:8080", False),
    ("https://evil.example", "127.0.0.1:8080", False),
    ("null", "127.0.0.1:8080", False),  # a sandboxed frame or a file: page
    ("file://", "127.0.0.1:8080", False),
    ("http://127.0.0.1:8080", None, False),
])
def test_only_pages_of_the_station_itself_may_open_its_websocket(origin, host, allowed):
    assert same_origin(origin, host) is allowed


@pytest.mark.parametrize("raw, expected", [("  Dr  A.  Müller ", "Dr A. Müller"), ("李 医生", "李 医生"),
                                           ("O'Brien-Smith", "O'Brien-Smith")])
def test_reader_names_are_kept_as_typed_with_spaces_collapsed(raw, expected):
    assert check_reader_name(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("", "enter the reader's name"), (" \t ", "enter the reader's name"),
    ("x" * 100_000, "100000 characters long; use at most 80"),
    ("Dr\x00A", "cannot be shown"), ("Dr \u202eA", "RIGHT-TO-LEFT OVERRIDE"), ("Dr\u200fA", "cannot be shown"),
    ("A\x1b[31m", "cannot be shown"), ("A\ud800", "cannot be shown"),
])
def test_reader_names_that_cannot_be_shown_or_are_too_long_are_refused(raw, message):
    from PentixaforQuantLib.errors import PentixaforQuantError

    with pytest.raises(PentixaforQuantError, match=message.replace("[", "\\[")):
        check_reader_name(raw)


def test_the_port_is_checked_before_anything_is_loaded(tmp_path, capsys):
    import socket

    from PentixaforQuantLib.cli.main import main
    from PentixaforQuantLib.errors import ParameterError

    for port in (0, 65536, 99999, -1):
        with pytest.raises(ParameterError, match=f"--port {port}: must be a TCP port number from 1 to 65535"):
            check_port("127.0.0.1", port)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(ParameterError, match=f"cannot listen on 127.0.0.1:{port}"):
            check_port("127.0.0.1", port)
    assert main(["web", str(tmp_path), "--port", "99999"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing printed before the refusal: no address to open
    assert captured.err.strip().splitlines() == ["error: --port 99999: must be a TCP port number from 1 to 65535"]


def test_unfinished_save_folders_of_a_stopped_server_are_removed(tmp_path):
    out = tmp_path / "readings"
    for name in (".S1.partial-abc123_x", ".S1.old-q9z", ".S 2.partial-k", ".pfq-partial-a1b2", ".pfq-old-zz"):
        (out / name / "inner").mkdir(parents=True)
        (out / name / "inner" / "study.json").write_text("{}")
    kept = [out / "S1", out / ".hidden", out / "S1.partial-notours", out / ".S1.lock"]
    kept[0].mkdir()
    kept[1].mkdir()
    kept[2].mkdir()
    kept[3].write_text("")
    assert remove_stale_folders(out) == 5
    left = sorted(p.name for p in out.iterdir() if not p.name.endswith(".lock"))
    assert left == sorted(p.name for p in kept if not p.name.endswith(".lock"))
    assert remove_stale_folders(tmp_path / "missing") == 0


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


def test_saved_files_name_no_server_folder(measured_controller, tmp_path):
    """The scene bundle and every other saved file hold no path of the server (the PET's DICOM files, its folder,
    the output folder); the open study keeps them (it still converts again from its files)."""
    import zipfile

    from PentixaforQuantLib.scene.logic import DICOM_FILES_ATTRIBUTE
    from PentixaforQuantLib.web.saving import SERVER_PATH_ATTRIBUTES

    pet = measured_controller.pet_node
    assert DICOM_FILES_ATTRIBUTE in SERVER_PATH_ATTRIBUTES
    assert all(pet.GetAttribute(name) for name in SERVER_PATH_ATTRIBUTES)  # the names the scene really uses
    source_folder = json.loads(pet.GetAttribute("PentixaforQuant.Source"))["path"]
    folder = tmp_path / "out" / "S5"
    save_reading(measured_controller, folder, reader="A", seen_revision=None, source={"study_id": "S5"})
    needles = {source_folder.encode(), str(tmp_path).encode(), b"/tmp/"}
    contents = {}
    for path in folder.iterdir():
        if path.suffix == ".mrb":
            with zipfile.ZipFile(path) as bundle:
                contents.update({f"{path.name}:{n}": bundle.read(n) for n in bundle.namelist()})
        else:
            contents[path.name] = path.read_bytes()
    assert any(n.endswith(".mrml") for n in contents)
    for name, data in contents.items():
        for needle in needles:
            assert needle not in data, f"{name} holds the server path {needle!r}"
    assert all(pet.GetAttribute(name) for name in SERVER_PATH_ATTRIBUTES)


def _atomic_follows_umask() -> bool:
    from PentixaforQuantLib.outputs import atomic

    return hasattr(atomic, "user_umask")


# The web's saves go through outputs/atomic.py; its umask fix is a separate change: until it is in, this is expected
# to fail (strict: once it is in, the test must pass).
@pytest.mark.xfail(not _atomic_follows_umask(), strict=True,
                   reason="outputs/atomic.py does not apply the umask yet (separate change)")
def test_saved_reading_follows_the_umask(measured_controller, tmp_path):
    """Folders and files of a saved reading get the permissions the user's umask gives (not 0700 / 0600)."""
    for umask in (0o022, 0o002):
        old = os.umask(umask)
        try:
            folder = tmp_path / f"umask-{umask:o}" / "S6"
            save_reading(measured_controller, folder, reader="A", seen_revision=None)
        finally:
            os.umask(old)
        assert folder.stat().st_mode & 0o777 == 0o777 & ~umask
        for path in folder.iterdir():
            assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


def test_manifest_ct_column_must_stay_inside_and_exist(tmp_path):
    root = tmp_path / "cohort"
    (root / "s1" / "PET").mkdir(parents=True)
    (root / "s1" / "CT").mkdir()
    (tmp_path / "elsewhere").mkdir()
    manifest = root / "manifest.csv"
    manifest.write_text("study_id,dicom,ct\nS1,s1/PET,s1/CT\nS2,s1/PET,../elsewhere\nS3,s1/PET,s1/none\nS4,s1/PET,\n",
                        encoding="utf-8")
    by_id = {s.study_id: s for s in Worklist.from_path(manifest, tmp_path / "out").studies}
    assert by_id["S1"].anatomy == (root / "s1" / "CT").resolve() and by_id["S1"].problem is None
    assert "outside the manifest's folder" in by_id["S2"].problem and "line 3" in by_id["S2"].problem
    assert "no such CT/MR folder s1/none" in by_id["S3"].problem
    assert by_id["S4"].anatomy is None and by_id["S4"].problem is None


def test_readout_letters_hot_spots_and_audit_units():
    from PentixaforQuantLib.geometry import VoxelGrid
    from PentixaforQuantLib.scene.panel_text import readable_audit
    from PentixaforQuantLib.web.readout import hot_spots, orientation_letters, suv_at

    axial = [-1, 0, 0, 100, 0, 1, 0, -50, 0, 0, 1, 10, 0, 0, 0, 1]  # Slicer's axial view: x to patient left
    assert orientation_letters(axial) == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
    sagittal = [0, 0, 1, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]
    assert orientation_letters(sagittal) == {"left": "A", "right": "P", "top": "S", "bottom": "I"}

    grid = VoxelGrid.from_spacing((40, 40, 40), (2.0, 2.0, 2.0))
    image = np.zeros((40, 40, 40), np.float32)
    image[10, 10, 10], image[10, 10, 13] = 9.0, 8.0  # 6 mm apart: one focus at 20 mm separation
    image[30, 30, 30] = 5.0
    image[20, 20, 5] = 1.5  # below SUV 2
    spots = hot_spots(image, grid)
    assert [s["suv"] for s in spots] == [9.0, 5.0]
    assert spots[0]["ras"] == pytest.approx(list(grid.ijk_to_ras_points(np.array([[10.0, 10, 10]]))[0]))
    assert suv_at(image, grid, spots[1]["ras"]) == 5.0 and suv_at(image, grid, [-50, 0, 0]) is None

    rows = readable_audit([("dose_bq", "1.5e+08", "RadionuclideTotalDose"), ("weight_kg", "70", "PatientWeight"),
                           ("decay_time_s", "3600", "scan time - injection time"),
                           ("scan_datetime", "2024-03-14T11:00:00", "SeriesTime"), ("units", "BQML", "Units")])
    assert [r[1] for r in rows] == ["150.0 MBq", "70.0 kg", "60.0 min (3600 s)",
                                    "2024-03-14 11:00:00 (scanner local time)", "BQML"]


def test_anatomy_series_with_uneven_slices_is_refused_in_one_line(tmp_path):
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    from dicom_builders import save
    from PentixaforQuantLib.errors import PentixaforQuantError
    from PentixaforQuantLib.web.anatomy import read_anatomy_series

    assert read_anatomy_series(tmp_path) is None  # no CT or MR: nothing to show, no error
    uid = generate_uid()
    for k, z in enumerate((0.0, 3.0, 7.0)):
        ds = Dataset()
        ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality, ds.SeriesInstanceUID = (
            "1.2.840.10008.5.1.4.1.1.2", generate_uid(), "CT", uid)
        ds.ImageOrientationPatient, ds.ImagePositionPatient = [1, 0, 0, 0, 1, 0], [0, 0, z]
        ds.PixelSpacing, ds.Rows, ds.Columns = [1, 1], 2, 2
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit, ds.PixelRepresentation, ds.PixelData = 15, 1, np.zeros(4, np.int16).tobytes()
        save(ds, tmp_path / f"ct{k}.dcm")
    with pytest.raises(PentixaforQuantError, match="^the CT series in .* has uneven or repeated slice positions"):
        read_anatomy_series(tmp_path)
