"""Points files: Slicer markups JSON (LPS or RAS) and CSV, and the site labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from PentixaforQuantLib.errors import PointsError
from PentixaforQuantLib.outputs.points import read_points, write_markups_json
from PentixaforQuantLib.measure.sites import canonical_site


@pytest.mark.parametrize(
    "label, site",
    [("lesion", "lesion"), ("Lesion", "lesion"), ("Aortic arch", "aorta"), ("AORTA", "aorta"), ("c7", "C7"),
     ("Right ilium", "right_ilium"), ("left-ilium", "left_ilium"), ("L5", "L5"), ("t12", "T12")],
)
def test_labels_name_sites_case_insensitively(label, site):
    assert canonical_site(label) == site


def test_unknown_label_is_refused_with_the_known_sites():
    with pytest.raises(PointsError, match=r"'liver' names no site; use one of: lesion, aorta, C7"):
        canonical_site("liver")


def _markups(tmp_path, system, points):
    doc = {"markups": [{"type": "Fiducial", "coordinateSystem": system,
                        "controlPoints": [{"label": k, "position": v} for k, v in points.items()]}]}
    path = tmp_path / "p.mrk.json"
    path.write_text(json.dumps(doc))
    return path


def test_markups_json_in_lps_is_converted_to_ras(tmp_path):
    path = _markups(tmp_path, "LPS", {"lesion": [10.0, -20.0, 30.0], "C7": [1, 2, 3]})
    points = read_points(path)
    np.testing.assert_allclose(points["lesion"], [-10.0, 20.0, 30.0])
    np.testing.assert_allclose(points["C7"], [-1, -2, 3])


def test_markups_json_in_ras_is_kept(tmp_path):
    points = read_points(_markups(tmp_path, "RAS", {"Aorta": [10.0, -20.0, 30.0]}))
    np.testing.assert_allclose(points["aorta"], [10.0, -20.0, 30.0])


def test_written_markups_read_back(tmp_path):
    given = {"lesion": np.array([1.5, -2.0, 3.0]), "right_ilium": np.array([-60.0, 10.0, -200.0])}
    points = read_points(write_markups_json(given, tmp_path / "out.mrk.json"))
    assert set(points) == set(given)
    for site in given:
        np.testing.assert_allclose(points[site], given[site])


def test_csv_points(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("label,r,a,s\nlesion,1,2,3\nLeft ilium,-4,5,6\n\n")
    points = read_points(path)
    np.testing.assert_allclose(points["left_ilium"], [-4, 5, 6])


@pytest.mark.parametrize(
    "text, message",
    [("x,y,z\n", "header label,r,a,s"), ("label,r,a,s\nlesion,1,two,3\n", "line 2"),
     ("label,r,a,s\nlesion,1,2,3\nTL,4,5,6\n", r"'lesion' \(line 2\) and 'TL' \(line 3\) both name site 'lesion'"),
     ("label,r,a,s\nspleen,1,2,3\n", "'spleen' names no site")],
)
def test_bad_csv_is_refused_clearly(tmp_path, text, message):
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(PointsError, match=message):
        read_points(path)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(PointsError, match="not found"):
        read_points(tmp_path / "nope.mrk.json")
    other = tmp_path / "p.xlsx"
    other.write_text("")
    with pytest.raises(PointsError, match=r"\.mrk\.json"):
        read_points(other)
    bad = tmp_path / "bad.mrk.json"
    bad.write_text("{not json")
    with pytest.raises(PointsError, match="not valid JSON"):
        read_points(bad)
