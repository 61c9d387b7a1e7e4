"""Benchmark: one lesion click and the seven-point protocol against the obvious whole-volume baseline.

All timings come from one run on the same image, so the printed ratios are comparable across machines:

- ``click``: target-lesion VOI + all its metrics (``protocol.measure_lesion``), from a point in the lesion;
- ``baseline``: what a whole-volume tool does for the same VOI: connected threshold over the whole image from the
  same peak at the same threshold (SimpleITK ConnectedThreshold + LabelStatistics when SimpleITK is installed,
  else scikit-image flood + numpy statistics), without SUVpeak;
- ``protocol``: all seven sites (lesion, aorta, five marrow spheres);
- ``click_small``: the click again on a scan of a quarter of the size, to show the cost does not grow with the scan.
"""

from __future__ import annotations

import json
import statistics
import time
import tracemalloc

from ..errors import ParameterError
from ..measure.parameter_ranges import ValueRange
from .options import annotate_ranges, check_ranges

#: Option ranges; the default grid (116 million voxels) is about the largest a whole-body PET holds.
BENCH_RANGES = {
    "shape": ValueRange(8, 1024, "voxels", "grid size along k, j, i"),
    "repeats": ValueRange(1, 100, "", "repeats of the baseline"),
}
MAX_BENCH_VOXELS = 120_000_000


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def _baseline(image, peak_kji, threshold):
    """Whole-volume connected threshold from the peak, then statistics of the component."""
    import numpy as np

    try:
        import SimpleITK as sitk
    except ImportError:
        sitk = None
    if sitk is not None:
        img = sitk.GetImageFromArray(image)  # copies the whole volume, as a whole-volume tool does
        seg = sitk.ConnectedThreshold(img, seedList=[tuple(int(v) for v in peak_kji[::-1])], lower=float(threshold),
                                      upper=float(np.finfo(np.float32).max))
        stats = sitk.LabelStatisticsImageFilter()
        stats.Execute(img, seg)
        return stats.GetMean(1), stats.GetCount(1), "SimpleITK ConnectedThreshold + LabelStatistics"
    from skimage.segmentation import flood

    mask = flood(image >= threshold, tuple(int(v) for v in peak_kji), connectivity=1)
    vals = image[mask]
    return float(vals.mean()), int(vals.size), "scikit-image flood + numpy statistics"


def run_benchmark(*, json_output: bool = False, shape_kji=(600, 440, 440), repeats: int = 3,
                  fast_repeats: int = 25) -> int:
    """Run the benchmark; ``repeats`` for the slow baseline, ``fast_repeats`` for the click and the protocol."""
    import numpy as np

    from ..measure.protocol import ProtocolParameters, measure_lesion, run_protocol
    from ..measure.sites import LESION
    from ..phantom import make_whole_body_grid_phantom

    t0 = time.perf_counter()
    phantom = make_whole_body_grid_phantom(shape_kji=tuple(shape_kji))
    build_s = time.perf_counter() - t0
    image, grid, seeds = phantom.suv, phantom.grid, phantom.truth.seed_points
    params = ProtocolParameters()
    lesion_ras = np.asarray(seeds[LESION], float)

    lesion = measure_lesion(image, grid, lesion_ras, params)  # warm-up, and the reference VOI
    mean_base, count_base, baseline_name = _baseline(image, lesion.voi.peak_kji, lesion.voi.threshold_suv)
    baseline_ms = _median_ms(lambda: _baseline(image, lesion.voi.peak_kji, lesion.voi.threshold_suv), repeats)
    if count_base != lesion.stats.voxels or not np.isclose(mean_base, lesion.stats.suv_mean, rtol=1e-4):
        raise RuntimeError(f"baseline VOI differs from ours ({count_base} vs {lesion.stats.voxels} voxels)")

    # Scan-size independence: the same lesion on a quarter-size scan (half the slices, half the rows). The two
    # clicks are timed alternately so that both see the same machine state.
    small = make_whole_body_grid_phantom(shape_kji=(shape_kji[0] // 2, shape_kji[1] // 2, shape_kji[2]))
    small_ras = np.asarray(small.truth.seed_points[LESION], float)
    measure_lesion(small.suv, small.grid, small_ras, params)
    click, click_small, protocol = [], [], []
    for _ in range(fast_repeats):
        click.append(_median_ms(lambda: measure_lesion(image, grid, lesion_ras, params), 1))
        click_small.append(_median_ms(lambda: measure_lesion(small.suv, small.grid, small_ras, params), 1))
        protocol.append(_median_ms(lambda: run_protocol(image, grid, seeds, params), 1))
    click_ms, click_small_ms, protocol_ms = (statistics.median(t) for t in (click, click_small, protocol))

    # Memory: peak Python/numpy allocations during a protocol run, relative to the volume itself.
    tracemalloc.start()
    run_protocol(image, grid, seeds, params)
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    result = {
        "grid": list(shape_kji),
        "spacing_mm": [round(float(s), 3) for s in grid.spacing_mm],
        "voxels": int(image.size),
        "lesion_voxels": int(lesion.stats.voxels),
        "click_ms": round(click_ms, 2),
        "baseline_ms": round(baseline_ms, 2),
        "baseline": baseline_name,
        "protocol_ms": round(protocol_ms, 2),
        "speedup_click_vs_baseline": round(baseline_ms / click_ms, 1),
        "click_small_scan_ms": round(click_small_ms, 2),
        "click_ratio_full_vs_small_scan": round(click_ms / click_small_ms, 2),
        "peak_extra_memory_mb": round(peak_bytes / 2**20, 1),
        "peak_extra_memory_vs_volume": round(peak_bytes / image.nbytes, 4),
        "phantom_build_s": round(build_s, 2),
        "repeats": {"baseline": repeats, "click_and_protocol": fast_repeats},
    }
    if json_output:
        print(json.dumps(result, indent=2))
    else:
        print(f"grid {shape_kji[2]}x{shape_kji[1]}x{shape_kji[0]} voxels (i x j x k), spacing "
              f"{' x '.join(f'{s:g}' for s in result['spacing_mm'])} mm; lesion VOI {result['lesion_voxels']} voxels")
        print(f"click (VOI + all metrics)   {click_ms:9.2f} ms")
        print(f"baseline ({baseline_name})  {baseline_ms:9.2f} ms   -> click is {result['speedup_click_vs_baseline']}x faster")
        print(f"seven-point protocol        {protocol_ms:9.2f} ms")
        print(f"click on a quarter-size scan {click_small_ms:8.2f} ms   -> full/small = "
              f"{result['click_ratio_full_vs_small_scan']}")
        print(f"peak extra memory during the protocol: {result['peak_extra_memory_mb']} MB "
              f"({100 * result['peak_extra_memory_vs_volume']:.2f} % of the volume)")
    return 0


def cmd_bench(args) -> int:
    check_ranges(args, BENCH_RANGES)
    voxels = args.shape[0] * args.shape[1] * args.shape[2]
    if voxels > MAX_BENCH_VOXELS:
        raise ParameterError(f"--shape {' '.join(map(str, args.shape))}: {voxels:,} voxels; at most "
                             f"{MAX_BENCH_VOXELS:,} (a whole-body PET grid)")
    return run_benchmark(json_output=args.json, shape_kji=tuple(args.shape), repeats=args.repeats)


def register(sub) -> None:
    p = sub.add_parser("bench", help="time a click and the protocol against the whole-volume baseline")
    p.add_argument("--json", action="store_true")
    p.add_argument("--shape", type=int, nargs=3, default=[600, 440, 440], metavar=("K", "J", "I"))
    p.add_argument("--repeats", type=int, default=3, help="repeats of the slow whole-volume baseline")
    annotate_ranges(p, BENCH_RANGES)
    p.set_defaults(func=cmd_bench)
