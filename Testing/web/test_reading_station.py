"""The reading station as a team relies on it, in a real browser (headless system Chromium, trusted mouse and key
events): safe by default, no lost or wrong work, made for reading. Skips (saying why) without Chromium or
Playwright, like ``test_browser.py``; fails in CI instead.
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from station_driver import Station, browser, free_port, running_station
from test_browser import _missing, screenshots  # noqa: F401 - the screenshots fixture

if _missing():
    import os

    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run in CI: {_missing()}", pytrace=False)
    pytest.skip(_missing(), allow_module_level=True)


def _worklist(tmp_path, phantom_folder, names=("b_phantom",), broken=True) -> Path:
    root = tmp_path / "worklist"
    root.mkdir()
    if broken:
        (root / "a_broken").mkdir()
        (root / "a_broken" / "IM0001.dcm").write_bytes(b"not a DICOM file")
    for name in names:
        shutil.copytree(phantom_folder / "dicom", root / name)
    return root


def _open(page, study_id):
    page.locator(f'#worklist li[data-study="{study_id}"] button').click()
    page.wait_for_function(f"document.querySelector('#study-title').textContent.trim() === '{study_id}'")


def _snackbar(page) -> str:
    page.wait_for_selector("#message", state="visible")
    return page.locator("#message").inner_text()


_PROBE_PAGE = """<!doctype html><title>another site</title><script>
const ws = new WebSocket('ws://127.0.0.1:%(port)d/ws');
window.result = 'pending';
ws.onopen = () => { window.result = 'open'; };
ws.onerror = () => { if (window.result === 'pending') window.result = 'refused'; };
ws.onclose = () => { if (window.result === 'pending') window.result = 'refused'; };
</script>"""


def test_safe_by_default(phantom_study, tmp_path):
    """Token on loopback too, a page of another origin refused, errors as one line without server paths, reader
    names checked, saved files without server paths."""
    _phantom, folder = phantom_study
    root = _worklist(tmp_path, folder)
    out = tmp_path / "readings"
    stale = out / ".b_phantom.partial-x1y2"
    (stale / "Data").mkdir(parents=True)
    with running_station(["--worklist", str(root), "--out", str(out)]) as (url, _proc), browser() as open_page:
        assert "?secret=" in url and url.startswith("http://127.0.0.1:")  # loopback needs the token too
        assert not stale.exists()  # the unfinished save of a stopped server is gone
        port = int(url.split(":")[2].split("/")[0])

        bare = open_page(url.split("?")[0])
        assert "needs its access address" in bare.locator("#no-token").inner_text()
        wrong = open_page(url.split("?")[0] + "?secret=wslink-secret")
        assert wrong.locator("#no-token").count() == 1

        # A page from another origin (another port of this machine) opens the station's websocket: refused, while
        # the same code in the station's own page opens it (so the refusal is the origin's, not a broken probe).
        probe_port = free_port()
        probe_dir = tmp_path / "probe"
        probe_dir.mkdir()
        (probe_dir / "index.html").write_text(_PROBE_PAGE % {"port": port})
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(probe_dir), **k)  # noqa
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", probe_port), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            other = open_page(f"http://127.0.0.1:{probe_port}/index.html")
            other.wait_for_function("window.result !== 'pending'", timeout=15000)
            assert other.evaluate("window.result") == "refused"
        finally:
            httpd.shutdown()
        page = open_page(url)
        station = Station(page)
        page.wait_for_selector("#study-error")
        probe_js = (_PROBE_PAGE % {"port": port}).split("<script>")[1].split("</script>")[0]
        assert page.evaluate(probe_js.replace("const ws", "window.ws") + "; 0") == 0
        page.wait_for_function("window.result !== 'pending'", timeout=15000)
        assert page.evaluate("window.result") == "open"

        # A study index that is not a number, and a call the server cannot handle: one line, no traceback.
        page.evaluate("window.trame.trigger('open_study', ['1; import os'])")
        assert _snackbar(page) == "cannot open the study: that is not a study of the worklist"
        page.evaluate("window.trame.trigger('open_study', [0, 1, 2, 3])")
        page.wait_for_function("document.querySelector('#message').textContent.includes('internal error')")
        line = page.locator("#message").inner_text()
        assert line == "cannot open the study: internal error (TypeError); see the server's log"
        # Below the page's actions: a malformed call to the framework itself answers one line, no traceback.
        answer = page.evaluate("window.trame.client.getConnection().getSession().call('trame.state.update', "
                               "['garbage']).then(v => 'ok').catch(e => JSON.stringify(e))")
        assert json.loads(answer)["data"] == {"method": "trame.state.update",
                                              "exception": "the server could not do this"}
        body = page.locator("body").inner_text()
        assert "Traceback" not in body and str(root) not in body and ".py" not in body and "site-packages" not in body

        _open(page, "b_phantom")
        station.wait_views_sized()
        lesion = _phantom.truth.seed_points["lesion"]
        station.jump_to(lesion)
        station.place("lesion", lesion)
        page.wait_for_function("!document.querySelector('#save').disabled")
        for name, message in (("Dr \u202eevil", "RIGHT-TO-LEFT OVERRIDE"), ("x" * 100_000, "use at most 80"),
                              ("A\u0000B", "cannot be shown")):
            page.evaluate("name => window.trame.state.set('reader_name', name)", name)
            page.locator("#save").click()
            page.wait_for_function("m => (document.querySelector('#save-error') || {}).textContent?.includes(m)",
                                   arg=message)
        assert not (out / "b_phantom").exists()
        page.locator("#reader-name").fill("Dr Test")
        page.locator("#save").click()
        page.wait_for_selector("#save-message")
        saved = out / "b_phantom"
        needles = [str(root).encode(), str(tmp_path).encode(), str(out).encode()]
        for path in saved.iterdir():
            blobs = [path.read_bytes()]
            if path.suffix == ".mrb":
                with zipfile.ZipFile(path) as bundle:
                    blobs = [bundle.read(n) for n in bundle.namelist()]
            assert not any(n in b for n in needles for b in blobs), f"{path.name} holds a server path"


def test_no_lost_or_wrong_work(phantom_study, tmp_path, screenshots):  # noqa: F811
    """Save blocked with its reason while the SUV is refused or stale; a reopened study with a refused override
    keeps its points; Escape undoes a re-placement; leaving with unsaved changes asks first."""
    phantom, folder = phantom_study
    root = _worklist(tmp_path, folder, names=("s1", "s2"), broken=False)
    out = tmp_path / "readings"
    lesion = np.array(phantom.truth.seed_points["lesion"], float)
    expected = phantom.truth.expected["lesion"]["suv_max"]
    with running_station(["--worklist", str(root), "--out", str(out)]) as (url, _proc), browser() as open_page:
        page = open_page(url)
        station = Station(page)
        station.wait_views_sized()
        assert page.locator("#save").is_disabled()  # nothing measured yet, and the page says why
        assert "nothing measured yet" in page.locator("#save-blocked").inner_text()
        station.jump_to(lesion)
        station.place("lesion", lesion)
        placed = station.data()["points"]["lesion"]
        assert station.table_value("lesion", "suv_max") == pytest.approx(expected, abs=2e-3)

        # Re-placing is undoable: the button starts placement, Escape cancels and the previous point comes back.
        count = station.data()["measure_count"]
        page.locator("#place-lesion").click()
        page.wait_for_selector("#placing-hint")
        assert "placing Target lesion" in page.locator("#save-blocked").inner_text()
        page.keyboard.press("Escape")
        page.wait_for_selector("#placing-hint", state="detached")
        data = station.wait(lambda d: "lesion" in d["points"] and d["measure_count"] > count and not d["placing"],
                            what="the previous lesion point to come back")
        assert np.allclose(data["points"]["lesion"], placed, atol=1e-6)
        page.wait_for_function("document.querySelector('#results tr[data-site=\"lesion\"] td[data-col=\"suv_max\"]')"
                               ".dataset.value > 0")
        assert station.table_value("lesion", "suv_max") == pytest.approx(expected, abs=2e-3)

        # A refused SUV (900 kg) blocks Save, marks the old numbers as not current, and Save refuses if forced.
        page.locator("#overrides summary").click()
        page.locator("#overrideWeightKg").fill("900")
        page.wait_for_function("document.querySelector('#save').disabled")
        assert "not applied" in page.locator("#save-blocked").inner_text()
        page.locator("#apply-overrides").click()
        page.wait_for_selector("#suv-refusal")
        page.wait_for_function("(document.querySelector('#save-blocked') || {}).textContent?.includes('refused')")
        assert page.locator("#save").is_disabled()
        assert "not current" in page.locator("#results-stale").inner_text()
        page.locator("#reader-name").fill("Dr Test")
        page.evaluate("window.trame.trigger('save')")  # as if the disabled button were pressed anyway
        page.wait_for_selector("#save-error")
        assert "not saved: the SUV is refused" in page.locator("#save-error").inner_text()
        assert not (out / "s1").exists()
        page.wait_for_timeout(800)
        page.screenshot(path=str(screenshots / "web-station-refused.png"))
        page.locator("#overrideWeightKg").fill("80")
        page.locator("#apply-overrides").click()
        page.wait_for_selector("#suv-refusal", state="detached")
        page.wait_for_function("!document.querySelector('#save').disabled")
        assert station.table_value("lesion", "suv_max") == pytest.approx(expected * 80 / 70, abs=3e-3)
        page.locator("#save").click()
        page.wait_for_selector("#save-message")
        assert json.loads((out / "s1" / "study.json").read_text())["reading"]["overrides"] == {
            "overrideWeightKg": "80"}

        # Leaving a study with unsaved changes asks first; "Stay" keeps it, "Discard" opens the other one.
        station.wait(lambda d: not d["dirty"], what="the saved study to count as unchanged")
        page.locator("#clear-lesion").click()
        station.wait(lambda d: d["dirty"] and "lesion" not in d["points"], what="the study to count as changed")
        page.locator('#worklist li[data-study="s2"] button').click()
        page.wait_for_selector("#confirm-leave")
        assert "s1 has unsaved changes" in page.locator("#confirm-leave").inner_text()
        page.locator("#confirm-stay").click()
        page.wait_for_selector("#confirm-leave", state="detached")
        assert page.locator("#study-title").inner_text() == "s1" and station.data()["dirty"]
        page.locator("#next-study").click()
        page.wait_for_selector("#confirm-leave")
        page.locator("#confirm-discard").click()
        page.wait_for_function("document.querySelector('#study-title').textContent.trim() === 's2'")
        from PentixaforQuantLib.web.saving import read_saved_points

        assert set(read_saved_points(out / "s1")) == {"lesion"}  # the discarded change was never saved

        # A saved reading whose override is refused now: reopened, it shows the refusal, keeps its points, is not
        # listed as done, and the points come back once the weight is corrected.
        doc = json.loads((out / "s1" / "study.json").read_text())
        doc["reading"]["overrides"] = {"overrideWeightKg": "900"}
        (out / "s1" / "study.json").write_text(json.dumps(doc))
        _open(page, "s1")
        page.wait_for_selector("#study-error")
        assert "900 kg" in page.locator("#study-error").inner_text()
        assert "1 saved point(s) kept" in page.locator("#pending-points").inner_text()
        assert page.locator('#worklist li[data-study="s1"]').get_attribute("data-state") == "refused"
        assert page.locator("#save").is_disabled()
        page.locator("#overrideWeightKg").fill("80")
        page.locator("#apply-overrides").click()
        station.wait(lambda d: "lesion" in d["points"], what="the kept points to come back")
        assert np.allclose(station.data()["points"]["lesion"], placed, atol=1e-6)
        page.wait_for_selector("#pending-points", state="detached")


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_made_for_reading(phantom_study, tmp_path, screenshots, size):  # noqa: F811
    """The layout fits the screen with the results visible; named views with orientation letters; the preset window
    with its control and reset; the SUV under the cursor; the busy sign; the audit in readable units; the hot
    spots from the hottest."""
    phantom, folder = phantom_study
    root = _worklist(tmp_path, folder, names=("b_phantom",))
    width, height = size
    with running_station(["--worklist", str(root), "--out", str(tmp_path / "out")]) as (url, _proc), \
            browser(width=width, height=height) as open_page:
        page = open_page(url)
        station = Station(page)
        page.wait_for_selector("#study-error")
        page.evaluate("""() => { window.sawBusy = false; new MutationObserver(() => {
            if (document.querySelector('#busy')) window.sawBusy = true; }).observe(document.body,
            {subtree: true, childList: true}); }""")
        _open(page, "b_phantom")
        assert page.evaluate("window.sawBusy")  # the busy sign showed while the study loaded
        station.wait_views_sized()
        seeds = phantom.truth.seed_points
        station.jump_to(seeds["lesion"])
        station.place("lesion", seeds["lesion"])
        station.jump_to(seeds["aorta"])
        station.place("aorta", seeds["aorta"])
        page.wait_for_function(
            "document.querySelector('#results tr[data-site=\"TBR\"] td[data-col=\"tbr\"]').dataset.value > 0")

        # Everything a reader needs is on the screen at once: four views of a usable size and the whole table.
        table = page.locator("#results").bounding_box()
        assert table["y"] + table["height"] <= height and table["x"] + table["width"] <= width
        assert page.evaluate("document.documentElement.scrollHeight") <= height
        for n in range(4):
            box = station.page.locator("img.image-display-area").nth(n).bounding_box()
            assert box["height"] >= 150 and box["width"] >= 250 and box["y"] + box["height"] <= table["y"]

        names = {el.get_attribute("data-view"): el.inner_text() for el in page.locator(".view-label").all()}
        assert names == {"Red": "Axial", "Green": "Coronal", "Yellow": "Sagittal", "MIP": "MIP (coronal)"}

        def letters(view):
            return {e: page.locator(f'.letter[data-view="{view}"][data-edge="{e}"]').inner_text()
                    for e in ("left", "right", "top", "bottom")}

        assert letters("Red") == {"left": "R", "right": "L", "top": "A", "bottom": "P"}
        assert letters("Green") == {"left": "R", "right": "L", "top": "S", "bottom": "I"}
        assert letters("MIP") == {"left": "R", "right": "L", "top": "S", "bottom": "I"}
        assert {letters("Yellow")["top"], letters("Yellow")["bottom"]} == {"S", "I"}

        # The SUV under the cursor: the lesion's hottest voxel reads its SUVmax.
        hottest = np.array(station.data()["points"]["lesion"], float)
        station.jump_to(seeds["lesion"])
        target = station.ras_to_page("Red", hottest)
        for dx in (-6, -3, 0):  # slow moves: the views pass on mouse moves at most so often
            page.mouse.move(target[0] + dx, target[1])
            page.wait_for_timeout(250)
        page.wait_for_function("(document.querySelector('#cursor-suv').textContent.match(/^SUV ([0-9.]+)/) || "
                               "[0, 0])[1] > 5")
        text = page.locator("#cursor-suv").inner_text()
        r, a = (float(text.split(" R ")[1].split(",")[0]), float(text.split(" A ")[1].split(",")[0]))
        assert "(Axial)" in text and abs(r - hottest[0]) <= 4 and abs(a - hottest[1]) <= 4

        # The audit in readable units.
        audit = page.locator("#suv-audit").inner_text()
        assert "150.0 MBq" in audit and "70.0 kg" in audit and "e+0" not in audit and "scanner local time" in audit

        # The window: preset SUV 0-6, changed by the control, back with Reset.
        assert "SUV window 0.0 - 6.0" in page.locator("#window-text").inner_text()
        page.evaluate("window.trame.state.set('window', [1, 10])")
        page.wait_for_function("document.querySelector('#window-text').textContent.includes('1.0 - 10.0')")
        page.locator("#reset-window").click()
        page.wait_for_function("document.querySelector('#window-text').textContent.includes('0.0 - 6.0')")

        # Next hot spot: the hottest focus of the PET first.
        page.locator("#next-hot-spot").click()
        page.wait_for_selector("#hot-spot")
        first = page.locator("#hot-spot").inner_text()
        hottest_suv = float(first.split("SUVmax ")[1].split()[0])
        assert first.startswith("hot spot 1 of ") and hottest_suv == pytest.approx(float(phantom.suv.max()), abs=0.01)
        page.locator("#next-hot-spot").click()
        page.wait_for_function("document.querySelector('#hot-spot').textContent.startsWith('hot spot 2')")
        assert float(page.locator("#hot-spot").inner_text().split("SUVmax ")[1].split()[0]) <= hottest_suv

        station.jump_to(seeds["lesion"])
        page.mouse.move(width - 5, height - 5)
        page.wait_for_timeout(1200)  # the last rendered image
        page.screenshot(path=str(screenshots / f"web-station-{width}x{height}.png"))


#: Hounsfield units of the phantom's structures in the generated CT.
_HU = {"outside": -1000, "lung_right": -800, "lung_left": -800, "liver": 60, "spleen": 50, "bladder": 10,
       "vertebrae_other": 700, "C7": 700, "T12": 700, "L5": 700, "right_ilium": 700, "left_ilium": 700}


def write_phantom_ct(phantom, folder: Path, spacing_mm: float = 3.0, shift_mm: float = 1.5) -> Path:
    """A CT series of the phantom on its own grid (3 mm voxels, shifted 1.5 mm from the PET's): each CT voxel gets
    the HU of the structure at its centre in the PET's label image (soft tissue 40 HU, bone 700, lung -800)."""
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    from dicom_builders import save

    grid = phantom.grid
    corners = grid.ijk_to_ras_points(np.array([[0, 0, 0], np.array(grid.shape_kji[::-1]) - 1], float))
    lo, hi = corners.min(axis=0) + shift_mm, corners.max(axis=0)
    shape_ijk = np.floor((hi - lo) / spacing_mm).astype(int) + 1
    hu_of_label = np.array([_HU.get(phantom.label_names[n], 40) for n in range(max(phantom.label_names) + 1)],
                           np.int16)
    i, j = np.meshgrid(np.arange(shape_ijk[0]), np.arange(shape_ijk[1]), indexing="xy")
    folder.mkdir(parents=True)
    series_uid, frame_uid = generate_uid(), generate_uid()
    for k in range(shape_ijk[2]):
        ras = np.column_stack([lo[0] + i.ravel() * spacing_mm, lo[1] + j.ravel() * spacing_mm,
                               np.full(i.size, lo[2] + k * spacing_mm)])
        ijk = np.rint(grid.ras_to_continuous_ijk(ras)).astype(int)
        inside = np.all((ijk >= 0) & (ijk < np.array(grid.shape_kji[::-1])), axis=1)
        labels = np.zeros(i.size, int)
        labels[inside] = phantom.labels[ijk[inside, 2], ijk[inside, 1], ijk[inside, 0]]
        ds = Dataset()
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"  # CT Image Storage
        ds.SOPInstanceUID = generate_uid()
        ds.Modality, ds.SeriesDescription, ds.PatientID = "CT", "phantom CT", "PHANTOM"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = generate_uid(), series_uid, frame_uid
        ds.InstanceNumber = k + 1
        # RAS (lo + i*s, lo + j*s, z) in LPS: rows run along -x_LPS... keep LPS axes: row = (-1,0,0), column = (0,-1,0)
        ds.ImageOrientationPatient = ["-1", "0", "0", "0", "-1", "0"]
        ds.ImagePositionPatient = [f"{-lo[0]:.4f}", f"{-lo[1]:.4f}", f"{lo[2] + k * spacing_mm:.4f}"]
        ds.PixelSpacing = [f"{spacing_mm:g}", f"{spacing_mm:g}"]
        ds.Rows, ds.Columns = int(shape_ijk[1]), int(shape_ijk[0])
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit, ds.PixelRepresentation = 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = "1", "0"
        ds.PixelData = hu_of_label[labels].reshape(shape_ijk[1], shape_ijk[0]).astype(np.int16).tobytes()
        save(ds, folder / f"ct_{k:04d}.dcm")
    return folder


def test_ct_fused_under_the_pet(phantom_study, tmp_path, screenshots):  # noqa: F811
    """A CT series in the study's folder (its own grid, 3 mm, shifted) is shown under the PET in the slice views at
    the right place: the CT under the cursor reads bone at T12's marrow point and soft tissue in the lesion; the
    SUV still comes from the PET alone."""
    phantom, folder = phantom_study
    root = _worklist(tmp_path, folder, names=("b_phantom",), broken=False)
    write_phantom_ct(phantom, root / "b_phantom" / "ct")
    with running_station(["--worklist", str(root), "--out", str(tmp_path / "out")]) as (url, _proc), \
            browser(width=1280, height=720) as open_page:
        page = open_page(url)
        station = Station(page)
        station.wait_views_sized()
        assert station.data()["anatomy"] == "CT under the PET: phantom CT"
        seeds = phantom.truth.seed_points
        station.jump_to(seeds["lesion"])
        station.place("lesion", seeds["lesion"])
        assert station.table_value("lesion", "suv_max") == pytest.approx(
            phantom.truth.expected["lesion"]["suv_max"], abs=2e-3)

        def read_under_cursor(view, ras):
            target = station.ras_to_page(view, ras)
            for dx in (-6, -3, 0):
                page.mouse.move(target[0] + dx, target[1])
                page.wait_for_timeout(250)
            page.wait_for_function("""ras => {
                const m = document.querySelector('#cursor-suv').textContent.match(/ R (-?[0-9]+), A (-?[0-9]+)/);
                return m && Math.abs(m[1] - ras[0]) <= 3 && Math.abs(m[2] - ras[1]) <= 3; }""", arg=list(ras))
            return page.locator("#cursor-suv").inner_text()

        lesion_text = read_under_cursor("Red", station.data()["points"]["lesion"])
        assert lesion_text.endswith("CT 40 HU")
        t12 = np.array(seeds["T12"], float)
        station.jump_to(np.array([t12[0], 40.0, t12[2]]))  # the MIP ray at T12 meets the hottest voxel in front
        red = station.xy_to_ras_matrix("Red")
        on_plane = np.array([t12[0], t12[1], red[2, 3]])
        assert read_under_cursor("Red", on_plane).endswith("CT 700 HU")
        page.evaluate("window.trame.state.set('fusion_opacity', 0.7)")
        page.wait_for_function("document.querySelector('#fusion-text').textContent.includes('70 %')")
        page.mouse.move(1270, 710)
        page.wait_for_timeout(1200)
        page.screenshot(path=str(screenshots / "web-station-ct.png"))
