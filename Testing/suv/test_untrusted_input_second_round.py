"""Untrusted DICOM input, second round: the classes a second hostile sweep found (issue 16), one table.

Each case builds a small PET series with ``dicom_builders.write_series``, damages it, and states the outcome as in
``test_untrusted_input.py``: ``refused`` (``read_pet_volume`` raises with the message substring, and the command
line ``pentixafor-quant suv`` exits with 2 and prints that one line), ``warning`` (read; the audit and the command
line carry it) or ``ok`` (read without a warning, with a check of the numbers). Every case fails on the code before
the fix: silent wrong numbers, wrong blame, or a good series refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pydicom
import pytest
from dicom_builders import DEFAULT_SUVBW_FACTOR, write_series
from pydicom.uid import generate_uid

from PentixaforQuantLib.cli.main import main
from PentixaforQuantLib.errors import DicomSeriesError, SUVError
from PentixaforQuantLib.suv import SUVOverrides, read_pet_volume

#: A body at the right scale: background SUV 0.7 (Bq/mL = SUV / factor) with a lesion of SUV 8, 6 slices.
SUV = np.full((6, 16, 16), 0.7)
SUV[:, :2, :] = 0.0  # air
SUV[2:4, 6:9, 6:9] = 8.0  # stored 28 800 fits int16
STORED = np.rint(SUV / DEFAULT_SUVBW_FACTOR).astype(np.int16)  # slope 1: stored = Bq/mL


def plain(tmp_path, **changes):
    folder = tmp_path / "pet"
    write_series(folder, STORED, [1.0] * len(STORED), **changes)
    return folder


def changed(**changes):
    return lambda tmp_path: plain(tmp_path, **changes)


def radiopharm(**changes):
    return lambda tmp_path: plain(tmp_path, radiopharm=changes)


def float_pixels(kind):
    """The series stored as Float (or Double Float) Pixel Data, Bq/mL as floats."""
    def edit(k, ds):
        values = (SUV[k] / DEFAULT_SUVBW_FACTOR).astype("<f4" if kind == "float" else "<f8")
        del ds.PixelData
        for keyword in ("BitsStored", "HighBit", "PixelRepresentation"):
            delattr(ds, keyword)
        ds.BitsAllocated = 32 if kind == "float" else 64
        if kind == "float":
            ds.FloatPixelData = values.tobytes()
        else:
            ds.DoubleFloatPixelData = values.tobytes()
    return lambda tmp_path: plain(tmp_path, per_instance=edit)


def last_slice_series_uid_damaged(tmp_path):
    folder = plain(tmp_path)
    last = sorted(folder.iterdir())[-1]
    ds = pydicom.dcmread(last)
    ds.SeriesInstanceUID = ds.SeriesInstanceUID[:-1] + ("1" if ds.SeriesInstanceUID[-1] != "1" else "2")
    ds.save_as(last)
    return folder


def first_file_modality_damaged(tmp_path):
    folder = plain(tmp_path)
    first = sorted(folder.iterdir())[0]
    ds = pydicom.dcmread(first)
    ds.Modality = "CT"
    ds.save_as(first)
    return folder


def nac_series_beside(tmp_path):
    """An AC and a NAC series of the same acquisition: same grid, same slices (not strays)."""
    folder = plain(tmp_path, SeriesDescription="WB AC")
    first = pydicom.dcmread(sorted(folder.iterdir())[0])
    write_series(folder / "nac", STORED, [1.0] * len(STORED), SeriesDescription="WB NAC",
                 SeriesInstanceUID=generate_uid(), FrameOfReferenceUID=first.FrameOfReferenceUID)
    return folder


def only_a_linked_subfolder(tmp_path):
    series = plain(tmp_path)
    top = tmp_path / "top"
    top.mkdir()
    (top / "pet").symlink_to(series, target_is_directory=True)
    return top


def a_dangling_link_beside_the_series(tmp_path):
    folder = plain(tmp_path)
    (folder / "more").symlink_to(tmp_path / "gone", target_is_directory=True)
    return folder


def only_a_dangling_link(tmp_path):
    top = tmp_path / "top"
    top.mkdir()
    (top / "pet").symlink_to(tmp_path / "gone", target_is_directory=True)
    return top


def a_link_loop_beside_the_series(tmp_path):
    folder = plain(tmp_path)
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    return folder


def _factor_is(factor):
    def check(pet):
        assert pet.conversion.factor == pytest.approx(factor, rel=1e-9)
        assert float(pet.suv.max()) == pytest.approx(8.0, rel=1e-3)
    return check


def _float_values(pet):
    np.testing.assert_allclose(pet.suv, SUV, rtol=1e-5, atol=1e-6)
    assert pet.suv.shape == (6, 16, 16)


def _all_six_slices(pet):
    assert pet.suv.shape[0] == 6


@dataclass
class Case:
    id: str
    build: Callable
    outcome: str
    text: str = ""
    error: type = SUVError
    overrides: dict = field(default_factory=dict)
    series_uid: Callable | None = None  # folder -> SeriesInstanceUID to ask for
    check: Callable | None = None


def _uid_of_first(folder):
    return pydicom.dcmread(sorted(p for p in folder.iterdir() if p.is_file())[0]).SeriesInstanceUID


CASES = [
    # An SUV scale off by a unit: the image itself says it is impossible.
    Case("dose-header-12-meant-as-mCi", radiopharm(RadionuclideTotalDose="12"), "refused",
         "in mCi entered as MBq? that would be 444 MBq"),
    Case("dose-override-12-meant-as-mCi", plain, "refused", "the body's median SUV is", overrides={"dose_bq": 12e6}),
    Case("dose-off-by-a-unit-accepted-with-reason", radiopharm(RadionuclideTotalDose="12"), "warning",
         "accepted as right: phantom with a hot background", overrides={"accept_implausible": "phantom with a hot "
                                                                                            "background"}),
    Case("rescale-slope-1e-40-is-a-damaged-header", lambda t: (t / "pet", write_series(
        t / "pet", STORED, [1e-40] * 6))[0], "refused", "RescaleSlope (0028,1053) is 1e-40 in slice_0000.dcm"),
    # Time zones: an offset is honoured or refused, never dropped; start times that disagree are refused.
    Case("start-datetime-utc-offset-without-zone-disagreeing", radiopharm(
        RadiopharmaceuticalStartDateTime="20250101090000+0000"), "refused",
        "carries the UTC offset +0000 but the header gives no TimezoneOffsetFromUTC (0008,0201) and its clock time "
        "09:00:00 disagrees with RadiopharmaceuticalStartTime"),
    Case("start-datetime-utc-offset-without-zone-and-no-start-time", radiopharm(
        RadiopharmaceuticalStartDateTime="20250101090000+0000", RadiopharmaceuticalStartTime=None), "refused",
        "no local clock time tells the scanner's zone"),
    Case("start-datetime-utc-offset-agreeing-with-start-time", radiopharm(
        RadiopharmaceuticalStartDateTime="20250101100000+0100"), "ok", check=_factor_is(DEFAULT_SUVBW_FACTOR)),
    Case("start-datetime-utc-offset-converted-to-the-header-zone", lambda t: plain(
        t, TimezoneOffsetFromUTC="+0100", radiopharm={"RadiopharmaceuticalStartDateTime": "20250101090000+0000"}),
        "ok", check=_factor_is(DEFAULT_SUVBW_FACTOR)),
    Case("start-datetime-and-start-time-disagree-by-an-hour", radiopharm(
        RadiopharmaceuticalStartDateTime="20250101110000"), "refused",
        "disagree by 1 h 00 min (a time-zone offset?)"),
    Case("acquisition-datetime-utc-offset-without-zone", lambda t: plain(
        t, SeriesTime="120000", AcquisitionDateTime="20250101100000+0000", AcquisitionTime="110000"), "refused",
        "AcquisitionDateTime (0008,002A) 20250101100000+0000 carries the UTC offset +0000"),
    # Pixel data stored as floats is read as before.
    Case("float-pixel-data", float_pixels("float"), "ok", check=_float_values),
    Case("double-float-pixel-data", float_pixels("double"), "ok", check=_float_values),
    # Following the tool's advice must not drop a slice.
    Case("damaged-series-uid-of-the-last-slice-chosen-series", last_slice_series_uid_damaged, "refused",
         "slice_0005.dcm (SeriesInstanceUID", error=DicomSeriesError, series_uid=_uid_of_first),
    Case("ac-and-nac-of-the-same-acquisition-chosen-series", nac_series_beside, "ok", series_uid=_uid_of_first,
         check=_all_six_slices),
    # A series' modality is not taken from its first file by name.
    Case("first-file-modality-damaged", first_file_modality_damaged, "refused",
         "Modality (0008,0060) differs within series", error=DicomSeriesError),
    # Folders: links are followed, what cannot be read is named.
    Case("only-a-linked-subfolder", only_a_linked_subfolder, "ok", check=_all_six_slices),
    Case("only-a-dangling-link", only_a_dangling_link, "refused", "holds no readable files: link pet leads nowhere",
         error=DicomSeriesError),
    Case("dangling-link-beside-the-series", a_dangling_link_beside_the_series, "warning",
         "link more leads nowhere: files there are not read"),
    Case("link-loop-beside-the-series", a_link_loop_beside_the_series, "ok", check=_all_six_slices),
]

_FLAGS = {"dose_bq": "--dose-mbq", "accept_implausible": "--accept-implausible"}


def _cli_args(case: Case, folder, uid) -> list[str]:
    args = ["suv", str(folder)] + (["--series-uid", uid] if uid else [])
    for name, value in case.overrides.items():
        args += [_FLAGS[name], f"{value / 1e6:.12g}" if name == "dose_bq" else str(value)]
    return args


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_untrusted_input_second_round(case: Case, tmp_path, capsys):
    folder = case.build(tmp_path)
    uid = case.series_uid(folder) if case.series_uid else None
    overrides = SUVOverrides(**case.overrides)
    if case.outcome == "refused":
        with pytest.raises(case.error) as refused:
            read_pet_volume(folder, overrides=overrides, series_uid=uid)
        assert case.text in str(refused.value)
        assert "\n" not in str(refused.value)
    else:
        pet = read_pet_volume(folder, overrides=overrides, series_uid=uid)
        warnings = pet.conversion.audit.warnings
        if case.outcome == "warning":
            assert any(case.text in w for w in warnings), warnings
        else:
            assert warnings == []
        if case.check is not None:
            case.check(pet)

    capsys.readouterr()
    code = main(_cli_args(case, folder, uid))
    out, err = capsys.readouterr()
    if case.outcome == "refused":
        assert code == 2, err
        assert err.count("\n") == 1 and case.text in err and "Traceback" not in err
    else:
        assert code == 0 and err == "", err
        if case.outcome == "warning":
            assert "Warnings:" in out and case.text in out


def test_an_unreadable_subfolder_is_named_not_skipped_silently():
    """A subfolder the user cannot list: a warning naming it (or, alone, the refusal). Root reads every folder, so
    as root the command runs as nobody (setpriv)."""
    import shutil
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    as_nobody = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root reads every folder and setpriv is missing")
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    top = Path(tempfile.mkdtemp(prefix="unreadable-"))
    try:
        top.chmod(0o755)
        folder = plain(top)
        locked = folder / "locked"
        locked.mkdir()
        (locked / "extra.dcm").write_bytes((folder / "slice_0000.dcm").read_bytes())
        for path in [folder, *folder.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        locked.chmod(0)
        cli = as_nobody + [sys.executable, "-m", "PentixaforQuantLib", "suv"]
        done = subprocess.run(cli + [str(folder)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "folder locked cannot be read (Permission denied): files there are not read" in done.stdout
        only = top / "only"
        (only / "locked").mkdir(parents=True)
        only.chmod(0o755)
        (only / "locked").chmod(0)
        alone = subprocess.run(cli + [str(only)], capture_output=True, text=True, timeout=120)
        assert alone.returncode == 2 and alone.stderr.count("\n") == 1, alone.stderr
        assert "holds no readable files: folder locked cannot be read (Permission denied)" in alone.stderr
    finally:
        for path in (top / "pet" / "locked", top / "only" / "locked"):
            if path.exists():
                path.chmod(0o755)
        shutil.rmtree(top, ignore_errors=True)
