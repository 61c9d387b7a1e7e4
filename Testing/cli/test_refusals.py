"""Untrusted input on the command line: every case is an exit code and one line naming the cause, never a traceback.

Table-driven (issue 7 §2): options out of range, usage errors, damaged or unusual points files, a study where no
site can be measured. Plus what needs a real process: Ctrl-C, library noise on file descriptor 2, ``--verbose``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from PentixaforQuantLib.cli.main import main
from PentixaforQuantLib.outputs.points import MAX_POINTS_FILE_BYTES, write_markups_json


def _markups(points, status=None) -> bytes:
    """A Slicer markups file (RAS) with one control point per (label, position); ``status``: label -> status."""
    cps = [{"label": k, "position": list(map(float, v)), **({"positionStatus": status[k]} if k in (status or {})
                                                             else {})} for k, v in points.items()]
    return json.dumps({"markups": [{"type": "Fiducial", "coordinateSystem": "RAS", "controlPoints": cps}]}).encode()


def _cp(body: str) -> bytes:
    return ('{"markups": [{"type": "Fiducial", "coordinateSystem": "RAS", "controlPoints": [' + body + "]}]}").encode()


# name -> file content; "{lesion}" in CSV text is replaced by the phantom's lesion point.
POINTS_FILES = {
    "empty.csv": b"",
    "blank.csv": b"\n  \n",
    "header_only.csv": b"label,r,a,s\n",
    "decimal_comma.csv": b"label,r,a,s\nlesion,12,5,-3,0\n",
    "extra_header.csv": b"label,r,a,s,comment\nlesion,1,2,3,x\n",
    "not_a_number.csv": b"label,r,a,s\nlesion,1_0,2,3\n",
    "nan.csv": b"label,r,a,s\nlesion,nan,2,3\n",
    "inf.csv": b"label,r,a,s\naorta,1e400,2,3\n",
    "duplicate.csv": b"label,r,a,s\nlesion,1,2,3\nTL,4,5,6\n",
    "latin1.csv": "label,r,a,s\nlésion,1,2,3\n".encode("latin-1"),
    "unknown.csv": b"label,r,a,s\nspleen,1,2,3\n",
    "escape.csv": b"label,r,a,s\n\x1b[31mred,1,2,3\n",  # a terminal escape sequence in a label
    "deep.mrk.json": b"[" * 200_000,
    "null.mrk.json": b"null",
    "null_markup.mrk.json": b'{"markups": [null]}',
    "null_point.mrk.json": _cp("null"),
    "null_label.mrk.json": _cp('{"label": null, "position": [1, 2, 3]}'),
    "null_position.mrk.json": _cp('{"label": "lesion", "position": [null, 2, 3]}'),
    "text_position.mrk.json": _cp('{"label": "lesion", "position": ["1", "2", "3"]}'),
    "nan_position.mrk.json": _cp('{"label": "lesion", "position": [NaN, 2, 3]}'),
    "no_points.mrk.json": _cp(""),
    "not_placed.mrk.json": _cp('{"label": "lesion", "position": [0, 0, 0], "positionStatus": "undefined"}'),
    "duplicate.mrk.json": _cp('{"label": "lesion", "position": [1, 2, 3]}, {"label": "Target", "position": [1, 2, 3]}'),
    "line.mrk.json": b'{"markups": [{"type": "Line", "controlPoints": []}]}',
    "binary.mrk.json": bytes(range(256)) * 4,
}

CASES = [
    # --- options: each numeric option is range-checked up front, NaN and inf alike
    ("peak-radius-500", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}", "--peak-radius-mm", "500"],
     2, "--peak-radius-mm 500: must be above 0 and at most 15 mm"),
    ("threshold-0", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}", "--threshold", "0"],
     2, "--threshold 0: must be from 10 to 90 % of SUVmax"),
    ("threshold-150", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}", "--threshold", "150"],
     2, "--threshold 150: must be from 10 to 90 %"),
    ("threshold-nan", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}", "--threshold", "nan"],
     2, "--threshold nan: must be"),
    ("search-radius-negative", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}",
                                "--search-radius-mm", "-1"], 2, "--search-radius-mm -1: must be above 0"),
    ("max-volume-0", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}", "--max-volume-ml", "0"],
     2, "--max-volume-ml 0: must be above 0 and at most 10000 mL"),
    ("marrow-inf", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}", "--marrow-diameter-mm", "inf"],
     2, "--marrow-diameter-mm inf: must be above 0 and at most 40 mm"),
    ("blood-pool-negative", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}",
                             "--blood-pool-diameter-mm", "-15"], 2, "--blood-pool-diameter-mm -15"),
    ("background-without-a50", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}",
                                "--background-suv", "1.0"], 2, "--background-suv applies only with --a50"),
    ("background-nan", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}", "--a50",
                        "--background-suv", "nan"], 2, "--background-suv nan: must be from 0 to 100"),
    ("weight-nan", ["suv", "{dicom}", "--weight-kg", "nan"], 2, "--weight-kg nan: must be a finite number above 0"),
    ("dose-0", ["suv", "{dicom}", "--dose-mbq", "0"], 2, "--dose-mbq 0: must be a finite number above 0"),
    ("half-life-inf", ["convert", "{dicom}", "{out}/x.nrrd", "--half-life-s", "inf"], 2, "--half-life-s inf"),
    ("phantom-spacing", ["phantom", "{out}", "--spacing-mm", "0.1", "4", "4"], 2, "--spacing-mm 0.1: must be from 1"),
    ("phantom-noise", ["phantom", "{out}", "--noise", "2"], 2, "--noise 2: must be from 0 to 1"),
    ("phantom-seed", ["phantom", "{out}", "--seed", "-1"], 2, "--seed -1"),
    ("bench-shape", ["bench", "--shape", "2000", "8", "8"], 2, "--shape 2000: must be from 8 to 1024 voxels"),
    ("bench-voxels", ["bench", "--shape", "1000", "1000", "1000"], 2, "1,000,000,000 voxels; at most"),
    ("bench-repeats", ["bench", "--repeats", "0"], 2, "--repeats 0"),
    # --- usage errors: one line and where the usage is, not 18 lines of usage
    ("no-command", [], 2, "see 'pentixafor-quant --help'"),
    ("missing-options", ["quantify", "{dicom}"], 2,
     "required: --points, --out (see 'pentixafor-quant quantify --help')"),
    ("unknown-option", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}", "--bogus"], 2,
     "unrecognized arguments: --bogus (see 'pentixafor-quant quantify --help')"),
    ("not-a-float", ["quantify", "{dicom}", "--points", "{points}", "--out", "{out}", "--threshold", "forty"], 2,
     "argument --threshold: invalid float value: 'forty'"),
    ("convert-to-folder", ["convert", "{dicom}", "{out}"], 2, "use .nrrd"),
    # --- points files
    *[(f"points-{name}", ["quantify", "{dicom}", "--points", f"{{tmp}}/{name}", "--out", "{out}"], 2, message)
      for name, message in [
          ("empty.csv", "empty.csv is empty"),
          ("blank.csv", "blank.csv is empty"),
          ("header_only.csv", "header_only.csv holds no placed points"),
          ("decimal_comma.csv", "decimal_comma.csv, line 2: 5 fields, expected 4 (label,r,a,s); a decimal comma"),
          ("extra_header.csv", "the first line must be the header label,r,a,s"),
          ("not_a_number.csv", "line 2: '1_0' is not a number"),
          ("nan.csv", "line 2: point 'lesion' has a non-finite coordinate (nan, 2, 3)"),
          ("inf.csv", "line 2: point 'aorta' has a non-finite coordinate (inf, 2, 3)"),
          ("duplicate.csv", "'lesion' (line 2) and 'TL' (line 3) both name site 'lesion'"),
          ("latin1.csv", "latin1.csv is not UTF-8 text (byte 0xe9"),
          ("unknown.csv", "line 2: label 'spleen' names no site"),
          ("escape.csv", "line 2: label '\\x1b[31mred' names no site"),
          ("deep.mrk.json", "JSON nested too deeply"),
          ("null.mrk.json", "holds no 'markups' list"),
          ("null_markup.mrk.json", "markup 1 is not an object"),
          ("null_point.mrk.json", "point 1: not an object"),
          ("null_label.mrk.json", "point 1: no label"),
          ("null_position.mrk.json", "point 'lesion' has no position of three numbers"),
          ("text_position.mrk.json", "point 'lesion' has no position of three numbers"),
          ("nan_position.mrk.json", "point 'lesion' has a non-finite coordinate"),
          ("no_points.mrk.json", "no_points.mrk.json holds no placed points"),
          ("not_placed.mrk.json", "holds no placed points (1 not placed)"),
          ("duplicate.mrk.json", "'lesion' (point 1) and 'Target' (point 2) both name site 'lesion'"),
          ("line.mrk.json", "markup 1 is a 'Line', not a point list"),
          ("binary.mrk.json", "is not UTF-8 text (byte 0x80 at offset 128)"),
          ("huge.csv", f"limit {MAX_POINTS_FILE_BYTES // 2**20} MB"),
          ("missing.mrk.json", "points file not found"),
          (".", "is a folder, not a file"),
      ]],
]


@pytest.fixture(scope="module")
def inputs(phantom_study, tmp_path_factory):
    phantom, folder = phantom_study
    tmp = tmp_path_factory.mktemp("points_files")
    for name, content in POINTS_FILES.items():
        (tmp / name).write_bytes(content)
    with open(tmp / "huge.csv", "wb") as f:  # sparse: costs no disk
        f.truncate(MAX_POINTS_FILE_BYTES + 1)
    points = write_markups_json(phantom.truth.seed_points, tmp / "points.mrk.json")
    return {"dicom": str(folder / "dicom"), "points": str(points), "tmp": str(tmp)}


@pytest.mark.parametrize("argv, code, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusal_is_one_line_naming_the_cause(argv, code, message, inputs, tmp_path, capsys):
    out = tmp_path / "out"
    result = main([a.format(out=out, **inputs) for a in argv])
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert result == code
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert "Traceback" not in captured.err and "\x1b" not in captured.err and captured.out == ""
    assert not out.exists() or argv[0] == "phantom" and not any(out.iterdir())  # refused before any output


def test_an_unplaced_slicer_point_is_skipped_with_a_warning(inputs, phantom_study, tmp_path, capsys):
    phantom, _ = phantom_study
    path = tmp_path / "p.mrk.json"
    path.write_bytes(_markups(phantom.truth.seed_points, status={"lesion": "undefined", "aorta": "preview"}))
    code = main(["quantify", inputs["dicom"], "--points", str(path), "--out", str(tmp_path / "o"), "--no-figure"])
    warnings = [line for line in capsys.readouterr().err.splitlines() if "not placed" in line]
    assert code == 0
    assert warnings == ["warning: points file p.mrk.json, point 1: 'lesion' is not placed (positionStatus "
                        "'undefined'): not measured",
                        "warning: points file p.mrk.json, point 2: 'aorta' is not placed (positionStatus "
                        "'preview'): not measured"]
    doc = json.loads((tmp_path / "o" / "study.json").read_text())
    assert doc["lesion"] is None and doc["blood_pool"] is None and doc["tbr"] is None
    assert doc["warnings"][:2] == [w.removeprefix("warning: ") for w in warnings]
    assert doc["mean_suv_max"] == pytest.approx(phantom.truth.expected["mean_suv_max"], abs=2e-3)


def test_a_wrong_suv_scale_is_one_line_naming_the_weight_not_one_error_per_site(inputs, tmp_path, capsys):
    # A weight of 1 g typed as kg: every SUV is 70 000 times too low, so every site reads as outside the body.
    code = main(["quantify", inputs["dicom"], "--points", inputs["points"], "--out", str(tmp_path / "o"),
                 "--no-figure", "--weight-kg", "0.001"])
    err = capsys.readouterr().err.splitlines()
    assert code in (2, 3)  # refused by the SUV plausibility check, or measured with every site refused
    assert len(err) == 1 and err[0].startswith("error: ") and "weight" in err[0].lower(), err


def test_an_internal_error_is_one_line_and_verbose_shows_the_traceback(inputs, monkeypatch, capsys):
    import PentixaforQuantLib.cli.suv as suv_command

    def broken(args):  # stands in for a bug: no real input reaches an unexpected exception any more
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(suv_command, "cmd_suv", broken)
    assert main(["suv", inputs["dicom"]]) == 1
    err = capsys.readouterr().err
    assert err == ("error: internal error ZeroDivisionError: float division by zero (run with --verbose for the "
                   "traceback)\n")
    assert main(["suv", inputs["dicom"], "--verbose"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "ZeroDivisionError" in err


def _run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "PentixaforQuantLib", *args], capture_output=True, text=True,
                          check=False, **kwargs)


def test_pydicom_warnings_only_with_verbose(phantom_study, tmp_path):
    import shutil

    _, folder = phantom_study
    dicom = tmp_path / "dicom"
    shutil.copytree(folder / "dicom", dicom)
    # A SeriesDescription longer than LO allows, with control bytes, as a damaged or foreign file may hold it
    # (written in a fresh interpreter, so that no validation setting of this process applies): pydicom warns when
    # it reads it.
    damage = ("import sys, glob, pydicom\nfrom pydicom import config\n"
              "config.settings.writing_validation_mode = config.IGNORE\n"
              "for f in glob.glob(sys.argv[1] + '/*.dcm'):\n"
              "    ds = pydicom.dcmread(f); ds.SeriesDescription = 'PET \\x01\\x02' + 'x' * 80; ds.save_as(f)\n")
    subprocess.run([sys.executable, "-c", damage, str(dicom)], check=True)
    quiet = _run("convert", str(dicom), str(tmp_path / "suv.nrrd"))
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("wrote")
    verbose = _run("--verbose", "convert", str(dicom), str(tmp_path / "suv.nrrd"))
    assert verbose.returncode == 0 and "exceeds the maximum length of 64 allowed for VR LO" in verbose.stderr


def test_vtk_messages_on_fd_2_are_kept_off_the_terminal():
    # VTK writes its errors from C++ to file descriptor 2; the command's own messages still reach stderr.
    code = ("import sys, vtk\n"
            "from PentixaforQuantLib.cli.quiet import library_output\n"
            "with library_output(quiet=QUIET):\n"
            "    r = vtk.vtkPNGReader(); r.SetFileName('no-such-file.png'); r.Update()\n"
            "    print('our own line', file=sys.stderr)\n")
    quiet = subprocess.run([sys.executable, "-c", code.replace("QUIET", "True")], capture_output=True, text=True)
    loud = subprocess.run([sys.executable, "-c", code.replace("QUIET", "False")], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == "our own line\n"
    assert "no-such-file.png" in loud.stderr and loud.stderr.endswith("our own line\n")


def test_ctrl_c_is_one_line_exit_130_and_leaves_no_output(tmp_path):
    out = tmp_path / "demo"
    def as_in_a_terminal():
        # A child inherits its parent's blocked and ignored signals; libraries loaded by other tests of this
        # process (event loops, worker pools) may leave SIGINT blocked. A user's shell does not.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen([sys.executable, "-u", "-m", "PentixaforQuantLib", "demo", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=as_in_a_terminal)
    first = proc.stdout.readline()  # the demo has started (building the phantom takes seconds)
    assert first.startswith("Building")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr == "interrupted\n"
    assert not (out / "results").exists()
    assert [p.name for p in tmp_path.iterdir()] in ([], ["demo"])
    if out.exists():  # the phantom may have been written already; no temporary folder stays beside it
        assert sorted(p.name for p in out.iterdir()) in ([], ["phantom"])


def test_help_still_shows_the_full_usage_with_the_option_ranges(capsys):
    assert main(["quantify", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--verbose" in out
    flat = " ".join(out.split())  # argparse wraps the help text
    # The help is the input's definition in the table of inputs (the panel's tooltip), with its range.
    assert "SUVpeak sphere radius (mm): 6.2035 = 1 mL; 6.0 = 1.2 cm diameter; range: above 0 and at most 15 mm" in flat
    assert "range: from 10 to 90 % of SUVmax" in flat


def test_options_inside_their_ranges_still_run(inputs, phantom_study, tmp_path):
    phantom, _ = phantom_study
    code = main(["quantify", inputs["dicom"], "--points", inputs["points"], "--out", str(tmp_path / "o"),
                 "--no-figure", "--threshold", "90", "--peak-radius-mm", "15", "--search-radius-mm", "50",
                 "--marrow-diameter-mm", "40", "--a50", "--background-suv", "0"])
    assert code == 0
    doc = json.loads((tmp_path / "o" / "study.json").read_text())
    assert doc["parameters"]["isocontour"]["threshold_fraction"] == 0.9
    assert doc["parameters"]["peak_radius_mm"] == 15.0
    assert np.isfinite(doc["lesion"]["suv_peak"])
