"""A batch stopped by SIGTERM or SIGINT: every worker process ends, nothing half-written is left, and the same
command resumes from the finished studies. The batch runs as its own process with two worker processes, as a
user or a job scheduler starts it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from PentixaforQuantLib.cli.main import main

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to list processes")


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("signum,expected_code", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 130)],
                         ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_every_worker_and_the_rerun_resumes(cohort, tmp_path, capsys, signum, expected_code):
    manifest, _ = cohort
    root = tmp_path / "cohort"
    shutil.copytree(manifest.parent, root)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "PentixaforQuantLib", "batch", str(root / "manifest.csv"), "--out", str(out),
               "--workers", "2", "--no-figure", "--no-bundle"]
    batch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not list(out.glob("studies/*.done.json")):
            assert batch.poll() is None, batch.communicate()
            assert time.monotonic() < deadline, "no study finished in 5 minutes"
            time.sleep(0.1)
        workers = _descendants(batch.pid)
        assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker)
        batch.send_signal(signum)
        _, err = batch.communicate(timeout=120)
    finally:
        if batch.poll() is None:
            batch.kill()
    assert batch.returncode == expected_code, err
    assert "workers stopped, finished studies are kept" in err and "Traceback" not in err
    deadline = time.monotonic() + 15
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _running(pid)], "a worker process outlived the batch"
    finished = {p.name[:-len(".done.json")] for p in out.glob("studies/*.done.json")}
    assert finished and not (out / "cohort.csv").exists()
    assert not [p for p in out.rglob("*") if ".partial-" in p.name]
    time.sleep(0.5)
    assert {p.name[:-len(".done.json")] for p in out.glob("studies/*.done.json")} == finished  # nothing wrote on

    capsys.readouterr()
    assert main(["batch", str(root / "manifest.csv"), "--out", str(out), "--no-figure", "--no-bundle"]) == 3
    summary = capsys.readouterr().out
    kept = int(re.search(r"(\d+) unchanged \(kept\)", summary).group(1))
    measured = int(re.search(r"(\d+) measured", summary).group(1))
    assert kept == len(finished) and kept + measured == 6
