"""The units path (``suv/units.py``): rescale slope and intercept, Units BQML/CNTS/GML/CM2ML/CPS, refused units.

The default header (``dicom_builders.pet_header``) is the IBSI-SUV baseline: BQML, START, F-18, 368.08 MBq at
10:00, scan 11:00, 70 kg, so its SUVbw factor is 70 000 g / 252.0 MBq = 1/3600 (g/mL per Bq/mL).
"""

from __future__ import annotations

import pytest
from dicom_builders import conv, decisions, exact_base_factor

from PentixaforQuantLib.errors import SUVError
from PentixaforQuantLib.suv import body_size


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
