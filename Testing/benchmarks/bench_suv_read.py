"""Benchmark: read a whole-body PET DICOM series and convert it to SUV, ours versus SimpleITK.

Usage::

    .venv/bin/python Testing/benchmarks/bench_suv_read.py [--slices 600 --size 440 --repeats 5 --json]

Writes a synthetic series (int16, one RescaleSlope per slice) to a temporary folder, warms the file cache,
then times, alternating, (a) ``read_pet_volume`` (folder scan, header checks, SUV conversion with audit,
float32 volume) and (b) SimpleITK: ``GetGDCMSeriesFileNames`` + ``ImageSeriesReader`` (float32) and one
multiplication by the SUV factor. Prints the median times, their ratio (ours / SimpleITK; goal <= 1) and the
peak memory of each read relative to the float32 volume (goal <= 2): tracemalloc for ours (Python and numpy
allocations) and the peak resident-set growth of each reader measured in a fresh subprocess.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # Testing/ for dicom_builders

from dicom_builders import quantise, write_series  # noqa: E402

from PentixaforQuantLib.suv.series_reader import read_pet_volume  # noqa: E402


def make_series(folder: Path, n_slices: int, size: int, seed: int = 1) -> None:
    """A whole-body-like activity map (Bq/mL): an elliptic body with smooth uptake and a few hot spots."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    cy, cx = size / 2, size / 2
    body = ((x - cx) / (0.40 * size)) ** 2 + ((y - cy) / (0.28 * size)) ** 2 <= 1.0
    values = np.zeros((n_slices, size, size), np.float32)
    for k in range(n_slices):
        plane = values[k]
        plane[body] = 3600.0 * (1.0 + 0.3 * np.sin(k / 37.0))
        for _ in range(3):
            hy, hx = rng.uniform(0.3, 0.7, 2) * size
            plane += (20000.0 * rng.random()) * np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2 * 6.0**2))
        plane += rng.normal(0, 200.0, plane.shape).astype(np.float32) * body
    stored, slopes = quantise(values)
    del values
    write_series(folder, stored, slopes, spacing_mm=(1.6, 1.6, 3.0), shuffle_names=True)


def run_ours(folder: Path):
    return read_pet_volume(folder).suv


def run_sitk(folder: Path, factor: float):
    import SimpleITK as sitk

    names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder))
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(names)
    reader.SetOutputPixelType(sitk.sitkFloat32)
    image = reader.Execute()
    return sitk.GetArrayViewFromImage(image) * np.float32(factor)


def _proc_status_bytes(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def worker(which: str, folder: Path, factor: float) -> None:
    """Child process: print how far one read raises the resident set above its level before the read."""
    import resource

    import SimpleITK  # noqa: F401 - import both so that the baselines match

    gc.collect()
    if _reset_peak_rss() and _proc_status_bytes("VmHWM") is not None:
        before = _proc_status_bytes("VmRSS")
        arr = run_ours(folder) if which == "ours" else run_sitk(folder, factor)
        after = _proc_status_bytes("VmHWM")
    else:  # ru_maxrss: kB on Linux, bytes on macOS; may include the pre-exec peak on some systems
        unit = 1 if sys.platform == "darwin" else 1024
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit
        arr = run_ours(folder) if which == "ours" else run_sitk(folder, factor)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit
    print(json.dumps({"rss_growth_bytes": after - before, "shape": list(arr.shape)}))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slices", type=int, default=600)
    ap.add_argument("--size", type=int, default=440)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--worker", choices=("ours", "sitk"), help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--factor", type=float, default=1.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.dir, args.factor)
        return 0
    try:
        import SimpleITK  # noqa: F401
    except ImportError:
        print("SimpleITK is not installed (pip install SimpleITK); it is needed for the comparison", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="pentixafor_bench_") as tmp:
        folder = Path(tmp) / "series"
        t0 = time.perf_counter()
        make_series(folder, args.slices, args.size)
        t_write = time.perf_counter() - t0
        volume_bytes = args.slices * args.size * args.size * 4

        # Warm the file cache and both code paths, and check that both readers agree.
        vol = read_pet_volume(folder)
        factor = vol.conversion.factor
        ref = run_sitk(folder, factor)
        max_diff = float(np.max(np.abs(vol.suv - ref)))
        scale = float(np.max(np.abs(ref)))
        del vol, ref
        gc.collect()

        times = {"ours": [], "sitk": []}
        for _ in range(args.repeats):
            for name in ("ours", "sitk"):
                gc.collect()
                t = time.perf_counter()
                out = run_ours(folder) if name == "ours" else run_sitk(folder, factor)
                times[name].append(time.perf_counter() - t)
                del out

        gc.collect()
        tracemalloc.start()
        out = run_ours(folder)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del out

        rss = {}
        for name in ("ours", "sitk"):
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--dir", str(folder),
                   "--factor", repr(factor)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rss[name] = json.loads(res.stdout.strip().splitlines()[-1])["rss_growth_bytes"]

    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "slices": args.slices,
        "size": args.size,
        "repeats": args.repeats,
        "write_s": round(t_write, 3),
        "ours_s": round(med["ours"], 4),
        "sitk_s": round(med["sitk"], 4),
        "ratio": round(med["ours"] / med["sitk"], 3),
        "ours_runs_s": [round(t, 4) for t in times["ours"]],
        "sitk_runs_s": [round(t, 4) for t in times["sitk"]],
        "volume_mb": round(volume_bytes / 1e6, 1),
        "ours_tracemalloc_peak_x_volume": round(traced_peak / volume_bytes, 3),
        "ours_rss_growth_x_volume": round(rss["ours"] / volume_bytes, 3),
        "sitk_rss_growth_x_volume": round(rss["sitk"] / volume_bytes, 3),
        "max_abs_difference_suv": max_diff,
        "max_suv": scale,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"series {args.slices} x {args.size} x {args.size} int16 ({result['volume_mb']} MB as float32), "
              f"median of {args.repeats} warm runs")
        print(f"  ours (read_pet_volume)          {result['ours_s']:.3f} s")
        print(f"  SimpleITK ImageSeriesReader x f {result['sitk_s']:.3f} s")
        print(f"  ratio ours / SimpleITK          {result['ratio']:.3f}  (goal <= 1)")
        print(f"  peak memory, ours: tracemalloc {result['ours_tracemalloc_peak_x_volume']:.2f} x volume, "
              f"RSS growth {result['ours_rss_growth_x_volume']:.2f} x  (goal <= 2)")
        print(f"  peak memory, SimpleITK: RSS growth {result['sitk_rss_growth_x_volume']:.2f} x volume")
        print(f"  max |ours - SimpleITK| = {max_diff:.3g} SUV (max SUV {scale:.3g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
