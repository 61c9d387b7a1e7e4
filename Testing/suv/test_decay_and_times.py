"""Decay correction, the scan time and the injection time (``suv/decay.py``, ``suv/scan_time.py``,
``suv/injection_time.py``).

The default header (``dicom_builders.pet_header``) is the IBSI-SUV baseline: BQML, START, F-18, 368.08 MBq at
10:00, scan 11:00, 70 kg, so its SUVbw factor is 70 000 g / 252.0 MBq = 1/3600 (g/mL per Bq/mL).
"""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from dicom_builders import F18, conv, decisions, exact_base_factor

from PentixaforQuantLib.errors import SUVError
from PentixaforQuantLib.suv import SUVOverrides


# ------------------------------------------------------------------------------------------------------------
# Decay correction and times


def test_admin_does_not_decay_the_dose():
    c = conv(DecayCorrection="ADMIN")
    assert c.factor == pytest.approx(70_000.0 / 368.08e6, rel=1e-12)
    assert "ADMIN" in decisions(c)


def test_none_per_instance_decay():
    times = ["110000.000000", "110500.000000", "111000.000000"]

    def edit(k, ds):
        ds.AcquisitionTime = times[k]

    c = conv(DecayCorrection="NONE", CorrectedImage=["ATTN", "NORM"], ActualFrameDuration=603000, per_instance=edit)
    t = 603.0
    frame = F18 * t / (1 - math.exp(-F18 * t))
    expected = [70_000.0 / 368.08e6 * frame * math.exp(F18 * (3600 + 300 * k)) for k in range(3)]
    assert c.factors == pytest.approx(expected, rel=1e-12)
    assert c.factor is None
    assert c.factors[1] / c.factors[0] == pytest.approx(math.exp(F18 * 300), rel=1e-12)
    # JSON record lists one factor per SOPInstanceUID.
    assert len(c.to_dict()["factors"]) == 3


def test_none_refuses_decy_flag():
    with pytest.raises(SUVError, match=r"NONE but CorrectedImage \(0028,0051\) lists DECY"):
        conv(DecayCorrection="NONE")


def test_midnight_start_time_only():
    c = conv(
        SeriesDate="20250102", AcquisitionDate="20250102", SeriesTime="003000", AcquisitionTime="003000",
        radiopharm=dict(RadiopharmaceuticalStartTime="233000", RadiopharmaceuticalStartDateTime=None),
    )
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert c.audit.injection_datetime == datetime(2025, 1, 1, 23, 30)
    assert "previous day" in decisions(c)


def test_start_datetime_and_a_disagreeing_start_time_are_refused_or_accepted_with_a_reason():
    with pytest.raises(SUVError, match=r"disagree by 30 min .*--injection-time"):
        conv(radiopharm=dict(RadiopharmaceuticalStartTime="103000"))
    c = conv(radiopharm=dict(RadiopharmaceuticalStartTime="103000"),
             overrides=SUVOverrides(accept_implausible="the StartDateTime is the dose record's"))
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert any("disagree by 30 min" in w and "accepted as right" in w for w in c.audit.warnings)


def test_refuses_injection_after_scan():
    with pytest.raises(SUVError, match=r"injection time 2025-01-01T12:00:00 is after the scan time"):
        conv(radiopharm=dict(RadiopharmaceuticalStartDateTime="20250101120000", RadiopharmaceuticalStartTime="120000"))


def test_refuses_missing_injection_time():
    with pytest.raises(SUVError, match=r"RadiopharmaceuticalStartDateTime \(0018,1078\)"):
        conv(radiopharm=dict(RadiopharmaceuticalStartDateTime=None, RadiopharmaceuticalStartTime=None))


def test_scan_time_earliest_acquisition_without_frame_times():
    def edit(k, ds):
        ds.AcquisitionTime = ["110000", "110500", "111000"][k]

    c = conv(SeriesTime="113000", FrameReferenceTime=None, per_instance=edit)
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    text = decisions(c)
    assert "scan time = earliest AcquisitionTime 2025-01-01T11:00:00 because SeriesTime 2025-01-01T11:30:00" in text


def test_scan_time_back_computed_when_series_is_later():
    """Frames 600 s long; each FrameReferenceTime points back to 11:00 (IBSI DRO_3_2 style)."""
    t = 600.0
    t_ave = math.log(F18 * t / (1 - math.exp(-F18 * t))) / F18

    def edit(k, ds):
        start = 150 + 600 * k  # seconds after 11:00
        hh, rem = divmod(11 * 3600 + start, 3600)
        ds.AcquisitionTime = f"{hh:02d}{rem // 60:02d}{rem % 60:02d}"
        ds.FrameReferenceTime = f"{(start + t_ave) * 1000:.3f}"

    c = conv(SeriesTime="113000", ActualFrameDuration=600000, per_instance=edit)
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-6)
    assert "back-computed" in decisions(c)


def test_series_time_kept_when_equal_to_acquisition_time():
    """Real Philips headers: AcquisitionTime = SeriesTime and a bed-offset FrameReferenceTime. Back-computation
    would shift the reference by minutes; the QIBA order keeps SeriesTime."""
    c = conv(FrameReferenceTime="600000", ActualFrameDuration=120000)
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert "back-computed" not in decisions(c)


GE = {(0x0009, 0x0010): ("LO", "GEMS_PETD_01"), (0x0009, 0x100D): ("DT", "20250101110000.00")}


def test_ge_private_scan_time():
    c = conv(SeriesTime="113000", AcquisitionTime="113000", Manufacturer="GE MEDICAL SYSTEMS", private=GE)
    # Series 11:30 is not after acquisition 11:30: the series time is used (and would give 4.83-like errors).
    assert "SeriesDate/SeriesTime" in decisions(c)
    c = conv(SeriesTime="114000", AcquisitionTime="113000", Manufacturer="GE MEDICAL SYSTEMS", private=GE)
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert "GE private PET scan DateTime 2025-01-01T11:00:00" in decisions(c)


def test_ge_private_scan_time_of_another_creator_is_ignored():
    private = {(0x0009, 0x0010): ("LO", "OTHER_VENDOR"), (0x0009, 0x100D): ("DT", "20250101110000")}
    c = conv(SeriesTime="114000", AcquisitionTime="110000", FrameReferenceTime=None, private=private)
    assert "ignored" in decisions(c) and "GE private" not in decisions(c)
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)  # earliest acquisition 11:00


def test_utc_offsets():
    c = conv(TimezoneOffsetFromUTC="+0100", radiopharm=dict(RadiopharmaceuticalStartDateTime="20250101090000+0000"))
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    c = conv(radiopharm=dict(RadiopharmaceuticalStartDateTime="20250101100000+0100"))
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert "UTC offset" in decisions(c)


def test_scan_and_injection_overrides():
    c = conv(
        SeriesTime=None, AcquisitionTime=None, radiopharm=dict(RadiopharmaceuticalStartDateTime=None,
                                                               RadiopharmaceuticalStartTime=None),
        overrides=SUVOverrides(scan_datetime=datetime(2025, 1, 1, 11), injection_datetime=datetime(2025, 1, 1, 10)),
    )
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert c.audit.inputs["scan_datetime"]["source"] == "user override"
    assert c.audit.inputs["injection_datetime"]["source"] == "user override"


def test_refuses_missing_scan_time():
    with pytest.raises(SUVError, match=r"no scan time"):
        conv(SeriesTime=None, AcquisitionTime=None)
