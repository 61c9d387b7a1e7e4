"""Output folders appear whole or not at all."""

from __future__ import annotations

import os
import signal
import stat
import time

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


# --- the second hostile sweep: re-runs keep the user's files, any legal name works, the user's umask holds ------

def _rerun_cases():
    """(what the user put into the earlier result folder, what the re-run must leave there besides its files)."""
    return [
        ("a notes file", {"notes.txt": "mine"}, {"notes.txt"}),
        ("a folder of ROIs", {"rois/roi1.mrk.json": "{}", "rois/roi2.mrk.json": "{}"}, {"rois"}),
        ("a hidden file", {".mynotes": "x"}, {".mynotes"}),
        ("nothing", {}, set()),
    ]


@pytest.mark.parametrize("what,user_files,kept", _rerun_cases(), ids=[c[0] for c in _rerun_cases()])
def test_a_rerun_replaces_only_what_the_tool_wrote(tmp_path, what, user_files, kept):
    out = tmp_path / "results"
    _run(out, {"study.json": "1", "study.png": "picture"})
    for rel, text in user_files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    _run(out, {"study.json": "2"})
    assert sorted(p.name for p in out.iterdir()) == sorted({MARKER, "study.json"} | kept)
    assert (out / "study.json").read_text() == "2"
    for rel, text in user_files.items():
        assert (out / rel).read_text() == text
    # a failed re-run keeps them too, and the earlier result
    with pytest.raises(RuntimeError):
        _run(out, {"study.json": "3"}, fail=RuntimeError("boom"))
    assert (out / "study.json").read_text() == "2"
    for rel, text in user_files.items():
        assert (out / rel).read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_a_user_file_named_like_a_new_output_is_refused_not_replaced(tmp_path):
    out = tmp_path / "results"
    _run(out, {"study.json": "1"})
    (out / "study.png").write_text("my own picture")
    with pytest.raises(OutputFolderError, match="study.png"):
        _run(out, {"study.json": "2", "study.png": "new"})
    assert (out / "study.png").read_text() == "my own picture"
    assert (out / "study.json").read_text() == "1"


def test_a_marker_of_an_older_version_counts_the_new_outputs_as_the_tools(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / MARKER).write_text("Written by PentixaforQuant; the whole folder is replaced by the next run.\n")
    (out / "study.json").write_text("old")
    (out / "notes.txt").write_text("mine")
    _run(out, {"study.json": "new"})
    assert (out / "study.json").read_text() == "new"
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("name", ["x" * 255, "with space", "a.partial-b", "sub/../res", "./res/"])
def test_any_legal_output_name_works_and_no_scratch_name_leaks(tmp_path, monkeypatch, name):
    base = tmp_path / "base"
    base.mkdir()
    monkeypatch.chdir(base)
    for run in ("1", "2"):  # twice: the second run replaces the first
        _run(name, {"study.json": run})
    target = (base / name).resolve()
    assert (target / "study.json").read_text() == "2"
    leftovers = [p.name for p in target.parent.rglob("*") if "pfq-" in p.name or "partial-" in p.name.replace(name, "")]
    assert leftovers == []


@pytest.mark.parametrize("name", [".", "..", "./"])
def test_the_current_folder_is_refused_as_output_folder_in_one_line(tmp_path, monkeypatch, name):
    base = tmp_path / "base"
    base.mkdir()
    monkeypatch.chdir(base)
    with pytest.raises(OutputFolderError, match="current folder") as refused:
        _run(name, {"study.json": "1"})
    assert "partial" not in str(refused.value) and "\n" not in str(refused.value)
    assert list(base.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["base"]


@pytest.mark.parametrize("umask,folder_mode,file_mode", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600),
                                                          (0o002, 0o775, 0o664)])
def test_outputs_follow_the_users_umask(tmp_path, umask, folder_mode, file_mode):
    previous = os.umask(umask)
    try:
        out = tmp_path / "results"
        _run(out, {"study.json": "1"})
        single = write_file_atomically(tmp_path / "cohort" / "cohort.csv", "a\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == folder_mode
    assert stat.S_IMODE((out / "study.json").stat().st_mode) == file_mode
    assert stat.S_IMODE((out / MARKER).stat().st_mode) == file_mode
    assert stat.S_IMODE(single.stat().st_mode) == file_mode
    assert stat.S_IMODE(single.parent.stat().st_mode) == folder_mode


def test_an_interrupt_a_library_swallowed_still_keeps_the_earlier_result(tmp_path):
    from PentixaforQuantLib import interruption

    out = tmp_path / "results"
    _run(out, {"study.json": "good"})
    saved = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    interruption.install()
    try:
        with pytest.raises(KeyboardInterrupt):
            with atomic_output_folder(out) as scratch:
                (scratch / "study.json").write_text("half")
                try:  # a library with a bare except around its work
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(1)
                except:  # noqa: E722 - the point of the test
                    pass
        with pytest.raises(KeyboardInterrupt):
            write_file_atomically(out / "study.json", "new")
    finally:
        signal.signal(signal.SIGINT, saved[0])
        signal.signal(signal.SIGTERM, saved[1])
        interruption._state.update(interrupted=False, installed=False)
    assert (out / "study.json").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_an_error_while_writing_names_the_destination_not_the_scratch_folder(tmp_path):
    out = tmp_path / "results"
    with pytest.raises(OSError) as failed:
        with atomic_output_folder(out) as scratch:
            (scratch / "study.json").mkdir()
            (scratch / "study.json").write_text("x")  # IsADirectoryError inside the scratch folder
    assert failed.value.filename == str(out.resolve() / "study.json")
    assert "pfq" not in str(failed.value) and "partial" not in str(failed.value)
    assert list(tmp_path.iterdir()) == []
