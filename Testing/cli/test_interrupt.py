"""Ctrl-C at any moment of a run, on a loaded machine: exit 130 with one line, the earlier result intact.

The moments are counted from the program's first line (when it takes over SIGTERM, seen in /proc): the few
milliseconds before, while the interpreter itself starts, are Python's own. A re-run of ``quantify`` into its own result folder is interrupted at many moments from the start of the process
(Python's start-up, the import of the command line, the imports of VTK and MRML, reading, measuring, writing) to
after its end, while two processes keep the processors busy. Each run must end either with exit 0 and a complete
new result, or with exit 130, the line "interrupted" and the folder as it was (or, for an interrupt that came
after the new result was in place, the complete new result): never a traceback, an internal error, a crash, a
partial folder or a lost file of the user's.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path('/proc/self/status').is_file(), reason='needs /proc (Linux)')

from PentixaforQuantLib.outputs.points import write_markups_json

CLI = [sys.executable, "-m", "PentixaforQuantLib"]
#: Moments (s after the process started) at which Ctrl-C is sent; the run takes some seconds on a loaded machine.
DELAYS_S = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0, 4.0, 6.0)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _wait_for_the_program(proc, timeout_s: float = 60.0) -> None:
    """Until the program has taken over SIGTERM (its first line; Python alone leaves SIGTERM to the system)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            break
        caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.0005)


def _burners(n: int = 2):
    code = "import time\nend = time.time() + 600\nwhile time.time() < end: pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


@pytest.fixture(scope="module")
def earlier_result(phantom_study, tmp_path_factory):
    phantom, folder = phantom_study
    points = write_markups_json(phantom.truth.seed_points, folder / "points_interrupt.mrk.json")
    out = tmp_path_factory.mktemp("interrupt") / "results"
    args = ["quantify", str(folder / "dicom"), "--points", str(points), "--out", str(out), "--no-figure"]
    done = subprocess.run(CLI + args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (out / "notes.txt").write_text("the reader's own notes\n")
    return args, out


def test_ctrl_c_at_any_moment_ends_with_130_and_keeps_the_earlier_result(earlier_result):
    args, out = earlier_result
    before = _digest(out)
    burners = _burners()
    outcomes = []
    try:
        for delay in DELAYS_S:
            proc = subprocess.Popen(CLI + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            _wait_for_the_program(proc)
            started = time.monotonic()
            time.sleep(max(0.0, delay - (time.monotonic() - started)))
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=300)
            outcomes.append((delay, proc.returncode))
            lines = stderr.strip().splitlines()
            where = f"Ctrl-C at {delay} s: exit {proc.returncode}, stderr {stderr[-600:]!r}"
            assert proc.returncode in (0, 130), where
            assert "Traceback" not in stderr and "internal error" not in stderr, where
            after = _digest(out)
            assert after.keys() == before.keys(), where  # the notes file is kept, nothing half-written
            assert (out / "notes.txt").read_text() == "the reader's own notes\n", where
            if proc.returncode == 130:
                assert lines[-1] == "interrupted", where
            assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".pfq-")], where
            before = after
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert sum(code == 130 for _, code in outcomes) >= len(DELAYS_S) // 2, outcomes  # most moments were mid-run


def _blocked():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def _ignored():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("parent", [_blocked, _ignored], ids=["sigint-blocked-by-the-parent",
                                                               "sigint-ignored-by-the-parent"])
def test_ctrl_c_arrives_even_when_the_parent_blocked_or_ignored_it(earlier_result, parent):
    """A process started from a worker pool or an event loop inherits blocked or ignored signals; Ctrl-C must still
    end the run with 130 and leave the earlier result."""
    args, out = earlier_result
    before = _digest(out)
    proc = subprocess.Popen(CLI + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=parent)
    _wait_for_the_program(proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    assert _digest(out) == before
