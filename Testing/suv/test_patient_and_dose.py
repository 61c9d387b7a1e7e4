"""Patient inputs and the injected dose (``suv/patient.py``, ``suv/injected_dose.py``).

The default header (``dicom_builders.pet_header``) is the IBSI-SUV baseline: BQML, START, F-18, 368.08 MBq at
10:00, scan 11:00, 70 kg, so its SUVbw factor is 70 000 g / 252.0 MBq = 1/3600 (g/mL per Bq/mL).
"""

from __future__ import annotations

import pytest
from dicom_builders import conv, decisions, exact_base_factor

from PentixaforQuantLib.errors import SUVError
from PentixaforQuantLib.suv import SUVOverrides


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
