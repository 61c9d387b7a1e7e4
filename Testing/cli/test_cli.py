"""The command line, run as a user runs it (a subprocess for the console script; main() for speed)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from PentixaforQuantLib.cli.main import main
from PentixaforQuantLib.outputs.points import write_markups_json
from PentixaforQuantLib.measure.sites import MARROW_SITES


@pytest.fixture(scope="module")
def quantified(phantom_study, tmp_path_factory):
    phantom, folder = phantom_study
    points = write_markups_json(phantom.truth.seed_points, folder / "points.mrk.json")
    out = tmp_path_factory.mktemp("quantify")
    code = main(["quantify", str(folder / "dicom"), "--points", str(points), "--out", str(out)])
    return code, out, phantom


def test_quantify_writes_study_json_with_the_documented_keys(quantified):
    code, out, phantom = quantified
    assert code == 0
    doc = json.loads((out / "study.json").read_text())
    expected = phantom.truth.expected
    lesion = doc["lesion"]
    assert set(lesion) >= {"suv_max", "suv_mean", "suv_sd", "suv_peak", "volume_ml", "voxels", "tla", "peak_ras"}
    assert lesion["suv_max"] == pytest.approx(expected["lesion"]["suv_max"], abs=2e-3)
    assert lesion["voxels"] == expected["lesion"]["voxels"]
    assert lesion["volume_ml"] == pytest.approx(expected["lesion"]["volume_ml"], rel=1e-9)
    assert lesion["tla"] == pytest.approx(lesion["suv_mean"] * lesion["volume_ml"])
    assert set(doc["blood_pool"]) >= {"suv_mean", "suv_sd", "voxels"}
    assert doc["tbr"] == pytest.approx(expected["tbr"], abs=1e-2)
    assert set(doc["marrow"]) == set(MARROW_SITES)
    for site in MARROW_SITES:
        assert set(doc["marrow"][site]) >= {"suv_max", "suv_mean"}
    assert doc["mean_suv_max"] == pytest.approx(expected["mean_suv_max"], abs=2e-3)
    assert doc["marrow_sites_used"] == list(MARROW_SITES)
    assert doc["parameters"]["isocontour"]["threshold_fraction"] == 0.4
    assert doc["parameters"]["peak_variant"] == "global"
    assert doc["suv"]["units"] == "{SUVbw}g/ml" and doc["suv"]["decisions"]
    assert doc["warnings"] == [] and doc["errors"] == {}


def test_quantify_writes_csv_segmentation_scene_and_picture(quantified):
    code, out, phantom = quantified
    header = (out / "sites.csv").read_text().splitlines()[0]
    assert "SUVmax [{SUVbw}g/ml]" in header and "Volume [mL]" in header
    for name in ("vois.seg.nrrd", "study.mrb", "study.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_csv_points_and_options_change_the_recorded_parameters(phantom_study, tmp_path):
    phantom, folder = phantom_study
    csv = tmp_path / "points.csv"
    csv.write_text("label,r,a,s\n" + "\n".join(f"{k},{v[0]},{v[1]},{v[2]}" for k, v in
                                              phantom.truth.seed_points.items() if k in ("lesion", "aorta")))
    code = main(["quantify", str(folder / "dicom"), "--points", str(csv), "--out", str(tmp_path / "o"),
                 "--threshold", "50", "--connectivity", "26", "--peak", "local", "--no-figure"])
    assert code == 0
    doc = json.loads((tmp_path / "o" / "study.json").read_text())
    assert doc["parameters"]["isocontour"]["threshold_fraction"] == 0.5
    assert doc["parameters"]["isocontour"]["connectivity"] == 26
    assert doc["parameters"]["peak_variant"] == "local"
    assert doc["marrow"] == {} and doc["mean_suv_max"] is None
    assert doc["lesion"]["voxels"] == phantom.truth.expected["lesion"]["voxels"]  # uniform sphere: any threshold


def test_a_point_outside_the_body_gives_exit_3_and_names_the_site(phantom_study, tmp_path, capsys):
    phantom, folder = phantom_study
    corner = phantom.grid.ijk_to_ras_points([1, 1, 1])
    points = {**phantom.truth.seed_points, "aorta": corner}
    path = write_markups_json(points, tmp_path / "p.mrk.json")
    code = main(["quantify", str(folder / "dicom"), "--points", str(path), "--out", str(tmp_path / "o"),
                 "--no-figure"])
    assert code == 3
    err = capsys.readouterr().err
    assert "error: aorta:" in err and "outside the body" in err
    doc = json.loads((tmp_path / "o" / "study.json").read_text())
    assert doc["tbr"] is None and "aorta" in doc["errors"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["suv", "{empty}"], "folder is empty"),
        (["quantify", "{dicom}", "--points", "{bad_points}", "--out", "{tmp}"], "'spleen' names no site"),
        (["quantify", "{dicom}", "--points", "{tmp}/missing.mrk.json", "--out", "{tmp}"], "not found"),
        (["convert", "{dicom}", "{tmp}/out.xyz"], "use .nrrd"),
    ],
)
def test_refusals_print_one_line_and_exit_2(argv, message, phantom_study, tmp_path, capsys):
    phantom, folder = phantom_study
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.csv").write_text("label,r,a,s\nspleen,0,0,0\n")
    fill = {"empty": str(tmp_path / "empty"), "dicom": str(folder / "dicom"), "bad_points": str(tmp_path / "bad.csv"),
            "tmp": str(tmp_path)}
    code = main([a.format(**fill) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


def test_suv_json_and_convert_roundtrip(phantom_study, tmp_path, capsys, headless):
    phantom, folder = phantom_study
    assert main(["suv", str(folder / "dicom"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"suv_type", "units", "decay_correction", "scan_datetime", "injection_datetime", "decisions"} <= set(doc)
    assert ("factor" in doc) or ("factors" in doc)
    out = tmp_path / "suv.nrrd"
    assert main(["convert", str(folder / "dicom"), str(out)]) == 0
    import slicer.util

    node = headless.logics["Volumes"].AddArchetypeVolume(str(out), "suv", 0)
    arr = slicer.util.arrayFromVolume(node)
    np.testing.assert_allclose(arr, phantom.suv, atol=5e-3)
    m = np.zeros((4, 4))
    import vtk

    vm = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(vm)
    m = np.array([[vm.GetElement(r, c) for c in range(4)] for r in range(4)])
    np.testing.assert_allclose(m, phantom.grid.ijk_to_ras, atol=1e-4)


def test_console_script_runs_as_a_module(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "PentixaforQuantLib", "suv", str(tmp_path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_quantify_dicom_out_writes_valid_seg_and_sr(phantom_study, tmp_path, capsys):
    pytest.importorskip("highdicom")
    import pydicom
    from dicom_validation import assert_valid_dicom

    phantom, folder = phantom_study
    points = write_markups_json(phantom.truth.seed_points, tmp_path / "points.mrk.json")
    code = main(["quantify", str(folder / "dicom"), "--points", str(points), "--out", str(tmp_path / "o"),
                 "--dicom-out", str(tmp_path / "dicom"), "--no-figure"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"wrote {tmp_path / 'dicom' / 'seg.dcm'}" in out and f"wrote {tmp_path / 'dicom' / 'sr.dcm'}" in out
    seg = pydicom.dcmread(tmp_path / "dicom" / "seg.dcm")
    sr = pydicom.dcmread(tmp_path / "dicom" / "sr.dcm")
    assert len(seg.SegmentSequence) == 7 and sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    doc = json.loads((tmp_path / "o" / "study.json").read_text())
    assert seg.StudyInstanceUID == sr.StudyInstanceUID and doc["lesion"]["voxels"] == phantom.truth.expected[
        "lesion"]["voxels"]
    assert_valid_dicom(tmp_path / "dicom" / "sr.dcm")


def test_quantify_dicom_refusal_writes_nothing(phantom_study, tmp_path, capsys):
    pytest.importorskip("highdicom")
    import shutil

    import pydicom

    phantom, folder = phantom_study
    pet = tmp_path / "pet"
    shutil.copytree(folder / "dicom", pet)
    for f in pet.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        del ds.FrameOfReferenceUID
        ds.save_as(f)
    points = write_markups_json(phantom.truth.seed_points, tmp_path / "points.mrk.json")
    code = main(["quantify", str(pet), "--points", str(points), "--out", str(tmp_path / "o"),
                 "--dicom-out", str(tmp_path / "dicom")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Frame of Reference UID (0020,0052)" in err[0], err
    assert not (tmp_path / "o").exists() and not (tmp_path / "dicom").exists()


@pytest.mark.parametrize("where, message", [("foreign", "already holds files this tool did not write"),
                                            ("inside", "must lie outside the output folder")])
def test_quantify_dicom_out_folder_is_checked_before_anything_is_written(where, message, phantom_study, tmp_path,
                                                                          capsys):
    pytest.importorskip("highdicom")
    phantom, folder = phantom_study
    points = write_markups_json(phantom.truth.seed_points, tmp_path / "points.mrk.json")
    dicom = tmp_path / "o" / "dicom" if where == "inside" else tmp_path / "dicom"
    if where == "foreign":
        dicom.mkdir()
        (dicom / "notes.txt").write_text("mine")
    code = main(["quantify", str(folder / "dicom"), "--points", str(points), "--out", str(tmp_path / "o"),
                 "--dicom-out", str(dicom), "--no-figure"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "o").exists()


def _pet_with(folder, tmp_path, change):
    import shutil

    import pydicom

    pet = tmp_path / "pet"
    shutil.copytree(folder / "dicom", pet)
    for f in pet.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        change(ds)
        ds.save_as(f)
    return pet


def _drop(*keywords):
    def change(ds):
        for keyword in keywords:
            if keyword in ds:
                del ds[keyword]
    return change


def _set(keyword, value):
    return lambda ds: setattr(ds, keyword, value)


@pytest.mark.parametrize("change, message", [
    (_set("PatientName", "Doe\x07^John"), "PatientName (0010,0010) of the PET series"),
    (_set("PatientName", "Doe^John\r\n"), "control character 0x0D"),
    (_drop("StudyInstanceUID"), "no Study Instance UID (0020,000D)"),
])
def test_quantify_dicom_refusal_is_known_before_measuring(change, message, phantom_study, tmp_path, capsys,
                                                          monkeypatch):
    """A PET whose DICOM export cannot be made is refused with one line before anything is measured."""
    pytest.importorskip("highdicom")
    from PentixaforQuantLib.scene.logic import StudyLogic

    phantom, folder = phantom_study
    pet = _pet_with(folder, tmp_path, change)
    points = write_markups_json(phantom.truth.seed_points, tmp_path / "points.mrk.json")

    def measured(*args, **kwargs):
        raise AssertionError("measured before the DICOM export was known to be possible")

    monkeypatch.setattr(StudyLogic, "measure", measured)
    code = main(["quantify", str(pet), "--points", str(points), "--out", str(tmp_path / "o"),
                 "--dicom-out", str(tmp_path / "dicom"), "--no-figure"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0] and "internal error" not in err[0], err
    assert not (tmp_path / "o").exists() and not (tmp_path / "dicom").exists()


def test_quantify_dicom_out_from_a_pet_without_type2_identifiers(phantom_study, tmp_path, capsys):
    """No Accession Number, birth date, Study ID, referring physician or Patient ID (as anonymised data often
    are): the DICOM objects are written with those attributes empty, beside every other output."""
    pytest.importorskip("highdicom")
    import pydicom
    from dicom_validation import assert_valid_dicom

    phantom, folder = phantom_study
    pet = _pet_with(folder, tmp_path, _drop("AccessionNumber", "PatientBirthDate", "StudyID",
                                            "ReferringPhysicianName", "PatientID"))
    points = write_markups_json(phantom.truth.seed_points, tmp_path / "points.mrk.json")
    code = main(["quantify", str(pet), "--points", str(points), "--out", str(tmp_path / "o"),
                 "--dicom-out", str(tmp_path / "dicom"), "--no-figure", "--reader-name", "Doe^Jane"])
    assert code == 0, capsys.readouterr().err
    for name in ("seg.dcm", "sr.dcm", "rwvm.dcm"):
        ds = pydicom.dcmread(tmp_path / "dicom" / name)
        assert ds.AccessionNumber == "" and ds.PatientID == "" and ds.StudyID == "" and ds.PatientBirthDate == ""
        assert_valid_dicom(tmp_path / "dicom" / name)
    assert str(pydicom.dcmread(tmp_path / "dicom" / "seg.dcm").ContentCreatorName) == "Doe^Jane"
    assert (tmp_path / "o" / "study.json").is_file() and (tmp_path / "o" / "sites.csv").is_file()


def test_quantify_dicom_failure_after_measuring_keeps_the_other_outputs(phantom_study, tmp_path, capsys):
    """When the DICOM objects cannot be made from what was measured (here no site could be measured), study.json
    and the other outputs are still written; one line says why the DICOM objects are not."""
    pytest.importorskip("highdicom")
    phantom, folder = phantom_study
    far = {site: np.array([900.0, 900.0, 900.0]) for site in phantom.truth.seed_points}  # outside the volume
    points = write_markups_json(far, tmp_path / "points.mrk.json")
    code = main(["quantify", str(folder / "dicom"), "--points", str(points), "--out", str(tmp_path / "o"),
                 "--dicom-out", str(tmp_path / "dicom"), "--no-figure"])
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.startswith("error: no site")]
    assert code == 2
    assert len(err) == 1 and "the other outputs were written to" in err[0], err
    assert (tmp_path / "o" / "study.json").is_file() and (tmp_path / "o" / "sites.csv").is_file()
    assert not (tmp_path / "dicom").exists()


@pytest.mark.parametrize("name, message", [("Doe^Jane\x07", "control character 0x07"),
                                           ("A" * 70, "exceeds the maximum allowed length of 64")])
def test_quantify_refuses_a_reader_name_that_is_no_person_name(name, message, phantom_study, tmp_path, capsys):
    pytest.importorskip("highdicom")
    phantom, folder = phantom_study
    points = write_markups_json(phantom.truth.seed_points, tmp_path / "points.mrk.json")
    code = main(["quantify", str(folder / "dicom"), "--points", str(points), "--out", str(tmp_path / "o"),
                 "--dicom-out", str(tmp_path / "dicom"), "--no-figure", "--reader-name", name])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "the reader's name" in err[0] and message in err[0], err
    assert not (tmp_path / "o").exists() and not (tmp_path / "dicom").exists()


def test_quantify_dicom_out_copies_an_overlong_study_id_and_says_so(phantom_study, tmp_path, capsys):
    """As the 51 real IBSI STS PETs have it (an 18-character Study ID, SH allows 16): exported, not shortened,
    and the warning is on the terminal and in study.json."""
    pytest.importorskip("highdicom")
    import warnings

    import pydicom

    phantom, folder = phantom_study
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pydicom warns while the test writes the input
        pet = _pet_with(folder, tmp_path, _set("StudyID", "IBSI_1_STS_001_PET"))
    points = write_markups_json(phantom.truth.seed_points, tmp_path / "points.mrk.json")
    code = main(["quantify", str(pet), "--points", str(points), "--out", str(tmp_path / "o"),
                 "--dicom-out", str(tmp_path / "dicom"), "--no-figure"])
    err = capsys.readouterr().err
    assert code == 0, err
    line = next(line for line in err.splitlines() if line.startswith("warning: DICOM: StudyID (0020,0010)"))
    assert "copied unchanged" in line
    doc = json.loads((tmp_path / "o" / "study.json").read_text())
    assert any(w.startswith("DICOM: StudyID (0020,0010)") for w in doc["warnings"])
    assert pydicom.dcmread(tmp_path / "dicom" / "sr.dcm").StudyID == "IBSI_1_STS_001_PET"
