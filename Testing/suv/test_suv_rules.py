"""Each SUV rule on its own, with synthetic PET headers built here (no mocks).

The default header (``dicom_builders.pet_header``) is the IBSI-SUV baseline: BQML, START, F-18, 368.08 MBq at
10:00, scan 11:00, 70 kg, so its SUVbw factor is 70 000 g / 252.0 MBq = 1/3600 (g/mL per Bq/mL).
Reference numbers: QIBA FDG-PET DRO constants and calculate-suv vectors (shared reference, sections 1.2, 2.5).
"""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pytest
from dicom_builders import pet_header, series_headers, write_series

from PentixaforQuantLib.suv import body_size
from PentixaforQuantLib.suv.series_reader import read_pet_volume
from PentixaforQuantLib.errors import DicomSeriesError, SUVError
from PentixaforQuantLib.suv.conversion import (
    SUVOverrides,
    compute_suv_conversion,
    normalization_name,
    suv_conversion_for_suv_volume,
)

BASE_FACTOR = 1.0 / 3600.0  # 70 000 g / (368.08 MBq * 2^(-3600/6586.2)) = 70 000 / 252.0e6 (to 1e-6)
F18 = math.log(2) / 6586.2


def conv(n=3, *, normalization="bw", overrides=None, slopes=None, per_instance=None, **changes):
    return compute_suv_conversion(
        series_headers(n, slopes=slopes, per_instance=per_instance, **changes),
        normalization=normalization,
        overrides=overrides,
    )


def decisions(c) -> str:
    return " | ".join(c.audit.decisions)


def exact_base_factor() -> float:
    return 70_000.0 / (368.08e6 * 2.0 ** (-3600.0 / 6586.2))


# ------------------------------------------------------------------------------------------------------------
# Baseline and reference constants


def test_baseline_bqml_start():
    c = conv()
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert c.factor == pytest.approx(BASE_FACTOR, rel=1e-5)
    assert c.units == "{SUVbw}g/ml" and c.normalization == "bw"
    assert c.audit.inputs["weight_kg"] == {"value": 70.0, "source": "PatientWeight (0010,1030)"}
    assert "SeriesDate/SeriesTime" in decisions(c) and "back-computed" not in decisions(c)


QIBA_COMMON = dict(
    SeriesDate="20130529", AcquisitionDate="20130529", SeriesTime="140100.000000", AcquisitionTime="140100.000000",
    radiopharm=dict(
        RadionuclideTotalDose="370000000", RadionuclideHalfLife="6586",
        RadiopharmaceuticalStartTime="130100.000000", RadiopharmaceuticalStartDateTime=None,
    ),
)


@pytest.mark.parametrize(
    "sex, weight, height, slope, factor, lbm_over_bw",
    [
        ("M", "70.0", "1.65", 0.453901487278775, 2.76340e-4, 0.7709),
        ("F", "59.94", "1.665", 0.530081816975547, 2.36626e-4, 0.750),
    ],
)
def test_qiba_dro_constants(sex, weight, height, slope, factor, lbm_over_bw):
    kw = dict(QIBA_COMMON, PatientSex=sex, PatientWeight=weight, PatientSize=height, RescaleSlope=f"{slope:.14g}")
    bw = compute_suv_conversion([pet_header(**kw)])
    assert bw.factor == pytest.approx(factor, rel=2e-5)
    test_voxels = np.array([32767, -877]) * slope * bw.factor
    assert np.round(test_voxels, 2).tolist() == [4.11, -0.11]
    assert test_voxels == pytest.approx([4.11, -0.11], abs=1e-4)
    lbm = compute_suv_conversion([pet_header(**kw)], normalization="lbm-james128")
    assert lbm.factor / bw.factor == pytest.approx(lbm_over_bw, abs=5e-4)
    assert lbm.units == "{SUVlbm(James128)}g/ml"


def test_body_size_vectors_calculate_suv():
    """W 75 kg, H 1.85 m (calculate-suv test vectors)."""
    assert body_size.lbm_james_kg(75, 1.85, "M", male_coefficient=120) == pytest.approx(62.7776, abs=1e-4)
    assert body_size.lbm_james_kg(75, 1.85, "F", male_coefficient=120) == pytest.approx(55.9257, abs=1e-4)
    assert body_size.lbm_janmahasatian_kg(75, 1.85, "M") == pytest.approx(60.9153, abs=1e-4)
    assert body_size.lbm_janmahasatian_kg(75, 1.85, "F") == pytest.approx(49.2144, abs=1e-4)
    assert body_size.bsa_dubois_m2(75, 1.85) * 1e4 == pytest.approx(19813.76, abs=0.01)
    assert body_size.ibw_kg(1.85, "M") == pytest.approx(48.0 + 1.06 * 33, abs=1e-9)
    assert body_size.ibw_kg(1.85, "O") == pytest.approx(0.5 * (48.0 + 1.06 * 33 + 45.5 + 0.91 * 33), abs=1e-9)


@pytest.mark.parametrize(
    "normalization, sex, expected, units",
    [
        ("bsa", "M", 198.1376, "{SUVbsa}cm2/ml"),  # 19 813.76 cm2 / 100 Bq
        ("lbm", "M", 609.153, "{SUVlbm(Janma)}g/ml"),  # 60.9153 kg / 100 Bq
        ("lbm", "F", 492.144, "{SUVlbm(Janma)}g/ml"),
        ("bw", "M", 750.0, "{SUVbw}g/ml"),
        ("ibw", "M", 10 * (48.0 + 1.06 * 33), "{SUVibw}g/ml"),
    ],
)
def test_normalisation_factors_with_100_bq_dose_without_decay(normalization, sex, expected, units):
    c = conv(
        PatientWeight="75", PatientSize="1.85", PatientSex=sex, DecayCorrection="ADMIN",
        normalization=normalization, overrides=SUVOverrides(dose_bq=100.0),
    )
    assert c.factor == pytest.approx(expected, abs=1e-3)
    assert c.units == units
    assert c.audit.inputs["dose_bq"]["source"] == "user override"


# ------------------------------------------------------------------------------------------------------------
# Rescale slope / intercept


def test_per_slice_slope_is_not_part_of_the_factor():
    c = conv(4, slopes=[1.0, 3.0, 4.0, 0.25])
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert "4 values" in str(c.audit.inputs["rescale_slope"]["value"])


def test_refuses_non_zero_intercept():
    with pytest.raises(SUVError, match=r"RescaleIntercept \(0028,1052\) is 5"):
        conv(RescaleIntercept="5.0")


def test_refuses_missing_slope():
    with pytest.raises(SUVError, match=r"RescaleSlope \(0028,1053\) missing"):
        conv(RescaleSlope=None)


# ------------------------------------------------------------------------------------------------------------
# Weight, height, dose


def test_weight_in_grams():
    c = conv(PatientWeight="70000")
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert "read as grams" in decisions(c)


def test_height_in_centimetres():
    a = conv(PatientSize="175", normalization="lbm")
    b = conv(PatientSize="1.75", normalization="lbm")
    assert a.factor == pytest.approx(b.factor, rel=1e-12)
    assert "centimetres" in decisions(a)


def test_dose_in_mbq():
    c = conv(radiopharm=dict(RadionuclideTotalDose="368.08"))
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert "read as MBq" in decisions(c)


@pytest.mark.parametrize("weight", [None, "", "0"])
def test_refuses_missing_weight(weight):
    with pytest.raises(SUVError, match=r"PatientWeight \(0010,1030\)"):
        conv(PatientWeight=weight)


def test_refuses_implausible_weight():
    with pytest.raises(SUVError, match=r"PatientWeight \(0010,1030\) 700 is implausible"):
        conv(PatientWeight="700")


def test_weight_override_supplies_missing_weight():
    c = conv(PatientWeight=None, overrides=SUVOverrides(weight_kg=70.0))
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert c.audit.inputs["weight_kg"] == {"value": 70.0, "source": "user override"}


@pytest.mark.parametrize("dose", ["0", "-5"])
def test_refuses_zero_or_negative_dose(dose):
    with pytest.raises(SUVError, match=r"RadionuclideTotalDose \(0018,1074\)"):
        conv(radiopharm=dict(RadionuclideTotalDose=dose))


def test_refuses_missing_dose():
    with pytest.raises(SUVError, match=r"injected dose missing: RadionuclideTotalDose \(0018,1074\)"):
        conv(radiopharm=dict(RadionuclideTotalDose=None))


def test_refuses_weight_that_differs_between_instances():
    with pytest.raises(SUVError, match=r"PatientWeight \(0010,1030\) differs between instances"):
        conv(per_instance=lambda k, ds: setattr(ds, "PatientWeight", "71" if k == 1 else "70"))


# ------------------------------------------------------------------------------------------------------------
# Units


@pytest.mark.parametrize("units", ["PROPCPS", "1CM", "PROPCNTS"])
def test_refuses_non_quantitative_units(units):
    with pytest.raises(SUVError, match=rf"Units \(0054,1001\) {units} cannot be converted"):
        conv(Units=units)


def test_refuses_unknown_units():
    with pytest.raises(SUVError, match=r"Units \(0054,1001\) 'FOO' is not a known PET unit"):
        conv(Units="FOO")


PHILIPS = (0x7053, 0x0010)


def test_cnts_philips_suv_scale_factor():
    c = conv(
        Units="CNTS", Manufacturer="Philips",
        private={PHILIPS: ("LO", "Philips PET Private Group"), (0x7053, 0x1000): ("DS", "0.0005"),
                 (0x7053, 0x1009): ("DS", "0.5")},
    )
    assert c.factor == pytest.approx(0.0005, rel=1e-12)
    assert "SUV Scale Factor (7053,1000)" in decisions(c)


def test_cnts_philips_activity_concentration_factor():
    c = conv(
        Units="CNTS", Manufacturer="Philips",
        private={PHILIPS: ("LO", "Philips PET Private Group"), (0x7053, 0x1009): ("DS", "0.5")},
    )
    assert c.factor == pytest.approx(0.5 * exact_base_factor(), rel=1e-12)
    assert "Activity Concentration Scale Factor" in decisions(c)


def test_cnts_suv_factor_zero_falls_back_to_activity_factor():
    c = conv(
        Units="CNTS",
        private={PHILIPS: ("LO", "Philips PET Private Group"), (0x7053, 0x1000): ("DS", "0.0"),
                 (0x7053, 0x1009): ("DS", "0.5")},
    )
    assert c.factor == pytest.approx(0.5 * exact_base_factor(), rel=1e-12)


def test_cnts_private_block_of_another_creator_is_ignored():
    with pytest.raises(SUVError, match=r"Units CNTS without Philips SUV Scale Factor \(7053,1000\)"):
        conv(Units="CNTS", private={PHILIPS: ("LO", "SOMEONE ELSE"), (0x7053, 0x1000): ("DS", "0.0005")})


def test_cnts_without_creator_needs_philips_manufacturer():
    with pytest.raises(SUVError, match=r"7053,1000"):
        conv(Units="CNTS", Manufacturer="Acme", private={(0x7053, 0x1000): ("DS", "0.0005")})
    c = conv(Units="CNTS", Manufacturer="Philips Medical Systems", private={(0x7053, 0x1000): ("DS", "0.0005")})
    assert c.factor == pytest.approx(0.0005) and "private creator (7053,0010) is absent" in decisions(c)


def test_refuses_cnts_without_philips_factors():
    with pytest.raises(SUVError, match=r"Units CNTS without Philips SUV Scale Factor \(7053,1000\) or Activity"):
        conv(Units="CNTS")


def test_gml_suv_types():
    assert conv(Units="GML").factor == 1.0
    assert conv(Units="GML", SUVType="BW").factor == 1.0
    # Stored SUVlbm (James-128, male): SUVbw = stored * W / LBM.
    c = conv(Units="GML", SUVType="LBMJAMES128", PatientSex="M")
    assert c.factor == pytest.approx(70.0 / body_size.lbm_james_kg(70.0, 1.75, "M"), rel=1e-12)
    # Stored IBW with sex O: mean of male and female IBW.
    ibw_o = 0.5 * (48.0 + 1.06 * 23 + 45.5 + 0.91 * 23)
    assert conv(Units="GML", SUVType="IBW").factor == pytest.approx(70.0 / ibw_o, rel=1e-12)
    # Stored LBM ("LBM" term, James with 120 for men).
    c = conv(Units="GML", SUVType="LBM", PatientSex="M")
    assert c.factor == pytest.approx(70.0 / body_size.lbm_james_kg(70.0, 1.75, "M", 120), rel=1e-12)


def test_gml_same_normalisation_needs_no_body_inputs():
    c = conv(Units="GML", SUVType="LBMJAMES128", PatientWeight=None, PatientSize=None,
             normalization="lbm-james128")
    assert c.factor == 1.0


def test_refuses_gml_with_bsa_type():
    with pytest.raises(SUVError, match=r"SUVType \(0054,1006\) 'BSA' does not fit Units GML"):
        conv(Units="GML", SUVType="BSA")


def test_cm2ml_is_bsa():
    c = conv(Units="CM2ML", SUVType="BSA")
    assert c.factor == pytest.approx(70_000.0 / (body_size.bsa_dubois_m2(70.0, 1.75) * 1e4), rel=1e-12)
    assert conv(Units="CM2ML", SUVType="BSA", normalization="bsa").factor == 1.0


def test_cps_with_and_without_dcal():
    voxel_ml = 4.0 * 4.0 * 4.0 / 1000.0
    c = conv(Units="CPS", CorrectedImage=["ATTN", "DECY", "DCAL"])
    assert c.factor == pytest.approx(exact_base_factor() / voxel_ml, rel=1e-12)
    c = conv(Units="CPS", CorrectedImage=["ATTN", "DECY"], DoseCalibrationFactor="2.5")
    assert c.factor == pytest.approx(2.5 * exact_base_factor() / voxel_ml, rel=1e-12)
    with pytest.raises(SUVError, match=r"DoseCalibrationFactor \(0054,1322\)"):
        conv(Units="CPS", CorrectedImage=["ATTN", "DECY"])


def test_refuses_start_without_decy_and_without_attn():
    with pytest.raises(SUVError, match=r"lacks DECY"):
        conv(CorrectedImage=["ATTN", "NORM"])
    with pytest.raises(SUVError, match=r"lacks ATTN"):
        conv(CorrectedImage=["DECY", "NORM"])
    assert conv(CorrectedImage=["ATTN", "DECAY"]).factor == pytest.approx(exact_base_factor())


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


def test_start_datetime_preferred_over_start_time():
    c = conv(radiopharm=dict(RadiopharmaceuticalStartTime="103000"))
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert "StartDateTime is used" in decisions(c)


def test_refuses_injection_after_scan():
    with pytest.raises(SUVError, match=r"injection time 2025-01-01T12:00:00 is after the scan time"):
        conv(radiopharm=dict(RadiopharmaceuticalStartDateTime="20250101120000"))


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


# ------------------------------------------------------------------------------------------------------------
# Half-life and radionuclide


def test_half_life_from_radionuclide_code():
    c = conv(radiopharm=dict(RadionuclideHalfLife=None))
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert "table" in c.audit.inputs["half_life_s"]["source"]


def test_half_life_ga68_from_code_and_name():
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "C-131A3", "SRT", "^68^Gallium"
    c = conv(radiopharm=dict(RadionuclideHalfLife=None, RadionuclideCodeSequence=Sequence([code])))
    assert c.audit.inputs["half_life_s"]["value"] == pytest.approx(4062.6)
    # The code C-131A1 is ^66^Gallium in DICOM; with meaning ^68^Gallium it is ambiguous unless a name decides.
    code.CodeValue = "C-131A1"
    with pytest.raises(SUVError, match=r"half-life missing"):
        conv(radiopharm=dict(RadionuclideHalfLife=None, RadionuclideCodeSequence=Sequence([code]),
                             Radiopharmaceutical="PSMA"))
    c = conv(radiopharm=dict(RadionuclideHalfLife=None, RadionuclideCodeSequence=Sequence([code]),
                             Radiopharmaceutical="Ga68-Pentixafor"))
    assert c.audit.inputs["radionuclide"]["value"] == "Ga-68"


def test_refuses_half_life_contradicting_the_code():
    with pytest.raises(SUVError, match=r"RadionuclideHalfLife \(0018,1075\) 109.77 s contradicts the radionuclide F-"):
        conv(radiopharm=dict(RadionuclideHalfLife="109.77"))


def test_refuses_unknown_half_life():
    with pytest.raises(SUVError, match=r"half-life missing"):
        conv(radiopharm=dict(RadionuclideHalfLife=None, RadionuclideCodeSequence=None, Radiopharmaceutical="XYZ"))
    c = conv(radiopharm=dict(RadionuclideHalfLife=None, RadionuclideCodeSequence=None),
             overrides=SUVOverrides(half_life_s=6586.2))
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)


# ------------------------------------------------------------------------------------------------------------
# Normalisations, sex, audit


def test_lbm_sex_o_is_mean_of_male_and_female():
    m = conv(PatientSex="M", normalization="lbm").factor
    f = conv(PatientSex="F", normalization="lbm").factor
    o = conv(PatientSex="O", normalization="lbm").factor
    assert o == pytest.approx(0.5 * (m + f), rel=1e-12)


def test_refuses_lbm_without_sex():
    with pytest.raises(SUVError, match=r"PatientSex \(0010,0040\)"):
        conv(PatientSex=None, normalization="lbm")


def test_refuses_james_lbm_beyond_its_validity():
    with pytest.raises(SUVError, match=r"Janmahasatian"):
        conv(PatientSex="F", PatientWeight="200", PatientSize="1.50", normalization="lbm-james128")
    assert conv(PatientSex="F", PatientWeight="200", PatientSize="1.50", normalization="lbm").factor > 0


def test_normalization_names():
    assert normalization_name("SUVbw") == "bw"
    assert normalization_name("lbm_james128") == "lbm-james128"
    with pytest.raises(SUVError, match="unknown SUV normalization"):
        normalization_name("lean")


def test_audit_record_is_json_and_readable():
    c = conv(radiopharm=dict(RadionuclideTotalDose="368.08"))
    record = c.to_dict()
    json.dumps(record)
    assert record["factor"] == pytest.approx(exact_base_factor())
    assert record["units"] == "{SUVbw}g/ml" and record["suv_type"] == "BW"
    assert record["scan_datetime"] == "2025-01-01T11:00:00"
    assert record["injection_datetime"] == "2025-01-01T10:00:00"
    assert record["decay_correction"] == "START"
    assert record["inputs"]["weight_kg"]["source"] == "PatientWeight (0010,1030)"
    text = str(c.audit)
    assert "PatientWeight (0010,1030)" in text and "Decisions:" in text and "Factor:" in text


def test_volume_already_in_suv():
    c = suv_conversion_for_suv_volume("{SUVbw}g/ml")
    assert c.factor == 1.0 and c.normalization == "bw"
    assert "used as is" in decisions(c)
    assert suv_conversion_for_suv_volume("{SUVlbm}g/ml").normalization == "lbm-unspecified"
    with pytest.raises(SUVError, match=r"not SUV units"):
        suv_conversion_for_suv_volume("Bq/ml")


# ------------------------------------------------------------------------------------------------------------
# Refusals through the series reader


def test_refuses_empty_folder(tmp_path):
    with pytest.raises(DicomSeriesError, match=r"folder is empty"):
        read_pet_volume(tmp_path)


def test_refuses_folder_without_dicom(tmp_path):
    (tmp_path / "notes.txt").write_text("not DICOM")
    with pytest.raises(DicomSeriesError, match=r"no DICOM files"):
        read_pet_volume(tmp_path)


def test_refuses_non_pet_series(tmp_path):
    stored = np.zeros((3, 4, 4), np.int16)
    write_series(tmp_path, stored, [1.0] * 3, Modality="CT", SOPClassUID="1.2.840.10008.5.1.4.1.1.2")
    with pytest.raises(DicomSeriesError, match=r"no PET series \(Modality PT\).*found CT \(1 series\)"):
        read_pet_volume(tmp_path)


def test_reader_reports_suv_errors(tmp_path):
    stored = np.ones((3, 4, 4), np.int16)
    write_series(tmp_path, stored, [1.0] * 3, PatientWeight=None)
    with pytest.raises(SUVError, match=r"PatientWeight \(0010,1030\)"):
        read_pet_volume(tmp_path)


def test_overrides_win_over_unusable_header_values():
    from pydicom.dataset import Dataset

    second = Dataset()
    second.RadionuclideTotalDose = "100"
    c = conv(
        PatientWeight=["70", "71"],
        overrides=SUVOverrides(weight_kg=70.0, dose_bq=368.08e6, half_life_s=6586.2,
                               injection_datetime=datetime(2025, 1, 1, 10)),
        per_instance=lambda k, ds: ds.RadiopharmaceuticalInformationSequence.append(second),
    )
    assert c.factor == pytest.approx(exact_base_factor(), rel=1e-12)
    assert "user override is used" in decisions(c)
    with pytest.raises(SUVError, match=r"RadiopharmaceuticalInformationSequence \(0054,0016\) has 2 items"):
        conv(per_instance=lambda k, ds: ds.RadiopharmaceuticalInformationSequence.append(second))
