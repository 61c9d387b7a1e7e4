"""Untrusted DICOM input and overrides, class by class (issue 7 §2): one table, each case run twice.

Each case builds a small PET series with ``dicom_builders.write_series`` (4 slices of 8 x 8, SUV up to about 5),
damages it or gives overrides, and states the outcome:

- ``refused``: ``read_pet_volume`` raises the given error type with the message substring, and the command line
  (``pentixafor-quant suv DIR ...``) exits with 2 and prints that one line, no traceback;
- ``warning``: the volume is read, the audit carries a warning with the substring, and the command line prints it
  and exits with 0;
- ``ok``: read without a warning, with an extra check of the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pydicom
import pytest
from dicom_builders import write_series
from pydicom.uid import generate_uid

from PentixaforQuantLib.cli.main import main
from PentixaforQuantLib.errors import DicomSeriesError, SUVError
from PentixaforQuantLib.suv import SUVOverrides, read_pet_volume

#: Stored values of the default series: SUV = stored x slope / 3600 reaches 5.
STORED = (np.arange(4 * 8 * 8).reshape(4, 8, 8) % 97 * 180 + 1000).astype(np.int16)


def plain(tmp_path, **changes):
    folder = tmp_path / "pet"
    write_series(folder, STORED, [1.0] * 4, **changes)
    return folder


def with_slopes(slope):
    def build(tmp_path):
        folder = tmp_path / "pet"
        write_series(folder, STORED, [slope] * 4)
        return folder
    return build


def changed(**changes):
    return lambda tmp_path: plain(tmp_path, **changes)


def radiopharm(**changes):
    return lambda tmp_path: plain(tmp_path, radiopharm=changes)


def per_instance(edit):
    return lambda tmp_path: plain(tmp_path, per_instance=edit)


def damaged(damage):
    """The default series with one file damaged by ``damage(sorted paths)``."""
    def build(tmp_path):
        folder = plain(tmp_path)
        damage(sorted(folder.iterdir()))
        return folder
    return build


def truncate(index, keep):
    def damage(paths):
        data = paths[index].read_bytes()
        paths[index].write_bytes(data[: keep(len(data))])
    return damage


def two_series(tmp_path):
    folder = plain(tmp_path, SeriesDescription="WB AC")
    write_series(folder / "nac", STORED, [1.0] * 4, SeriesDescription="WB NAC", SeriesInstanceUID=generate_uid())
    return folder


def duplicate(same_pixels: bool):
    def build(tmp_path):
        folder = plain(tmp_path)
        first = sorted(folder.iterdir())[0]
        ds = pydicom.dcmread(first)
        if not same_pixels:
            arr = ds.pixel_array.copy()
            arr[0, 0] += 1
            ds.PixelData = arr.tobytes()
        ds.save_as(folder / "copy_of_first.dcm")
        return folder
    return build


def single_slice(tmp_path):
    folder = tmp_path / "pet"
    write_series(folder, STORED[:1], [1.0])
    return folder


def low_values(tmp_path):
    folder = tmp_path / "pet"
    write_series(folder, np.full((4, 8, 8), 100, np.int16), [1.0] * 4)
    return folder


@dataclass
class Case:
    id: str
    build: Callable
    outcome: str  # "refused", "warning" or "ok"
    text: str = ""
    error: type = SUVError
    overrides: dict = field(default_factory=dict)
    normalization: str = "bw"
    check: Callable | None = None


def _series_recorded(pet):
    uid = pydicom.dcmread(pet.headers.files[0], stop_before_pixels=True).SeriesInstanceUID
    record = pet.conversion.to_dict()
    assert record["series_uid"] == uid and record["instances"] == 4


def _offset_honoured(pet):
    # 09:00 UTC is 10:00 at +0100, the header's injection time: the factor is the baseline's.
    assert pet.conversion.audit.injection_datetime.isoformat() == "2025-01-01T10:00:00"
    assert pet.conversion.factor == pytest.approx(70_000.0 / (368.08e6 * 2.0 ** (-3600.0 / 6586.2)), rel=1e-12)


def _baseline_factor(pet):
    assert pet.conversion.factor == pytest.approx(70_000.0 / (368.08e6 * 2.0 ** (-3600.0 / 6586.2)), rel=1e-12)
    assert any("compared in UTC" in d for d in pet.conversion.audit.decisions)


def _midnight(pet):
    assert pet.conversion.audit.injection_datetime.isoformat() == "2024-12-31T23:30:00"
    assert any("midnight rule" in d for d in pet.conversion.audit.decisions)


CASES = [
    # Values in the wrong unit, in overrides and in the header: the likely unit is named.
    Case("dose-override-in-mCi", plain, "refused", "mCi given as MBq? that would be 148 MBq",
         overrides={"dose_bq": 4e6}),
    Case("dose-override-1e-9-MBq", plain, "refused", "is outside 10 MBq-3 GBq", overrides={"dose_bq": 1e-3}),
    Case("dose-header-in-kBq", radiopharm(RadionuclideTotalDose="368080"), "refused",
         "RadionuclideTotalDose (0018,1074) 368080 is implausible: 0.3681 MBq (read as Bq) is outside 10 MBq-3 GBq; "
         "in kBq? that would be 368.1 MBq"),
    Case("dose-header-in-mCi", radiopharm(RadionuclideTotalDose="5"), "refused", "in mCi? that would be 185 MBq"),
    Case("dose-header-in-uCi", radiopharm(RadionuclideTotalDose="4000"), "refused", "in uCi? that would be 148 MBq"),
    Case("weight-override-in-grams", plain, "refused", "in grams? that would be 70 kg", overrides={"weight_kg": 70000}),
    Case("height-override-in-cm", plain, "refused", "in centimetres? that would be 1.75 m",
         overrides={"height_m": 175}, normalization="lbm"),
    Case("weight-header-implausible", changed(PatientWeight="700"), "refused",
         "PatientWeight (0010,1030) 700 is implausible"),
    Case("height-header-in-mm", changed(PatientSize="1750"), "refused", "in millimetres? that would be 1.75 m",
         normalization="lbm"),
    Case("half-life-override-in-minutes", plain, "refused", "in minutes? that would be 6586 s",
         overrides={"half_life_s": 109.77}),
    Case("implausible-accepted-with-reason", plain, "warning", "accepted as right: preclinical study",
         overrides={"dose_bq": 4e6, "accept_implausible": "preclinical study"}),
    Case("implausible-reason-empty", plain, "refused", "needs a reason",
         overrides={"dose_bq": 4e6, "accept_implausible": "  "}),
    # Times.
    Case("injection-override-date-only", plain, "refused", "has a date but no time of day",
         overrides={"injection_datetime": "2025-01-01"}),
    Case("injection-override-utc-offset-without-header-zone", plain, "refused",
         "has a UTC offset but the header gives no TimezoneOffsetFromUTC",
         overrides={"injection_datetime": "2025-01-01T10:00+01:00"}),
    Case("injection-override-utc-offset-honoured", changed(TimezoneOffsetFromUTC="+0100"), "ok",
         overrides={"injection_datetime": "2025-01-01T09:00+00:00"}, check=_offset_honoured),
    Case("both-time-overrides-with-offsets-compared-in-utc", plain, "ok", check=_baseline_factor,
         overrides={"injection_datetime": "2025-01-01T09:00+00:00", "scan_datetime": "2025-01-01T12:00+02:00"}),
    Case("header-start-datetime-date-only", radiopharm(RadiopharmaceuticalStartDateTime="20250101"), "refused",
         "RadiopharmaceuticalStartDateTime (0018,1078) '20250101' has no time of day"),
    Case("header-start-time-hour-only", radiopharm(RadiopharmaceuticalStartDateTime=None,
                                                   RadiopharmaceuticalStartTime="10"), "refused",
         "gives the hour only"),
    Case("injection-later-same-day", radiopharm(RadiopharmaceuticalStartDateTime=None,
                                                RadiopharmaceuticalStartTime="140000"), "refused",
         "more than the 12 h of the midnight rule"),
    Case("injection-before-midnight", lambda t: plain(t, SeriesDate="20250101", SeriesTime="003000",
                                                      AcquisitionDate="20250101", AcquisitionTime="003000",
                                                      radiopharm={"RadiopharmaceuticalStartDateTime": None,
                                                                  "RadiopharmaceuticalStartTime": "233000"}),
         "ok", check=_midnight),
    Case("injection-datetime-after-scan", radiopharm(RadiopharmaceuticalStartDateTime="20250101120000",
                                                    RadiopharmaceuticalStartTime="120000"), "refused",
         "is after the scan time"),
    # Overrides that cannot apply, or are not needed.
    Case("times-under-decay-correction-admin", changed(DecayCorrection="ADMIN"), "refused",
         "the injection-time override cannot apply: DecayCorrection ADMIN",
         overrides={"injection_datetime": "2025-01-01T10:00"}),
    Case("weight-override-under-units-gml", changed(Units="GML"), "refused",
         "the weight override cannot apply: Units GML", overrides={"weight_kg": 80}),
    Case("height-override-not-needed-for-suvbw", plain, "warning", "the height override was not used",
         overrides={"height_m": 1.8}),
    # Which data were read.
    Case("two-pet-series", two_series, "refused", "2 PET series in", error=DicomSeriesError),
    Case("duplicate-instance-with-other-pixels", duplicate(False), "refused", "have the same SOPInstanceUID",
         error=DicomSeriesError),
    Case("duplicate-instance-exact-copy", duplicate(True), "ok"),
    Case("bits-stored-differs", per_instance(lambda k, ds: setattr(ds, "BitsStored", 15) if k == 2 else None),
         "refused", "instances differ in pixel format: BitsStored (0028,0101) 16 in", error=DicomSeriesError),
    Case("bits-stored-above-allocated", per_instance(lambda k, ds: setattr(ds, "BitsStored", 17)), "refused",
         "BitsStored (0028,0101) is 17", error=DicomSeriesError),
    Case("pixels-above-bits-stored", per_instance(lambda k, ds: (setattr(ds, "BitsStored", 12),
                                                              setattr(ds, "HighBit", 11))), "refused",
         "use more bits than BitsStored (0028,0101) 12", error=DicomSeriesError),
    Case("single-slice", single_slice, "refused", "has a single slice (slice_0000.dcm)", error=DicomSeriesError),
    Case("header-value-differs-names-the-files",
         per_instance(lambda k, ds: setattr(ds, "PatientWeight", "71" if k == 2 else "70")), "refused",
         "PatientWeight (0010,1030) differs between instances (70, 71): 70 in slice_0000.dcm, 71 in slice_0002.dcm"),
    Case("missing-slice-names-the-gap", damaged(lambda p: p[1].unlink()), "refused",
         "e.g. 8 mm between slice_0000.dcm and slice_0002.dcm", error=DicomSeriesError),
    Case("series-uid-and-files-recorded", plain, "ok", check=_series_recorded),
    # Damaged files, anywhere in the stack.
    Case("first-file-truncated-in-header", damaged(truncate(0, lambda n: 400)), "refused",
         "slice_0000.dcm: PET header without pixel data (the file ends at byte 400: truncated?)",
         error=DicomSeriesError),
    Case("last-file-truncated-in-pixels", damaged(truncate(3, lambda n: n - 10)), "refused",
         "pixel data of slice_0003.dcm is truncated", error=DicomSeriesError),
    Case("middle-file-truncated-in-header", damaged(truncate(2, lambda n: 900)), "refused",
         "slice_0002.dcm: PET header without pixel data (the file ends at byte 900", error=DicomSeriesError),
    Case("last-file-empty", damaged(lambda p: p[3].write_bytes(b"")), "refused",
         "slice_0003.dcm: the file is empty", error=DicomSeriesError),
    Case("junk-that-starts-like-dicom", damaged(lambda p: (p[0].parent / "junk").write_bytes(b"\x08\x00" +
                                                                                          b"\x00" * 2_000_000)),
         "refused", "junk: starts like DICOM but its header does not end", error=DicomSeriesError),
    Case("huge-rows-columns-claim", per_instance(lambda k, ds: (setattr(ds, "Rows", 60000),
                                                             setattr(ds, "Columns", 60000))), "refused",
         "60000x60000 in slice_0000.dcm exceed 2048", error=DicomSeriesError),
    Case("rows-do-not-fit-the-pixel-data", per_instance(lambda k, ds: setattr(ds, "Rows", 16)), "refused",
         "is 128 bytes but Rows x Columns x BitsAllocated (16 x 8 x 16 bits) need 256", error=DicomSeriesError),
    # The SUV volume itself.
    Case("suv-maximum-implausible", with_slopes(1000.0), "refused",
         "SUV maximum 5078 (slice of slice_0001.dcm) is above 1000"),
    Case("suv-maximum-accepted-with-reason", with_slopes(1000.0), "warning", "accepted as right: test object",
         overrides={"accept_implausible": "test object"}),
    Case("suv-maximum-very-low", low_values, "warning", "SUV maximum 0.0278 is below 0.5"),
]

_FLAGS = {"weight_kg": "--weight-kg", "height_m": "--height-m", "dose_bq": "--dose-mbq",
          "half_life_s": "--half-life-s", "injection_datetime": "--injection-time", "scan_datetime": "--scan-time",
          "accept_implausible": "--accept-implausible"}


def _cli_args(case: Case, folder) -> list[str]:
    args = ["suv", str(folder), "--suv", case.normalization]
    for name, value in case.overrides.items():
        shown = f"{value / 1e6:.12g}" if name == "dose_bq" else str(value)
        args += [_FLAGS[name], shown]
    return args


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_untrusted_input(case: Case, tmp_path, capsys):
    folder = case.build(tmp_path)
    overrides = SUVOverrides(**case.overrides)

    if case.outcome == "refused":
        with pytest.raises(case.error) as refused:
            read_pet_volume(folder, overrides=overrides, normalization=case.normalization)
        assert case.text in str(refused.value)
        assert "\n" not in str(refused.value)
    else:
        pet = read_pet_volume(folder, overrides=overrides, normalization=case.normalization)
        warnings = pet.conversion.audit.warnings
        if case.outcome == "warning":
            assert any(case.text in w for w in warnings), warnings
        else:
            assert warnings == []
        if case.check is not None:
            case.check(pet)

    capsys.readouterr()
    code = main(_cli_args(case, folder))
    out, err = capsys.readouterr()
    if case.outcome == "refused":
        assert code == 2
        assert err.count("\n") == 1 and case.text in err and "Traceback" not in err
    else:
        assert code == 0 and err == ""
        if case.outcome == "warning":
            assert "Warnings:" in out and case.text in out
