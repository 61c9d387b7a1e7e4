"""The README is true: every Python block runs headless as written, and the README, the docs and ``--help``
name only files of the repository."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


def test_the_readme_has_the_console_example():
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks and any("place_site" in b for b in blocks)


@pytest.mark.parametrize("number", range(len(python_blocks(README.read_text(encoding="utf-8")))))
def test_every_python_block_of_the_readme_runs_as_written(number, tmp_path):
    block = python_blocks(README.read_text(encoding="utf-8"))[number]
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    if "place_site" in block:  # the console example: the seven points placed as the text says, on the phantom
        out = done.stdout
        assert "TBR (SUVmax lesion / SUVmean blood pool): 6.00" in out
        assert "meanSUVmax (5 of 5 sites): 2.92" in out
        assert out.count("SUVbw") >= 7 and "{SUVbw}" not in out  # units for people
        folder = Path(tmp_path, out.rsplit("written to ", 1)[1].strip())
        doc = json.loads((folder / "study.json").read_text(encoding="utf-8"))
        assert doc["tbr"] == pytest.approx(6.0, abs=0.01) and doc["units"] == "{SUVbw}g/ml"  # UCUM in the data


def test_docs_and_help_name_only_files_of_the_repository():
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"SPEC §|suv-and-metrics|\breference/[a-z-]+\.md", text), path.name
        assert str(ROOT.parent) + "/" not in text, f"{path.name} names a path of this machine"
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):  # relative links resolve
            assert (path.parent / target).exists(), f"{path.name} links to {target}, which is not in the repository"
    for command in ([], ["quantify"], ["suv"], ["batch"]):
        done = subprocess.run([sys.executable, "-m", "PentixaforQuantLib", *command, "--help"], capture_output=True,
                              text=True)
        assert done.returncode == 0 and not re.search(r"SPEC|reference/", done.stdout), command
