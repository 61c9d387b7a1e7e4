"""Output folders appear whole or not at all."""

from __future__ import annotations

import pytest

from PentixaforQuantLib.outputs.atomic import MARKER, OutputFolderError, atomic_output_folder, write_file_atomically


def _run(out, files, fail=None):
    with atomic_output_folder(out) as scratch:
        for name, text in files.items():
            (scratch / name).write_text(text)
        if fail is not None:
            raise fail


def test_a_complete_run_replaces_the_earlier_result_and_drops_files_it_did_not_write(tmp_path):
    out = tmp_path / "results"
    _run(out, {"study.json": "1", "study.png": "picture"})
    _run(out, {"study.json": "2"})
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "study.json"]
    assert (out / "study.json").read_text() == "2"
    assert [p.name for p in tmp_path.iterdir()] == ["results"]  # no scratch or aside folder left


@pytest.mark.parametrize("fail", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failed_or_interrupted_run_leaves_the_earlier_result_untouched(tmp_path, fail):
    out = tmp_path / "results"
    _run(out, {"study.json": "good"})
    with pytest.raises(type(fail)):
        _run(out, {"study.json": "half"}, fail=fail)
    assert (out / "study.json").read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_a_folder_with_other_files_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match="notes.txt"):
        _run(tmp_path, {"study.json": "1"})
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_an_empty_existing_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    _run(out, {"a.csv": "x"})
    assert (out / "a.csv").read_text() == "x"


def test_write_file_atomically_replaces_the_content_whole(tmp_path):
    path = write_file_atomically(tmp_path / "cohort.csv", "a\n")
    write_file_atomically(path, b"b\n")
    assert path.read_text() == "b\n"
    assert [p.name for p in tmp_path.iterdir()] == ["cohort.csv"]
