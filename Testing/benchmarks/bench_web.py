"""Reading station latency: a click in a slice view until the page's HTML table shows the new numbers.

Starts ``pentixafor-quant web`` on the noise-free phantom (loopback, a free port), opens the page in headless
Chromium (the system browser, through Playwright) and places the target lesion N times, alternating between the
22 mm lesion (SUVmax 12) and the right kidney (SUVmax 4.5) in the same axial plane, so every click changes the
table. The time is measured in the page: from the ``pointerdown`` on the view's image to the mutation that puts the
new SUVmax into the table (so it includes the event's trip to the server, placing the point with Slicer's markups
widget, measuring the VOI and metrics, and the state update back to the page). Then switches between two copies of
the study in the worklist N times: from the click on the study to the page showing it with its views fitted (the
busy sign gone). Also prints the server's memory and the machine's load average (the figures depend on it).

    make bench-web            # or: python Testing/benchmarks/bench_web.py [--clicks 25]

Prints figures; asserts nothing (goals: click -> table p90 <= 250 ms on the 2 mm phantom at load <= 2; study switch
<= 1 s).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from station_driver import Station, browser_page, chromium_path, running_station  # noqa: E402

_TIMING_JS = """
() => {
  window.__latencies = [];
  window.__down = null;
  window.__last = null;
  document.addEventListener('pointerdown', e => {
    if (e.target.tagName === 'IMG') window.__down = performance.now();
  }, true);
  const cell = () => document.querySelector('#results tr[data-site="lesion"] td[data-col="suv_max"]');
  new MutationObserver(() => {
    const c = cell();
    const v = c ? c.dataset.value : null;
    if (window.__down !== null && v && v !== 'null' && v !== window.__last) {
      window.__latencies.push(performance.now() - window.__down);
      window.__down = null;
      window.__last = v;
    }
  }).observe(document.querySelector('#results'), {subtree: true, childList: true, characterData: true,
                                                   attributes: true});
}
"""


_SWITCH_JS = """
async (studyId) => {
  const start = performance.now();
  document.querySelector(`#worklist li[data-study="${studyId}"] button`).click();
  while (document.querySelector('#study-title').textContent.trim() !== studyId
         || document.querySelector('#busy')) {
    await new Promise(r => requestAnimationFrame(r));
  }
  return performance.now() - start;
}
"""


def _memory_mib(pid: int) -> dict:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=25)
    parser.add_argument("--switches", type=int, default=10)
    parser.add_argument("--spacing-mm", type=float, default=2.0,
                        help="phantom voxel size (2 mm: 187x127x337 voxels; 4 mm: 95x65x169)")
    args = parser.parse_args(argv)
    if chromium_path() is None:
        print("no system Chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    from PentixaforQuantLib.phantom import PhantomOptions, make_phantom, write_phantom

    spacing = (args.spacing_mm,) * 3
    phantom = make_phantom(PhantomOptions(radionuclide="Ga-68", spacing_mm=spacing))
    with tempfile.TemporaryDirectory(prefix="bench-web-") as work:
        import os
        import shutil

        folder = write_phantom(phantom, Path(work) / "phantom")
        worklist = Path(work) / "worklist"
        for name in ("study_a", "study_b"):
            shutil.copytree(Path(folder) / "dicom", worklist / name)
        load_before = os.getloadavg()
        started = time.perf_counter()
        with running_station(["--worklist", str(worklist), "--out", str(Path(work) / "out")]) as (url, proc):
            ready_s = time.perf_counter() - started
            memory_ready = _memory_mib(proc.pid)
            with browser_page(url) as page:
                station = Station(page)
                station.wait_views_sized()
                lesion = np.array(phantom.truth.seed_points["lesion"], float)
                kidney = next(s.center_ras for s in phantom.truth.structures if s.name == "kidney_right")
                station.jump_to(lesion)
                targets = [lesion, np.array([kidney[0], kidney[1], lesion[2]])]
                page.evaluate(_TIMING_JS)
                for n in range(args.clicks):
                    page.locator("#place-lesion").click()
                    page.wait_for_selector("#placing-hint")
                    before = page.evaluate("window.__latencies.length")
                    station.click(station.ras_to_page("Red", targets[n % 2]))
                    page.wait_for_function(f"window.__latencies.length > {before}", timeout=30000)
                latencies = np.array(page.evaluate("window.__latencies"), float)
                # The clicks left unsaved changes: the first switch asks first (answered, not timed).
                page.locator('#worklist li[data-study="study_b"] button').click()
                page.locator("#confirm-discard").click()
                page.wait_for_function("document.querySelector('#study-title').textContent.trim() === 'study_b'"
                                       " && !document.querySelector('#busy')")
                switches = np.array([page.evaluate(_SWITCH_JS, ("study_a", "study_b")[n % 2])
                                     for n in range(args.switches)], float)
                memory_after = _memory_mib(proc.pid)
    load_after = os.getloadavg()
    print(f"reading station, noise-free phantom {phantom.grid.shape_kji[::-1]} voxels of {args.spacing_mm:g} mm, "
          f"{args.clicks} clicks "
          "(lesion re-placed, alternating 22 mm lesion / right kidney)")
    print(f"server ready (GET / answers)      {ready_s:7.1f} s")
    print(f"click -> table updated  median    {np.median(latencies):7.0f} ms")
    print(f"                        p90       {np.percentile(latencies, 90):7.0f} ms   (goal <= 250 ms at load <= 2)")
    print(f"                        min / max {latencies.min():7.0f} / {latencies.max():.0f} ms")
    print(f"study switch (click -> shown) median {np.median(switches):4.0f} ms   (goal <= 1000 ms)")
    print(f"                        p90       {np.percentile(switches, 90):7.0f} ms")
    print(f"server memory (RSS)     ready     {memory_ready['VmRSS']:7.0f} MiB")
    print(f"                        after     {memory_after['VmRSS']:7.0f} MiB (peak {memory_after['VmHWM']:.0f} MiB)")
    print(f"load average (1 min)    before {load_before[0]:.1f}, after {load_after[0]:.1f} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
