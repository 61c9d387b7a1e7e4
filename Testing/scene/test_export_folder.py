"""No silent replacement: the panel's *Export study folder…* writes each study into a folder of its own, and an
export of another study is never replaced (``scene/export_folder.py``), checked through the panel controller."""

from __future__ import annotations

import json

import pytest

from PentixaforQuantLib.outputs.atomic import OutputFolderError
from PentixaforQuantLib.phantom import PhantomOptions, make_phantom, write_phantom
from PentixaforQuantLib.scene.headless import HeadlessSlicer
from PentixaforQuantLib.scene.panel import PANEL_SITES, PanelController


def _study(scene, folder, phantom, study_id):
    controller = PanelController(scene)
    assert controller.load_dicom(folder / "dicom") is not None
    for site in PANEL_SITES:
        controller.place_site(site, phantom.truth.seed_points[site])
    controller.set_parameter("studyId", study_id)
    return controller


def _series(folder):
    return json.loads((folder / "study.json").read_text(encoding="utf-8"))["suv"]["series_uid"]


def test_an_export_never_replaces_another_studys_export(headless, phantom_study, tmp_path):
    phantom_a, folder_a = phantom_study
    phantom_b = make_phantom(PhantomOptions(radionuclide="F-18"))
    folder_b = write_phantom(phantom_b, tmp_path / "phantom-b")
    other = HeadlessSlicer.create()
    a = _study(headless.scene, folder_a, phantom_a, "Patient 01")
    b = _study(other.scene, folder_b, phantom_b, "Patient 01")  # the same name typed for another patient
    try:
        exports = tmp_path / "exports"
        first = a.export_study_into(exports)["folder"]
        assert first == exports / "Patient_01"
        series_a = _series(first)
        assert a.export_study_into(exports)["folder"] == first  # the same study again: its folder is updated

        second = b.export_study_into(exports)["folder"]
        assert second == exports / "Patient_01-2"
        assert _series(second) != series_a and _series(first) == series_a  # A's export is untouched

        with pytest.raises(OutputFolderError, match=r"holds the export of another study .* it is not replaced"):
            b.export_study(first)  # asked for A's folder by name: refused, not replaced
        assert _series(first) == series_a

        (exports / "Patient_01-3").mkdir()
        (exports / "Patient_01-3" / "notes.txt").write_text("someone's notes\n", encoding="utf-8")
        b.set_parameter("studyId", "Patient 01")
        assert b.export_study_into(exports)["folder"] == second  # B's own folder is reused, not a new one
        a.set_parameter("studyId", "")
        assert a.export_study_into(exports)["folder"].name == a.pet_node.GetName().replace(" ", "_")
    finally:
        a.close()
        b.close()
        other.scene.Clear(1)
