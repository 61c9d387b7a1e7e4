"""The batch on a real Dask ``LocalCluster`` (loopback, two worker processes), with a worker killed mid-run."""

from __future__ import annotations

import os
import signal

import pytest

distributed = pytest.importorskip("distributed", reason="the 'dask' extra (dask[distributed]) is not installed")

from PentixaforQuantLib.cohort.batch import run_batch  # noqa: E402
from PentixaforQuantLib.cohort.manifest import read_manifest  # noqa: E402
from PentixaforQuantLib.cohort.table import read_cohort_csv  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, memory_limit="3GiB") as c:
        yield c


def test_dask_batch_equals_the_local_batch_with_a_worker_killed_mid_run(cohort, cohort_run, cluster, tmp_path):
    manifest, specs = cohort
    killed = []

    def kill_a_busy_worker(study_id, result):
        if killed:
            return
        # The worker that did not just answer is busy with a study: kill it (its nanny starts a new one).
        pids = client.run(os.getpid)
        victim = next((pid for pid in pids.values() if pid != result.worker_pid), None)
        if victim:
            killed.append(victim)
            os.kill(victim, signal.SIGKILL)

    with distributed.Client(cluster) as client:
        result = run_batch(read_manifest(manifest), tmp_path, client=client, figure=False,
                           on_result=kill_a_busy_worker)
    assert killed
    rows = read_cohort_csv(tmp_path / "cohort.csv")
    reference = read_cohort_csv(cohort_run[1] / "cohort.csv")
    assert [r["study_id"] for r in rows] == [r["study_id"] for r in reference]  # none lost, none twice
    for row, ref in zip(rows, reference):
        if row["study_id"] == "P-008":
            assert row["error"] == ref["error"]
            continue
        # every study is either measured (retried by Dask after the kill) or reported with the reason
        assert row["error"] == "" or "Dask worker" in row["error"]
        if not row["error"]:
            assert row["suv_max"] == ref["suv_max"] and row["mean_suv_max"] == ref["mean_suv_max"]
    assert result.failed == len(result.failures) >= 1
    assert len({f.study_id for f in result.failures}) == len(result.failures)


def test_dask_batch_through_the_command_line_by_scheduler_address(cohort, cluster, tmp_path):
    from PentixaforQuantLib.cli.main import main

    manifest, _ = cohort
    code = main(["batch", str(manifest), "--out", str(tmp_path), "--scheduler", cluster.scheduler_address,
                 "--no-figure"])
    assert code == 3  # the corrupt study
    rows = {r["study_id"]: r for r in read_cohort_csv(tmp_path / "cohort.csv")}
    assert rows["P-004"]["suv_max"] == pytest.approx(25.0, rel=2e-3) and rows["P-008"]["error"]


def test_a_relative_out_reaches_the_workers_as_an_absolute_path(cohort, cluster, tmp_path, monkeypatch, capsys):
    """The workers run in their own working folder (the one the cluster started in): a relative --out must be
    resolved before the tasks go to them, or the study folders land there and a rerun recomputes everything."""
    from PentixaforQuantLib.cli.main import main

    manifest, _ = cohort
    monkeypatch.chdir(tmp_path)
    args = ["batch", str(manifest), "--out", "relative/out", "--scheduler", cluster.scheduler_address, "--no-figure",
            "--no-bundle"]
    assert main(args) == 3
    studies = tmp_path / "relative" / "out" / "studies"
    assert sorted(p.name for p in studies.glob("*.done.json")) == [f"P-00{i}.done.json" for i in range(1, 7)
                                                                    if i != 7]
    capsys.readouterr()
    assert main(args) == 3
    assert "6 unchanged (kept)" in capsys.readouterr().out
