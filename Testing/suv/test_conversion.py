"""The SUV conversion as a whole (``suv/conversion.py``, ``normalizations.py``, ``audit.py``): reference
constants, normalisations, the audit, refusals through the series reader. Synthetic headers, no mocks.

The default header (``dicom_builders.pet_header``) is the IBSI-SUV baseline: BQML, START, F-18, 368.08 MBq at
10:00, scan 11:00, 70 kg, so its SUVbw factor is 70 000 g / 252.0 MBq = 1/3600 (g/mL per Bq/mL).
Reference numbers: QIBA FDG-PET DRO constants and calculate-suv vectors (shared reference, sections 1.2, 2.5).
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest
from dicom_builders import BASE_FACTOR, conv, decisions, exact_base_factor, pet_header, write_series

from PentixaforQuantLib.errors import DicomSeriesError, SUVError
from PentixaforQuantLib.suv import (
    SUVOverrides,
    body_size,
    compute_suv_conversion,
    normalization_name,
    suv_conversion_for_suv_volume,
)
from PentixaforQuantLib.suv.series_reader import read_pet_volume


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
        normalization=normalization,
        overrides=SUVOverrides(dose_bq=100.0, accept_implausible="calculate-suv test vectors use 100 Bq"),
    )
    assert c.factor == pytest.approx(expected, abs=1e-3)
    assert c.units == units
    assert c.audit.inputs["dose_bq"]["source"] == "user override"
    # 100 Bq is far below any injection: accepted only with the stated reason, which the warning quotes.
    assert any("100 Bq" in w and "calculate-suv test vectors" in w for w in c.audit.warnings)

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
