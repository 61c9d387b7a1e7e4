"""The truth of a phantom (phantom/truth.py): its JSON form round-trips."""

from __future__ import annotations

import json

import numpy as np

from PentixaforQuantLib.phantom import PhantomTruth
from PentixaforQuantLib.phantom.dicom_writer import write_truth_json


def test_truth_is_json_serialisable_and_round_trips(phantoms, tmp_path):
    ph = phantoms["oblique"]
    path = write_truth_json(ph.truth, tmp_path / "truth.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["seeds_ras"]["aorta"] == list(ph.truth.seeds_ras["aorta"])
    assert data["label_names"][str(ph.truth.structure("C7").label)] == "C7"
    back = PhantomTruth.from_dict(data)
    np.testing.assert_allclose(back.grid.ijk_to_ras, ph.grid.ijk_to_ras)
    assert back.grid.shape_kji == ph.grid.shape_kji
    assert back.seeds_ras == ph.truth.seeds_ras and back.expected == ph.truth.expected
    assert back.structures == ph.truth.structures
