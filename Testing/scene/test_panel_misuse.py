"""The panel controller's public methods given wrong types or unwritable paths: the project's error, one line.

One table: each row calls a public method of a measured controller with a bad argument and names a substring of
the refusal. Every refusal must be a ``PentixaforQuantError`` (never a TypeError, ValueError, AttributeError or
OSError), one line, and leave the controller's results as they were.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from PentixaforQuantLib.errors import PentixaforQuantError
from PentixaforQuantLib.scene.panel import PANEL_SITES, PanelController


@pytest.fixture(scope="module")
def measured_panel(phantom_study):
    from PentixaforQuantLib.scene.headless import HeadlessSlicer

    phantom, folder = phantom_study
    headless = HeadlessSlicer.create()
    controller = PanelController(headless.scene)
    assert controller.load_dicom(folder / "dicom") is not None
    for site in PANEL_SITES:
        controller.place_at(phantom.truth.seed_points[site])
    assert controller.study is not None and controller.study.lesion is not None
    yield controller, headless
    controller.close()
    headless.scene.Clear(1)


def _points_node(controller):
    return controller.points_node


MISUSES = [
    ("place_at-two-coordinates", lambda c, t: c.place_at((1.0, 2.0)), "three finite numbers"),
    ("place_at-a-string", lambda c, t: c.place_at("12,3,4"), "three finite numbers"),
    ("place_at-none", lambda c, t: c.place_at(None), "three finite numbers"),
    ("place_at-nan", lambda c, t: c.place_at((math.nan, 0.0, 0.0)), "three finite numbers"),
    ("place_site-four-coordinates", lambda c, t: c.place_site("lesion", (1, 2, 3, 4)), "three finite numbers"),
    ("place_site-unknown-site", lambda c, t: c.place_site("liver", (1, 2, 3)), "unknown site"),
    ("site_status-unknown-site", lambda c, t: c.site_status("liver"), "unknown site"),
    ("site_status-a-number", lambda c, t: c.site_status(3), "unknown site"),
    ("export_csv-onto-a-folder", lambda c, t: c.export_csv(t), "is a folder"),
    ("export_csv-into-proc", lambda c, t: c.export_csv("/proc/pentixafor.csv"), "not writable"),
    ("export_csv-below-a-file", lambda c, t: c.export_csv(_file(t) / "x.csv"), "is not a folder"),
    ("export_csv-none", lambda c, t: c.export_csv(None), "expected a file to write"),
    ("export_csv-a-number", lambda c, t: c.export_csv(3), "expected a file to write"),
    ("export_study-none", lambda c, t: c.export_study(None), "expected a folder to write"),
    ("export_study-onto-a-file", lambda c, t: c.export_study(_file(t)), "is a file"),
    ("export_study-into-proc", lambda c, t: c.export_study("/proc/pentixafor"), "not writable"),
    ("export_dicom-none", lambda c, t: c.export_dicom(None), "expected a folder to write"),
    ("set_pet_volume-a-points-node", lambda c, t: c.set_pet_volume(_points_node(c)), "vtkMRMLScalarVolumeNode"),
    ("set_pet_volume-a-string", lambda c, t: c.set_pet_volume("PET"), "vtkMRMLScalarVolumeNode"),
    ("use_points_node-the-pet", lambda c, t: c.use_points_node(c.pet_node), "vtkMRMLMarkupsFiducialNode"),
    ("set_roi-the-points", lambda c, t: c.set_roi(_points_node(c)), "vtkMRMLMarkupsROINode"),
    ("load_dicom-none", lambda c, t: c.load_dicom(None), "expected a folder or a file"),
    ("add_to_cohort-a-number-as-id", lambda c, t: c.add_to_cohort(study_id=7), "expected text"),
]


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("x")
    return path


@pytest.mark.parametrize("call,text", [m[1:] for m in MISUSES], ids=[m[0] for m in MISUSES])
def test_a_public_method_refuses_a_bad_argument_in_one_line(measured_panel, tmp_path, call, text):
    controller, _ = measured_panel
    before = controller.study.lesion.stats.suv_max
    with pytest.raises(PentixaforQuantError) as refused:
        call(controller, tmp_path)
    message = str(refused.value)
    assert text in message and "\n" not in message and "partial" not in message, message
    assert controller.study is not None and controller.study.lesion.stats.suv_max == before
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["a_file"])  # nothing half-written
