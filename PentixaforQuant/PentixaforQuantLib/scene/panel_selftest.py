"""The module's self-test scenario, runnable in Slicer (``PentixaforQuantTest``) and headless (the test suite).

Load the demo phantom through the panel controller, place the seven points, check the results table against the
phantom's design values, move the lesion point to another lesion and check that only the lesion row changed.
"""

from __future__ import annotations

from collections.abc import Callable

from ..measure.sites import MARROW_SITES
from .mrml import results_table_cells
from .panel import PANEL_SITES, PanelController

__all__ = ["run_panel_self_test"]


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _close(text: str, expected: float, what: str, tolerance: float = 2e-3) -> None:
    value = float(text)
    _check(abs(value - expected) <= tolerance, f"{what}: table says {value:.6g}, the phantom's design {expected:.6g}")


def run_panel_self_test(controller: PanelController, log: Callable[[str], None] = lambda message: None) -> dict:
    """Run the scenario on ``controller``; raise AssertionError naming the first wrong value. Returns the results
    table rows after the move (site -> column -> text)."""
    log("Generating the demo phantom and loading it as PET DICOM")
    controller.load_demo_phantom()
    controller.apply_display_preset()
    truth = controller.demo_phantom.truth
    expected = truth.expected

    log("Placing the seven points")
    for site in PANEL_SITES:
        placed = controller.place_at(truth.seed_points[site])
        _check(placed == site, f"the click filled {placed!r}, expected {site!r}")
    _check(controller.next_site is None, "a site is still unplaced after seven clicks")
    rows = results_table_cells(controller.results_table)
    _close(rows["lesion"]["SUVmax"], expected["lesion"]["suv_max"], "lesion SUVmax")
    _check(int(float(rows["lesion"]["Voxels"])) == expected["lesion"]["voxels"], "lesion voxel count")
    _close(rows["aorta"]["SUVmean"], expected["blood_pool"]["suv_mean"], "blood-pool SUVmean")
    for site in MARROW_SITES:
        _close(rows[site]["SUVmax"], expected["marrow"][site]["suv_max"], f"{site} SUVmax")
    _close(rows["TBR"]["Value"], expected["tbr"], "TBR", 1e-2)
    _close(rows["meanSUVmax"]["Value"], expected["mean_suv_max"], "meanSUVmax")

    log("Moving the lesion point to another lesion")
    before = rows
    computed = controller.logic.computations.copy()
    other = truth.structure("lesion_28mm")
    controller.place_site("lesion", other.center_ras)
    after = results_table_cells(controller.results_table)
    changed = [site for site in PANEL_SITES if after[site] != before[site]]
    _check(changed == ["lesion"], f"moving the lesion point changed the rows {changed}, expected only the lesion")
    _check(controller.logic.computations - computed == {"lesion": 1}, "the move measured more than the lesion once")
    _check(int(float(after["lesion"]["Voxels"])) == other.voxel_count, "moved lesion voxel count")
    _close(after["lesion"]["SUVmax"], other.suv, "moved lesion SUVmax")
    return after
