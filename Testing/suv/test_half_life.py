"""The half-life and the radionuclide (``suv/half_life.py``).

The default header (``dicom_builders.pet_header``) is the IBSI-SUV baseline: BQML, START, F-18, 368.08 MBq at
10:00, scan 11:00, 70 kg, so its SUVbw factor is 70 000 g / 252.0 MBq = 1/3600 (g/mL per Bq/mL).
"""

from __future__ import annotations

import pytest
from dicom_builders import conv, exact_base_factor

from PentixaforQuantLib.errors import SUVError
from PentixaforQuantLib.suv import SUVOverrides


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
