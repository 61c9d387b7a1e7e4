"""The reading station in a real browser: real server, headless Chromium, trusted mouse events on Slicer's views.

Clicks the phantom's target lesion and aortic arch in the axial view, checks that each defined point lies at the
clicked pixel and that the page's HTML table equals ``pentixafor-quant quantify`` on the same points; then drags the
lesion point onto the right kidney and checks the table follows; a warning shows its short line, its full text one
click away. Skips (saying why) without Chromium or Playwright.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from station_driver import Station, browser, browser_page, chromium_path, running_station

def _missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("trame_slicer") is None:
        return "the web extra is not installed (pip install '.[web]')"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install '.[webtest]')"
    if chromium_path() is None:
        return "no system Chromium (apt-get install chromium; set PENTIXAFOR_CHROMIUM to use another)"
    return None


if _missing():
    if os.environ.get("CI"):  # CI installs all of it (.ci/run, make test): a skip there would hide a broken setup
        pytest.fail(f"browser test cannot run in CI: {_missing()}", pytrace=False)
    pytest.skip(_missing(), allow_module_level=True)

#: Screenshots go to the test's temporary folder (kept by pytest for the last runs), or to this folder if set.
SCREENSHOTS_ENV = os.environ.get("PENTIXAFOR_WEB_SCREENSHOTS")


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(SCREENSHOTS_ENV) if SCREENSHOTS_ENV else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _quantify(dicom, points: dict, out: Path) -> dict:
    from PentixaforQuantLib.cli.main import main

    out.mkdir(parents=True, exist_ok=True)
    csv = out.parent / f"{out.name}-points.csv"
    csv.write_text("label,r,a,s\n" + "".join(f"{site},{r!r},{a!r},{s!r}\n" for site, (r, a, s) in points.items()))
    code = main(["quantify", str(dicom), "--points", str(csv), "--out", str(out), "--no-figure"])
    assert code == 0
    return json.loads((out / "study.json").read_text())


def _assert_table_equals(station: Station, doc: dict):
    assert station.table_value("lesion", "suv_max") == pytest.approx(doc["lesion"]["suv_max"], rel=1e-12)
    assert station.table_value("lesion", "suv_peak") == pytest.approx(doc["lesion"]["suv_peak"], rel=1e-12)
    assert station.table_value("lesion", "volume_ml") == pytest.approx(doc["lesion"]["volume_ml"], rel=1e-12)
    assert station.table_value("aorta", "suv_mean") == pytest.approx(doc["blood_pool"]["suv_mean"], rel=1e-12)
    assert station.table_value("TBR", "tbr") == pytest.approx(doc["tbr"], rel=1e-12)
    assert station.table_text("lesion", "suv_max") == f"{doc['lesion']['suv_max']:.2f}"
    assert station.table_text("TBR", "tbr") == f"{doc['tbr']:.2f}"


def _within_one_pixel(station: Station, view: str, clicked_page_xy, ras):
    clicked = station.page_to_xy(view, clicked_page_xy)
    placed = station.ras_to_xy(view, ras)
    assert np.all(np.abs(placed - clicked) <= 1.0), f"point at {placed} px, clicked {clicked} px"


def test_clicks_in_slice_views_measure_as_quantify(phantom_study, tmp_path, screenshots):
    phantom, folder = phantom_study
    seeds = phantom.truth.seed_points
    lesion, aorta = np.array(seeds["lesion"], float), np.array(seeds["aorta"], float)
    kidney = np.array(next(s.center_ras for s in phantom.truth.structures if s.name == "kidney_right"), float)
    out = tmp_path / "readings"
    with running_station([str(folder / "dicom"), "--out", str(out)]) as (url, _proc), browser_page(url) as page:
        station = Station(page)
        station.wait_views_sized()

        station.jump_to(lesion)
        lesion_click = station.place("lesion", lesion)
        station.jump_to(aorta)
        aorta_click = station.place("aorta", aorta)
        data = station.wait(lambda d: d["measure_count"] >= 3 and {"lesion", "aorta"} <= set(d["points"]))
        station.page.wait_for_function(
            "document.querySelector('#results tr[data-site=\"TBR\"] td[data-col=\"tbr\"]').dataset.value > 0")

        # The points are where the reader clicked: on the axial planes the views jumped to, at the clicked pixel.
        points = {site: np.array(data["points"][site]) for site in ("lesion", "aorta")}
        red = station.xy_to_ras_matrix("Red")
        assert points["aorta"][2] == pytest.approx(red[2, 3], abs=1e-6)  # on the plane shown now
        _within_one_pixel(station, "Red", aorta_click, points["aorta"])
        assert abs(points["lesion"][2] - lesion[2]) <= 2.0 and abs(points["aorta"][2] - aorta[2]) <= 2.0
        station.jump_to(lesion)
        _within_one_pixel(station, "Red", lesion_click, points["lesion"])
        page.wait_for_timeout(1000)  # the last rendered image
        page.screenshot(path=str(screenshots / "web-station.png"))

        doc = _quantify(folder / "dicom", data["points"], tmp_path / "quantify-1")
        _assert_table_equals(station, doc)
        assert doc["lesion"]["suv_max"] == pytest.approx(phantom.truth.expected["lesion"]["suv_max"], abs=2e-3)

        # Drag the lesion point onto the right kidney (same axial plane): the table follows the moved point.
        kidney_on_plane = np.array([kidney[0], kidney[1], points["lesion"][2]])
        count = station.data()["measure_count"]
        before = station.table_value("lesion", "suv_max")
        drop = station.ras_to_page("Red", kidney_on_plane)
        station.drag(station.ras_to_page("Red", points["lesion"]), drop)
        moved = station.wait(lambda d: d["measure_count"] > count
                             and np.linalg.norm(np.array(d["points"]["lesion"]) - points["lesion"]) > 20,
                             what="the dragged lesion point to be measured")
        page.wait_for_function(
            "v => document.querySelector('#results tr[data-site=\"lesion\"] td[data-col=\"suv_max\"]')"
            ".dataset.value != v", arg=str(before))
        _within_one_pixel(station, "Red", drop, moved["points"]["lesion"])
        doc2 = _quantify(folder / "dicom", moved["points"], tmp_path / "quantify-2")
        _assert_table_equals(station, doc2)
        assert doc2["lesion"]["suv_max"] == pytest.approx(4.5, abs=1e-3)  # the kidney's design SUV
        assert before == pytest.approx(doc["lesion"]["suv_max"], rel=1e-12)
        page.wait_for_timeout(1000)  # the last rendered image
        page.screenshot(path=str(screenshots / "web-station-dragged.png"))


def test_worklist_token_refusal_save_and_reload(phantom_study, tmp_path, screenshots):
    """A worklist behind a token: a malformed study shows its refusal and the other study is read, saved with the
    reader's name and reloaded when reopened."""
    import shutil

    phantom, folder = phantom_study
    root = tmp_path / "worklist"
    (root / "a_broken").mkdir(parents=True)
    (root / "a_broken" / "IM0001.dcm").write_bytes(b"not a DICOM file")
    shutil.copytree(folder / "dicom", root / "b_phantom")
    out = tmp_path / "readings"
    args = ["--worklist", str(root), "--out", str(out)]
    with running_station(args) as (url, _proc), browser_page(url.split("?")[0]) as page:
        assert "?secret=" in url
        page.wait_for_timeout(3000)
        assert page.locator("#results").count() == 0, "the page connected without the access token"
        page.goto(url)
        station = Station(page)
        page.wait_for_selector("#study-error")
        refusal = page.locator("#study-error").inner_text()
        assert refusal.startswith("a_broken: ") and str(root) not in refusal  # no server paths in the page
        assert page.locator('#worklist li[data-study="b_phantom"]').get_attribute("data-state") == "not read"

        page.locator('#worklist li[data-study="b_phantom"] button').click()
        page.wait_for_selector("#study-error", state="detached")
        station.wait_views_sized()
        seeds = phantom.truth.seed_points
        station.jump_to(seeds["lesion"])
        station.place("lesion", seeds["lesion"])
        suv_max = station.table_value("lesion", "suv_max")
        assert suv_max == pytest.approx(phantom.truth.expected["lesion"]["suv_max"], abs=2e-3)

        page.locator("#save").click()
        page.wait_for_selector("#save-error")
        assert "reader's name" in page.locator("#save-error").inner_text()
        page.locator("#reader-name").fill("Dr Test")
        page.locator("#save").click()
        page.wait_for_selector("#save-message")
        doc = json.loads((out / "b_phantom" / "study.json").read_text())
        assert doc["reading"]["reader"] == "Dr Test" and doc["reading"]["revision"] == 1
        assert doc["lesion"]["suv_max"] == pytest.approx(suv_max, rel=1e-12)
        page.wait_for_selector('#worklist li[data-study="b_phantom"][data-state="done"]')
        page.wait_for_timeout(1000)  # the last rendered image
        page.screenshot(path=str(screenshots / "web-station-saved.png"))

        page.locator("#next-study").click()  # the only other study is the refused one
        page.wait_for_selector("#study-error")
        page.locator('#worklist li[data-study="b_phantom"] button').click()
        page.wait_for_selector("#study-note")
        assert "Saved by Dr Test" in page.locator("#study-note").inner_text()
        station.wait(lambda d: "lesion" in d["points"], what="the saved reading to reload")
        page.wait_for_function(
            "document.querySelector('#results tr[data-site=\"lesion\"] td[data-col=\"suv_max\"]').dataset.value > 0")
        assert station.table_value("lesion", "suv_max") == pytest.approx(doc["lesion"]["suv_max"], rel=1e-12)
        assert np.allclose(station.data()["points"]["lesion"], doc["lesion"]["click_ras"], atol=1e-6)


def test_second_writer_on_the_same_outputs_is_told(phantom_study, tmp_path):
    """Two stations (two readers) with the same output folder: the reader who saves second, over a reading saved
    after they opened the study, is told who saved and nothing of theirs is written."""
    from contextlib import ExitStack

    phantom, folder = phantom_study
    out = tmp_path / "readings"
    lesion = phantom.truth.seed_points["lesion"]
    with ExitStack() as stack:
        open_page = stack.enter_context(browser())
        pages = []
        for _ in range(2):
            url, _proc = stack.enter_context(running_station([str(folder / "dicom"), "--out", str(out)]))
            page = open_page(url)
            station = Station(page)
            station.wait_views_sized()
            station.jump_to(lesion)
            station.place("lesion", lesion)
            pages.append(page)
        first, second = pages
        first.locator("#reader-name").fill("Reader A")
        first.locator("#save").click()
        first.wait_for_selector("#save-message")
        saved = (out / "dicom" / "study.json").read_bytes()
        second.locator("#reader-name").fill("Reader B")
        second.locator("#save").click()
        second.wait_for_selector("#save-error")
        message = second.locator("#save-error").inner_text()
        assert "saved by Reader A" in message and "nothing was written" in message
        assert (out / "dicom" / "study.json").read_bytes() == saved
        assert json.loads(saved)["reading"]["reader"] == "Reader A"


def test_a_warning_shows_one_short_line_and_its_detail_one_click_away(phantom_study, tmp_path, screenshots):
    """A lesion point 15 mm beside the 13 mm lesion (a manifest's points file): the results table shows the
    warning's short line; its full text, as ``study.json`` has it, opens with one click on that line."""
    import shutil

    phantom, folder = phantom_study
    root = tmp_path / "worklist"
    shutil.copytree(folder / "dicom", root / "s1")
    lesion = next(np.array(s.center_ras, float) for s in phantom.truth.structures if s.name == "lesion_13mm")
    points = {"lesion": tuple(map(float, lesion + [15.0, 0.0, 0.0])),
              "aorta": tuple(map(float, phantom.truth.seed_points["aorta"]))}
    (root / "s1-points.csv").write_text(
        "label,r,a,s\n" + "".join(f"{site},{r!r},{a!r},{s!r}\n" for site, (r, a, s) in points.items()))
    (root / "manifest.csv").write_text("study_id,dicom,points\ns1,s1,s1-points.csv\n")
    (warning,) = _quantify(root / "s1", points, tmp_path / "quantify")["lesion"]["warnings"]
    assert warning["code"] == "peak_not_at_click" and warning["short"] != warning["detail"]

    out = tmp_path / "readings"
    with running_station(["--worklist", str(root / "manifest.csv"), "--out", str(out)]) as (url, _proc), \
            browser_page(url) as page:
        cell = page.locator('#results tr[data-site="lesion"] td[data-col="notes"]')
        page.wait_for_selector('#results tr[data-site="lesion"][data-status="warning"] details.warning')
        line, detail = cell.locator("details.warning summary"), cell.locator("details.warning .detail")
        assert cell.locator("details.warning").count() == 1
        assert line.inner_text() == warning["short"] and line.get_attribute("title") == warning["detail"]
        assert not detail.is_visible()  # one short line per warning
        line.click()
        detail.wait_for(state="visible")
        assert detail.inner_text() == warning["detail"]
        aorta_notes = page.locator('#results tr[data-site="aorta"] td[data-col="notes"]')
        assert aorta_notes.locator("details").count() == 0 and aorta_notes.inner_text() == ""
        page.screenshot(path=str(screenshots / "web-station-warning-detail.png"))
