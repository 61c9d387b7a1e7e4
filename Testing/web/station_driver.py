"""Driving the reading station as a reader does: the real server in its own process, headless Chromium through
Playwright (the system browser, never a downloaded one), trusted mouse events on the rendered views.

Used by the browser test and by ``Testing/benchmarks/bench_web.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
VIEW_ORDER = ("Red", "Green", "Yellow", "MIP")  # the order of the views' <img> elements in the page


def chromium_path() -> str | None:
    """The system Chromium, or None (the browser test then skips, saying so)."""
    env = os.environ.get("PENTIXAFOR_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_station(args: list[str], *, timeout_s: float = 90.0):
    """``pentixafor-quant web ARGS --port P`` in a subprocess; yields (the address it prints, process); stopped
    by its PID afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "PentixaforQuantLib", "web", *args, "--port", str(port)]
    log = open(os.devnull, "wb") if not os.environ.get("PENTIXAFOR_WEB_LOG") else open(
        os.environ["PENTIXAFOR_WEB_LOG"], "ab")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    lines: list[str] = []  # what the server prints (the address to open, with the token when there is one)
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                time.sleep(0.2)
                raise RuntimeError(f"the web server exited with {proc.returncode}: {''.join(lines)}")
            # The address to open, with its access token (printed once the study is loaded).
            opened = next((line.split()[1] for line in list(lines) if line.startswith("Open ")), None)
            try:
                if opened is not None:
                    with urllib.request.urlopen(opened, timeout=2) as r:
                        if r.status == 200:
                            break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the web server did not answer within {timeout_s:.0f} s")
            time.sleep(0.25)
        yield opened, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def browser(*, width: int = 1500, height: int = 1000):
    """Headless system Chromium; yields ``open_page(url)`` (one browser, as many pages as needed)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(),
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])

        def open_page(url: str):
            page = chromium.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
            page.goto(url)
            return page

        try:
            yield open_page
        finally:
            chromium.close()


@contextmanager
def browser_page(url: str, **size):
    with browser(**size) as open_page:
        yield open_page(url)


class Station:
    """The page of a running station: its published data and where its views are."""

    def __init__(self, page):
        self.page = page

    def data(self) -> dict:
        return json.loads(self.page.locator("#page-data").text_content())

    def wait(self, predicate, *, timeout_s: float = 30.0, what: str = "the page"):
        deadline = time.monotonic() + timeout_s
        while True:
            data = self.data()
            if predicate(data):
                return data
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; page data: {json.dumps(data)[:600]}")
            time.sleep(0.02)

    def view_box(self, view: str) -> dict:
        return self.page.locator("img.image-display-area").nth(VIEW_ORDER.index(view)).bounding_box()

    def wait_views_sized(self, timeout_s: float = 60.0):
        """Until every server-side view has the size of its image in the page (so pixels map one to one)."""
        self.page.wait_for_selector("img.image-display-area", timeout=timeout_s * 1000)

        def sized(data):
            geometry = data.get("view_geometry") or {}
            for view in VIEW_ORDER:
                if view not in geometry:
                    return False
                box = self.view_box(view)
                if box is None or [round(box["width"]), round(box["height"])] != geometry[view]["size"]:
                    return False
            return True

        return self.wait(sized, timeout_s=timeout_s, what="the views to take their page size")

    # ------------------------------------------------------------------------------------ pixels <-> RAS
    def xy_to_ras_matrix(self, view: str) -> np.ndarray:
        return np.array(self.data()["view_geometry"][view]["xy_to_ras"], float).reshape(4, 4)

    def ras_to_page(self, view: str, ras) -> tuple[float, float]:
        """Page coordinates of the pixel showing ``ras`` (its in-plane part) in ``view``."""
        m = self.xy_to_ras_matrix(view)
        xy, *_ = np.linalg.lstsq(m[:3, :2], np.asarray(ras, float) - m[:3, 3], rcond=None)
        return self.xy_to_page(view, xy)

    def xy_to_page(self, view: str, xy) -> tuple[float, float]:
        box = self.view_box(view)
        height = self.data()["view_geometry"][view]["size"][1]
        return box["x"] + float(xy[0]), box["y"] + (height - 1 - float(xy[1]))

    def page_to_xy(self, view: str, page_xy) -> np.ndarray:
        box = self.view_box(view)
        height = self.data()["view_geometry"][view]["size"][1]
        return np.array([page_xy[0] - box["x"], height - 1 - (page_xy[1] - box["y"])])

    def ras_to_xy(self, view: str, ras) -> np.ndarray:
        m = self.xy_to_ras_matrix(view)
        xy, *_ = np.linalg.lstsq(m[:3, :2], np.asarray(ras, float) - m[:3, 3], rcond=None)
        return xy

    # ------------------------------------------------------------------------------------ mouse
    def click(self, page_xy):
        mouse = self.page.mouse
        mouse.move(page_xy[0] - 3, page_xy[1] - 3)
        mouse.move(*page_xy, steps=3)
        mouse.down()
        mouse.up()

    def drag(self, from_xy, to_xy, steps: int = 12):
        mouse = self.page.mouse
        mouse.move(from_xy[0] - 4, from_xy[1] - 4)
        mouse.move(*from_xy, steps=4)
        time.sleep(0.2)  # the markups widget highlights the point under the cursor before it can be grabbed
        mouse.down()
        mouse.move(*to_xy, steps=steps)
        mouse.up()

    def table_value(self, site: str, column: str) -> float | None:
        cell = self.page.locator(f'#results tr[data-site="{site}"] td[data-col="{column}"]')
        raw = cell.get_attribute("data-value")
        return None if raw in (None, "", "null") else float(raw)

    def table_text(self, site: str, column: str) -> str:
        return self.page.locator(f'#results tr[data-site="{site}"] td[data-col="{column}"]').inner_text()

    def jump_to(self, ras, *, view: str = "Red"):
        """Click the MIP at ``ras`` (R, S) and wait for ``view`` to show the plane through the hottest voxel.

        The plane is a voxel centre looked up along the clicked pixel's ray, and a MIP pixel (about 2 mm) may
        land on either side of a voxel boundary: when the view lands a voxel off, the click is repeated nudged by
        the difference (at most three times)."""
        axis = {"Red": 2, "Green": 1, "Yellow": 0}[view]
        ras = np.asarray(ras, float)
        aim = ras.copy()

        def offset(data):
            return np.array(data["view_geometry"][view]["xy_to_ras"]).reshape(4, 4)[axis, 3]

        for _attempt in range(3):
            before = offset(self.data())
            self.click(self.ras_to_page("MIP", aim))
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                landed = offset(self.data())
                if abs(landed - ras[axis]) < 2.5:
                    return self.data()
                if landed != before:
                    break
                time.sleep(0.05)
            aim[axis] += (ras[axis] - landed) / 2  # half a voxel: the click lands within a pixel of its aim
        return self.wait(lambda d: abs(offset(d) - ras[axis]) < 2.5, timeout_s=5.0,
                         what=f"the {view} view to move to {list(ras)}")

    def place(self, site: str, ras, *, view: str = "Red") -> tuple[float, float]:
        """Press the site's button, click ``ras`` in ``view``; returns the clicked page position."""
        count = self.data()["measure_count"]
        self.page.locator(f"#place-{site}").click()
        self.page.wait_for_selector("#placing-hint")
        target = self.ras_to_page(view, ras)
        self.click(target)
        self.wait(lambda d: site in d["points"] and d["measure_count"] > count, what=f"{site} to be placed")
        return target
