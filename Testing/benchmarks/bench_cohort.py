"""Benchmark: a cohort of whole-body studies through ``batch`` with 1 and 2 workers.

Usage::

    .venv/bin/python Testing/benchmarks/bench_cohort.py [--studies 20 --slices 400 --size 440 --cache DIR --json]

Generates ``--studies`` whole-body phantom studies (``--size`` x ``--size`` x ``--slices`` voxels of 1.6 x 1.6 x
2.0 mm, 5 % noise, a different target-lesion SUV each) as Ga-68 PET DICOM once into ``--cache`` (reused by later
runs), then runs the same manifest through :func:`run_batch` with 1 worker (in this process) and with 2 local
worker processes, each into a fresh output folder, warm file cache. Prints studies per minute, the parallel
efficiency (T1 / (2 T2)), the per-study time split (DICOM read + SUV conversion, measuring, writing the outputs),
the ratio of the per-study time to a bare ``read_pet_volume`` of the same series, the peak memory per worker
against one study's float32 volume, and the projection for the 777 scans of Buck et al. 2022.

Goals: parallel efficiency >= 80 %; per-study time <= 1.5 x its DICOM read + SUV conversion; memory per worker
<= 2.5 x one study's float32 volume.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from PentixaforQuantLib.cohort.batch import run_batch
from PentixaforQuantLib.cohort.manifest import read_manifest

DIAGNOSES = ("lymphoma", "myeloma", "AML", "NET", "adrenal adenoma")


def _baseline_rss_mb() -> float:
    """Peak resident memory of a worker process that has only imported what a study needs."""
    from PentixaforQuantLib.cohort.batch import _max_rss_mb
    from PentixaforQuantLib.outputs import figures  # noqa: F401
    from PentixaforQuantLib.scene import logic, mrml, quantify  # noqa: F401

    import slicer  # noqa: F401

    return _max_rss_mb()


def generate(cache: Path, n: int, size: int, slices: int) -> Path:
    """The cohort's DICOM series, points and manifest in ``cache`` (written once; a marker says it is whole)."""
    from PentixaforQuantLib.geometry import VoxelGrid
    from PentixaforQuantLib.outputs.points import write_markups_json
    from PentixaforQuantLib.phantom import PatientInfo, PhantomOptions, make_phantom, write_pet_series

    manifest = cache / "manifest.csv"
    marker = cache / f".complete-{n}-{size}-{slices}"
    if marker.is_file():
        return manifest
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    spacing = np.array([1.6, 1.6, 2.0])
    size_ijk = np.array([size, size, slices], float)
    center = np.array([0.0, 0.0, -20.0])
    origin = np.round((center - (size_ijk - 1) / 2.0 * spacing) / spacing) * spacing
    grid = VoxelGrid.from_spacing((slices, size, size), tuple(spacing), origin)
    t0 = time.perf_counter()
    base = make_phantom(PhantomOptions(radionuclide="Ga-68", grid=grid, noise=0.05, seed=1))
    target = next(label for label, name in base.label_names.items() if name == base.truth.target_lesion)
    lesion = base.labels == target
    design = base.truth.structure(base.truth.target_lesion).suv
    rows = []
    for s in range(n):
        sid = f"WB-{s + 1:03d}"
        suv = base.suv.copy()
        lesion_suv = 6.0 + 2.5 * s
        suv[lesion] *= np.float32(lesion_suv / design)
        folder = cache / sid
        write_pet_series(suv, grid, folder / "dicom", radionuclide="Ga-68", patient=PatientInfo(patient_id=sid),
                         series_description=f"Pentixafor whole-body benchmark {sid}")
        write_markups_json(base.truth.seed_points, folder / "points.mrk.json")
        rows.append([sid, f"{sid}/dicom", f"{sid}/points.mrk.json", DIAGNOSES[s % len(DIAGNOSES)],
                     "PET-positive" if s % 2 else "control", "yes", 100.0 + 5 * s, 5.0 + 0.5 * (s % 7)])
        print(f"  generated {sid} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    with manifest.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["study_id", "dicom", "points", "diagnosis", "group", "uptake", "activity_mbq", "peptide_mass_ug"])
        w.writerows(rows)
    marker.write_text("ok\n")
    return manifest


def _read_only_s(dicom: str, repeats: int = 3) -> float:
    from PentixaforQuantLib.suv import read_pet_volume

    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        volume = read_pet_volume(dicom)
        times.append(time.perf_counter() - t)
        del volume
    return statistics.median(times)


def _timed_run(manifest, out: Path, workers: int, lean: bool) -> tuple[float, object]:
    """Wall time of the run and its result; ``result.steady_per_min`` is the rate after the first study came back
    (without the workers' start-up: spawning and importing, a few seconds once per worker)."""
    shutil.rmtree(out, ignore_errors=True)
    done = []
    t = time.perf_counter()
    result = run_batch(manifest, out, workers=workers, force=True, progress=sys.stderr, figure=not lean,
                       bundle=not lean, on_result=lambda sid, r: done.append(time.perf_counter()))
    result.steady_per_min = (len(done) - 1) / (done[-1] - done[0]) * 60.0
    return time.perf_counter() - t, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--size", type=int, default=440)
    parser.add_argument("--slices", type=int, default=400)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "pentixaforquant-bench-cohort")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    manifest_path = generate(args.cache, args.studies, args.size, args.slices)
    manifest = read_manifest(manifest_path)
    volume_mb = args.size * args.size * args.slices * 4 / 2**20
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        baseline_mb = pool.apply(_baseline_rss_mb)
    read_s = _read_only_s(manifest.entries[0].dicom)

    n = args.studies
    configs = {"all outputs": False, "lean (--no-figure --no-bundle)": True}
    report = {"studies": n, "grid": [args.size, args.size, args.slices], "volume_float32_mb": volume_mb,
              "bare_read_pet_volume_s": read_s, "worker_import_rss_mb": baseline_mb,
              "load_average_at_start": os.getloadavg(), "configurations": {}}
    work = Path(tempfile.mkdtemp(prefix="bench-cohort-out-", dir=args.cache.parent))
    try:
        for label, lean in configs.items():
            t1, r1 = _timed_run(manifest, work / "w1", 1, lean)
            t2, r2 = _timed_run(manifest, work / "w2", 2, lean)
            for r in (r1, r2):
                assert r.failed == 0, r.failures

            def split(result, key):
                return statistics.median(v.timings[key] for v in result.results.values())

            keys = ("read_s", "measure_s", "write_s", "total_s", "cpu_s")
            per1 = {k: split(r1, k) for k in keys}
            per2 = {k: split(r2, k) for k in keys}
            rss2 = max(v.max_rss_mb for v in r2.results.values())
            rate1, rate2 = n / t1 * 60.0, n / t2 * 60.0
            report["configurations"][label] = {
                "wall_s": {"1_worker": t1, "2_workers": t2},
                "studies_per_minute": {"1_worker": rate1, "2_workers": rate2},
                "parallel_efficiency": t1 / (2.0 * t2),
                "steady_studies_per_minute": {"1_worker": r1.steady_per_min, "2_workers": r2.steady_per_min},
                "steady_parallel_efficiency": r2.steady_per_min / (2.0 * r1.steady_per_min),
                # Under a shared load the wall-clock ratio says more about the neighbours than about the batch;
                # the CPU time a study costs in each run shows whether running two at once adds work.
                "cpu_per_study_ratio_2_over_1": per2["cpu_s"] / per1["cpu_s"],
                "per_study_median_s": {"1_worker": per1, "2_workers": per2},
                "per_study_over_read": per1["total_s"] / read_s,
                "per_study_over_its_read": per1["total_s"] / per1["read_s"],
                "worker_peak_rss_mb": rss2,
                "memory_over_volume": rss2 / volume_mb,
                "memory_over_volume_above_imports": (rss2 - baseline_mb) / volume_mb,
                "projection_777_scans_min": {"1_worker": 777 / rate1, "2_workers": 777 / rate2},
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["load_average_at_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{n} whole-body studies, {args.size} x {args.size} x {args.slices} voxels ({volume_mb:.0f} MB as float32), "
          f"warm file cache; load average {report['load_average_at_start'][0]:.1f} at start, "
          f"{report['load_average_at_end'][0]:.1f} at end (2 cores)")
    print(f"  bare read_pet_volume (DICOM read + SUV conversion) {read_s:.2f} s; a worker's imports {baseline_mb:.0f} MB")
    for label, c in report["configurations"].items():
        print(f"{label}:")
        print(f"  1 worker : {c['wall_s']['1_worker']:7.1f} s  {c['studies_per_minute']['1_worker']:5.2f} studies/min")
        print(f"  2 workers: {c['wall_s']['2_workers']:7.1f} s  {c['studies_per_minute']['2_workers']:5.2f} studies/min"
              f"   parallel efficiency {100 * c['parallel_efficiency']:.0f} % (goal >= 80 %)")
        print(f"  after start-up: {c['steady_studies_per_minute']['1_worker']:5.2f} and "
              f"{c['steady_studies_per_minute']['2_workers']:5.2f} studies/min, efficiency "
              f"{100 * c['steady_parallel_efficiency']:.0f} %")
        for w, per in (("1 worker ", c["per_study_median_s"]["1_worker"]), ("2 workers", c["per_study_median_s"]["2_workers"])):
            print(f"  per study ({w}, median): read + SUV + volume node {per['read_s']:.2f} s, measure "
                  f"{per['measure_s']:.2f} s, write {per['write_s']:.2f} s, total {per['total_s']:.2f} s")
        print(f"  CPU time per study: {c['per_study_median_s']['1_worker']['cpu_s']:.2f} s (1 worker), "
              f"{c['per_study_median_s']['2_workers']['cpu_s']:.2f} s (2 workers): ratio "
              f"{c['cpu_per_study_ratio_2_over_1']:.2f}")
        print(f"  per-study time = {c['per_study_over_read']:.2f} x the bare read (goal <= 1.5)")
        print(f"  peak memory per worker {c['worker_peak_rss_mb']:.0f} MB = {c['memory_over_volume']:.2f} x the volume "
              f"(goal <= 2.5); {c['memory_over_volume_above_imports']:.2f} x above the imports")
        print(f"  777 scans: {c['projection_777_scans_min']['1_worker']:.0f} min with 1 worker, "
              f"{c['projection_777_scans_min']['2_workers']:.0f} min with 2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
