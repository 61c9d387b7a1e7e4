"""Stale results are never shown as current: a refused update of the points withdraws the old table and VOIs.

One table of refused updates while the Logic observes the points (a renamed label, a point moved to NaN, a second
lesion point): after each, the results table is empty and names the refusal, the VOI segments are gone,
``last_study`` is None, ``on_update`` was told (with None), and undoing the edit brings the numbers back.
"""

from __future__ import annotations

import math

import pytest

from PentixaforQuantLib.measure.sites import SITE_TITLES
from PentixaforQuantLib.scene.logic import REFUSAL_ATTRIBUTE
from PentixaforQuantLib.scene.mrml import results_table_cells


def _index(points, label):
    return [points.GetNthControlPointLabel(n) for n in range(points.GetNumberOfControlPoints())].index(label)


def rename_lesion(points):
    n = _index(points, "lesion")
    points.SetNthControlPointLabel(n, "lesoin")
    return lambda: points.SetNthControlPointLabel(n, "lesion")


def lesion_to_nan(points):
    n = _index(points, "lesion")
    before = points.GetNthControlPointPositionWorld(n)
    points.SetNthControlPointPositionWorld(n, math.nan, 0.0, 0.0)
    return lambda: points.SetNthControlPointPositionWorld(n, *before)


def second_lesion_point(points):
    n = _index(points, "lesion")
    added = points.AddControlPoint(points.GetNthControlPointPositionWorld(n), "lesion")
    return lambda: points.RemoveNthControlPoint(added)


REFUSED_UPDATES = [
    ("renamed-label", rename_lesion, "lesoin"),
    ("point-moved-to-nan", lesion_to_nan, "lesion"),
    ("second-lesion-point", second_lesion_point, "lesion"),
]


def _segment_names(seg):
    s = seg.GetSegmentation()
    return {s.GetNthSegment(n).GetName() for n in range(s.GetNumberOfSegments())}


@pytest.mark.parametrize("edit,named", [c[1:] for c in REFUSED_UPDATES], ids=[c[0] for c in REFUSED_UPDATES])
def test_a_refused_update_withdraws_the_old_results(measured, edit, named):
    logic, pet, points, study, phantom = measured
    updates = []
    logic.on_update = lambda study, nodes: updates.append(study)
    logic.observe(pet, points)
    nodes = logic.output_nodes(points)
    assert results_table_cells(nodes.results_table)["lesion"]["Status"] == "ok"
    undo = edit(points)
    assert logic.last_error and named in logic.last_error and "\n" not in logic.last_error
    assert nodes.results_table.GetNumberOfRows() == 0
    assert nodes.results_table.GetAttribute(REFUSAL_ATTRIBUTE) == logic.last_error
    assert not (_segment_names(nodes.segmentation) & set(SITE_TITLES.values()))
    assert logic.last_study is None and updates[-1] is None
    undo()
    assert logic.last_error is None
    rows = results_table_cells(nodes.results_table)
    assert rows["lesion"]["Status"] == "ok"
    assert float(rows["lesion"]["SUVmax"]) == pytest.approx(phantom.truth.expected["lesion"]["suv_max"], abs=2e-3)
    assert nodes.results_table.GetAttribute(REFUSAL_ATTRIBUTE) is None
    assert SITE_TITLES["lesion"] in _segment_names(nodes.segmentation)
    assert logic.last_study is not None and updates[-1] is logic.last_study
    logic.stop_observing()
