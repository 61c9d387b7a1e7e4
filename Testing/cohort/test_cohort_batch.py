"""The phantom cohort end to end through ``batch`` and ``stats``; a corrupt study; resume, --force, an interrupted
run, local worker processes with a worker killed mid-run."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal

import numpy as np
import pytest
from scipy import stats as sps

from PentixaforQuantLib.cli.main import main
from PentixaforQuantLib.cohort.batch import run_batch
from PentixaforQuantLib.cohort.manifest import read_manifest
from PentixaforQuantLib.cohort.table import COLUMN_KEYS, read_cohort_csv
from PentixaforQuantLib.measure.sites import MARROW_SITES

QUANT = 2e-3  # int16 storage of the PET series: values come back within this of their design


def _rows(out):
    return {r["study_id"]: r for r in read_cohort_csv(out / "cohort.csv")}


def test_batch_measures_every_study_to_its_design_values(cohort, cohort_run):
    _, specs = cohort
    code, out = cohort_run
    assert code == 3  # the corrupt study failed, the others were measured
    with (out / "cohort.csv").open() as fh:
        assert next(csv.reader(fh)) == list(COLUMN_KEYS)
    rows = _rows(out)
    assert list(rows) == [*specs, "P-008"]
    for sid, spec in specs.items():
        row = rows[sid]
        assert row["diagnosis"] == spec.diagnosis and row["group"] == spec.group
        assert row["specific_activity_mbq_per_ug"] == pytest.approx(spec.activity_mbq / spec.peptide_mass_ug)
        if not spec.uptake:
            assert row["uptake"] == "no" and row["suv_max"] is None and row["error"] == ""
            assert not (out / "studies" / sid).exists()
            continue
        assert row["error"] == ""
        assert row["suv_max"] == pytest.approx(spec.lesion_suv, abs=QUANT * spec.lesion_suv)
        assert row["suv_mean"] == pytest.approx(spec.lesion_suv, abs=QUANT * spec.lesion_suv)
        assert row["blood_pool_suv_mean"] == pytest.approx(2.0, abs=QUANT * 2)
        assert row["tbr"] == pytest.approx(spec.lesion_suv / 2.0, rel=2 * QUANT)
        for site in MARROW_SITES:
            if site in spec.drop_sites:
                assert row[site] is None
            else:
                assert row[site] == pytest.approx(spec.marrow_suv, abs=QUANT * spec.marrow_suv)
        assert row["marrow_sites_used"] == 5 - len(spec.drop_sites)
        folder = out / "studies" / sid
        assert {"study.json", "sites.csv", "vois.seg.nrrd", "study.mrb", "study.png"} <= {p.name for p in folder.iterdir()}
    assert "left_ilium" in rows["P-005"]["warnings"]


def test_cohort_csv_numbers_carry_the_precision_they_have(cohort_run):
    """Measured and derived numbers with 7 significant digits (the float32 image data), no float noise such as
    5.1839999999999975; the injected activity and peptide mass as the manifest gives them."""
    _, out = cohort_run
    with open(out / "cohort.csv", newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    numbers = 0
    for record in records:
        for key in ("specific_activity_mbq_per_ug", "suv_max", "suv_mean", "suv_peak", "volume_ml", "tbr",
                    "blood_pool_suv_mean", *MARROW_SITES, "mean_suv_max"):
            if record[key]:
                numbers += 1
                mantissa = record[key].lower().split("e")[0].replace(".", "").replace("-", "").lstrip("0")
                assert len(mantissa) <= 7, f"{record['study_id']} {key} = {record[key]}"
    assert numbers > 50
    assert {r["activity_mbq"] for r in records} >= {"150.0", "140.0"}


def test_a_scan_without_uptake_but_with_its_series_is_measured_for_the_marrow_analysis(cohort, tmp_path):
    """The AML study's visually PET-negative patients have no lesion uptake but their marrow is read: with
    ``uptake = no`` and the series and points given, the study is measured, counted as without uptake, left out
    of the lesion statistics and kept in its marrow group."""
    from PentixaforQuantLib.cohort.analysis import cohort_statistics

    manifest = _copy_cohort(cohort, tmp_path)
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], [r for r in rows[1:] if r[0] in ("P-001", "P-004", "P-007")]
    for r in body:
        if r[0] == "P-004":
            r[header.index("uptake")] = "no"
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *body])
    result = run_batch(read_manifest(manifest), tmp_path / "out", figure=False, bundle=False)
    assert result.no_uptake == 2 and result.measured == 2 and result.failed == 0
    table = read_cohort_csv(tmp_path / "out" / "cohort.csv")
    negative = next(r for r in table if r["study_id"] == "P-004")
    assert negative["uptake"] == "no" and negative["mean_suv_max"] == pytest.approx(3.6, rel=QUANT)
    st = cohort_statistics(table)
    assert st["no_uptake"] == 2 and st["overall"]["n"] == 1
    assert st["marrow"]["groups"]["PET-negative"]["study_ids"] == ["P-004"]


def _subset_manifest(cohort, tmp_path, ids, *, exclude: dict | None = None):
    """A private copy of the cohort with the rows ``ids`` only, and an ``exclude`` column when given."""
    manifest = _copy_cohort(cohort, tmp_path)
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], [r for r in rows[1:] if r[0] in ids]
    if exclude is not None:
        header, body = header + ["exclude"], [r + [exclude.get(r[0], "")] for r in body]
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *body])
    return manifest


def test_the_manifests_exclude_column_reaches_cohort_csv_and_the_statistics(cohort, tmp_path):
    """The AML study left patient #5 out of the marrow comparison: an ``exclude`` cell in the manifest is carried
    into ``cohort.csv`` as written, and ``stats`` lists and applies it. With the column, the manifest decides
    (an emptied cell ends the exclusion); without it, the cells written into ``cohort.csv`` survive a rerun."""
    from PentixaforQuantLib.cohort.analysis import cohort_statistics

    ids, out = ("P-001", "P-002", "P-004"), tmp_path / "out"
    reason = "marrow: extramedullary disease only"
    manifest = _subset_manifest(cohort, tmp_path, ids, exclude={"P-004": reason})
    assert [e.exclude for e in read_manifest(manifest).entries] == ["", "", reason]
    first = run_batch(read_manifest(manifest), out, figure=False, bundle=False)
    assert first.measured == 3 and first.failed == 0
    table = read_cohort_csv(out / "cohort.csv")
    assert [r["exclude"] for r in table] == ["", "", reason]
    st = cohort_statistics(table)
    assert st["excluded"] == [{"study_id": "P-004", "from": "marrow", "reason": "extramedullary disease only"}]
    assert "P-004" not in [sid for g in st["marrow"]["groups"].values() for sid in g["study_ids"]]
    assert st["overall"]["n"] == 3  # left out of the marrow analysis only

    emptied = _subset_manifest(cohort, tmp_path / "again", ids, exclude={})
    again = run_batch(read_manifest(emptied), out, figure=False, bundle=False)
    assert again.skipped == 3 and "exclude" not in _header(out)  # the manifest's column decides

    with open(out / "cohort.csv", newline="", encoding="utf-8") as fh:  # the user adds an exclusion to cohort.csv
        records = list(csv.reader(fh))
    records = [records[0] + ["exclude"]] + [r + ["lesion: not evaluable" if r[0] == "P-002" else ""]
                                             for r in records[1:]]
    with open(out / "cohort.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(records)
    no_column = _subset_manifest(cohort, tmp_path / "third", ids)
    third = run_batch(read_manifest(no_column), out, figure=False, bundle=False)
    assert third.skipped == 3
    assert {r["study_id"]: r["exclude"] for r in read_cohort_csv(out / "cohort.csv")} == \
        {"P-001": "", "P-002": "lesion: not evaluable", "P-004": ""}  # the user's edit kept


def _header(out) -> list[str]:
    with open(out / "cohort.csv", newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def test_a_corrupt_study_is_recorded_with_its_reason_and_the_rest_go_on(cohort_run):
    _, out = cohort_run
    row = _rows(out)["P-008"]
    assert "slice001.dcm: named like DICOM but not DICOM" in row["error"] and row["suv_max"] is None
    with (out / "failures.csv").open() as fh:
        failures = list(csv.DictReader(fh))
    assert failures == [{"study_id": "P-008", "manifest_line": "9", "error": row["error"]}]
    run = json.loads((out / "cohort.json").read_text())
    assert run["counts"] == {"studies": 8, "measured": 6, "unchanged_skipped": 0, "failed": 1, "no_uptake": 1}
    assert run["parameters"]["isocontour"]["threshold_fraction"] == 0.4
    assert [c["key"] for c in run["columns"]] == list(COLUMN_KEYS)


def test_stats_reproduces_numpy_and_scipy_on_the_cohort(cohort, cohort_run, tmp_path):
    _, specs = cohort
    _, out = cohort_run
    assert main(["stats", str(out / "cohort.csv"), "--out", str(tmp_path)]) == 0
    st = json.loads((tmp_path / "stats.json").read_text())
    measured = [s for s in specs.values() if s.uptake]
    assert st["scans"] == 8 and st["no_uptake"] == 1 and st["no_uptake_fraction"] == 1 / 8
    assert st["failed"] == ["P-008"] and st["with_uptake_measured"] == 6
    lymphoma = [s.lesion_suv for s in measured if s.diagnosis == "lymphoma"]
    by = st["by_diagnosis"]["lymphoma"]
    assert by["n"] == 2 and by["suv_max"]["n"] == 2
    assert by["suv_max"]["mean"] == pytest.approx(np.mean(lymphoma), rel=QUANT)
    assert by["suv_max"]["sd"] == pytest.approx(np.std(lymphoma, ddof=1), rel=5 * QUANT)
    assert st["overall"]["n"] == 6 and st["overall"]["highest_suv_max"] == pytest.approx(25.0, rel=QUANT)
    all_specs = list(specs.values())
    sa = [s.activity_mbq / s.peptide_mass_ug for s in all_specs] + [15.0]  # + the corrupt study's manifest values
    assert st["specific_activity"]["median"] == pytest.approx(np.median(sa))
    assert st["activity_mbq"]["max"] == 160.0 and st["peptide_mass_ug"]["min"] == 7.0
    rows = _rows(out)
    used = [rows[s.study_id] for s in measured]
    for metric in ("suv_max", "suv_mean", "suv_peak", "tbr"):
        c = st["correlations"][metric]
        keep = [r for r in used if r["study_id"] not in c["outliers"]]
        x, y = [r["specific_activity_mbq_per_ug"] for r in keep], [r[metric] for r in keep]
        ref = sps.spearmanr(x, y)
        assert c["n"] == len(keep) and c["rho"] == pytest.approx(ref.statistic)
        assert c["p_method"] == "exact" and c["p"] == pytest.approx(_all_pairings_p(x, y))  # n = 6 <= 17
        assert c["n_before_outlier_removal"] == 6 and c["rout"]["q"] == 0.01
    marrow = st["marrow"]
    positive = [rows[s]["mean_suv_max"] for s in ("P-001", "P-002", "P-003")]
    assert marrow["groups"]["PET-positive"]["n"] == 3
    assert marrow["groups"]["PET-positive"]["sem"] == pytest.approx(sps.sem(positive))
    assert marrow["groups"]["control"]["sem"] == "too few values (n = 1, needs >= 2)"
    negative = [rows[s]["mean_suv_max"] for s in ("P-004", "P-005")]
    test = next(t for t in marrow["t_tests"] if {t["a"], t["b"]} == {"PET-positive", "PET-negative"})
    assert test["p"] == pytest.approx(sps.ttest_ind(positive, negative).pvalue)
    assert [(t["a"], t["b"]) for t in marrow["t_tests"]] == [("PET-positive", "PET-negative"),
                                                             ("PET-positive", "control")]  # each against the first
    assert marrow["fewer_than_five_sites"] == {"P-005": 4}
    import matplotlib.image

    from PIL import Image

    for name in ("suv_max_by_diagnosis", "tbr_by_diagnosis", "suv_peak_by_diagnosis", "correlations", "marrow_heatmap",
                 "marrow_groups"):
        image = matplotlib.image.imread(tmp_path / f"{name}.png")
        assert image.shape[0] > 600 and image.shape[1] > 900 and image[..., :3].std() > 0.05
        with Image.open(tmp_path / f"{name}.png") as png:
            assert png.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        assert (tmp_path / f"{name}.pdf").read_bytes().startswith(b"%PDF")


def _all_pairings_p(x, y) -> float:
    """Two-sided permutation P of Spearman's rho by listing every pairing (independent of the library's method)."""
    import itertools

    rx, ry = sps.rankdata(x), sps.rankdata(y)
    observed = abs(sps.spearmanr(x, y).statistic)
    rhos = [abs(np.corrcoef(rx, ry[list(p)])[0, 1]) for p in itertools.permutations(range(len(x)))]
    return float(np.mean(np.array(rhos) >= observed - 1e-12))


def test_a_study_without_marrow_sites_is_left_out_and_listed(cohort_run, tmp_path):
    from PentixaforQuantLib.cohort.analysis import cohort_statistics

    _, out = cohort_run
    rows = read_cohort_csv(out / "cohort.csv")
    for row in rows:
        if row["study_id"] == "P-006":
            row.update({site: None for site in MARROW_SITES}, mean_suv_max=None, marrow_sites_used=0)
    st = cohort_statistics(rows)
    assert st["marrow"]["excluded_no_marrow_sites"] == ["P-006"]
    assert "control" not in st["marrow"]["groups"]


def _copy_cohort(cohort, tmp_path):
    """A private copy of the cohort's files (tests below change some)."""
    manifest, _ = cohort
    root = tmp_path / "cohort"
    shutil.copytree(manifest.parent, root)
    return root / "manifest.csv"


def test_resume_skips_unchanged_studies_and_recomputes_changed_ones(cohort, tmp_path):
    manifest = _copy_cohort(cohort, tmp_path)
    out = tmp_path / "out"
    m = read_manifest(manifest)
    first = run_batch(m, out, figure=False)
    assert first.measured == 6 and first.failed == 1
    stamp = (out / "studies" / "P-001" / "study.json").stat().st_mtime_ns
    again = run_batch(m, out, figure=False)
    assert again.measured == 0 and again.skipped == 6 and again.failed == 1
    assert (out / "studies" / "P-001" / "study.json").stat().st_mtime_ns == stamp
    assert again.rows == first.rows  # the same table from the kept results
    # A changed points file, a changed parameter and a tampered output are recomputed; nothing else.
    points = manifest.parent / "P-002" / "points.mrk.json"
    points.write_text(points.read_text().replace("Pentixafor points", "Pentixafor points (edited)"))
    (out / "studies" / "P-003" / "study.json").write_text("{}")
    (out / "studies" / "P-004.done.json").unlink()  # a folder finished but never recorded: not trusted
    third = run_batch(m, out, figure=False)
    assert third.measured == 3 and third.skipped == 3
    assert {sid for sid, r in third.results.items() if not r.skipped and r.done} == \
        {"P-002", "P-003", "P-004"}
    from PentixaforQuantLib.measure.protocol import ProtocolParameters

    changed = run_batch(m, out, figure=False, parameters=ProtocolParameters(marrow_diameter_mm=12.0))
    assert changed.measured == 6 and changed.skipped == 0
    forced = run_batch(m, out, figure=False, parameters=ProtocolParameters(marrow_diameter_mm=12.0), force=True)
    assert forced.measured == 6 and forced.skipped == 0


def test_an_interrupted_run_keeps_what_finished_and_leaves_nothing_half_written(cohort, tmp_path):
    manifest = _copy_cohort(cohort, tmp_path)
    m = read_manifest(manifest)
    out = tmp_path / "out"
    seen = []

    def interrupt(study_id, result):
        seen.append(study_id)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(m, out, figure=False, bundle=False, on_result=interrupt)
    assert not (out / "cohort.csv").exists()
    assert sorted(p.name for p in (out / "studies").glob("*.done.json")) == [f"{s}.done.json" for s in seen]
    assert not [p for p in (out / "studies").iterdir() if ".partial-" in p.name or ".old-" in p.name]
    resumed = run_batch(m, out, figure=False, bundle=False)
    assert resumed.skipped == 2 and resumed.measured == 4 and resumed.failed == 1
    assert not list(out.glob("studies/*/study.mrb")) and not list(out.glob("studies/*/study.png"))
    assert run_batch(m, out, figure=False).skipped == 0  # the bundle is wanted now: a different output


def test_local_worker_processes_with_a_worker_killed_mid_run(cohort, tmp_path, cohort_run):
    """Two spawned processes; the first one to answer is killed while it works on its next study: the pool
    breaks, the studies in flight are started again, every study is measured once."""
    manifest = _copy_cohort(cohort, tmp_path)
    m = read_manifest(manifest)
    killed = []

    def kill_worker(study_id, result):
        if not killed and result.worker_pid:
            killed.append(result.worker_pid)
            os.kill(result.worker_pid, signal.SIGKILL)

    result = run_batch(m, tmp_path / "out", workers=2, figure=False, bundle=False, on_result=kill_worker)
    assert killed and result.restarted  # the kill broke the pool and studies in flight were started again
    rows = _rows(tmp_path / "out")
    assert list(rows) == list(_rows(cohort_run[1]))  # each study once, in manifest order
    assert result.failed == 1 and [f.study_id for f in result.failures] == ["P-008"]
    reference = _rows(cohort_run[1])
    for sid, row in rows.items():
        assert row["suv_max"] == reference[sid]["suv_max"] and row["mean_suv_max"] == reference[sid]["mean_suv_max"]


def test_progress_bar_reports_done_failed_rate_and_time_left():
    import io

    from PentixaforQuantLib.cohort.batch import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(10, stream, interval_s=0.0)
    bar.update(skipped=2)
    bar.start -= 60.0  # as if the run had taken a minute so far
    bar.update(done=3, failed=1)
    line = stream.getvalue().splitlines()[-1]
    assert "6/10 studies (2 unchanged, skipped), 1 failed, 4.0/min, ~1 min 00 s left" in line
    bar.update(done=4, final=True)
    assert "10/10 studies" in stream.getvalue().splitlines()[-1] and "finished in 1 min" in stream.getvalue()
