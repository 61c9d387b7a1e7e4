"""Only positron emitters make SUVs (``suv/positron.py``): a radionuclide without positron decay is refused by its
code, by its name or by a positron fraction of zero, and ``accept_implausible`` never lifts that refusal."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from dicom_builders import conv, exact_base_factor, write_series
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from PentixaforQuantLib.errors import SUVError
from PentixaforQuantLib.suv import SUVOverrides
from PentixaforQuantLib.suv.positron import NON_POSITRON_EMITTERS, identify_non_positron_emitter

ACCEPT = SUVOverrides(accept_implausible="the site says it is right", half_life_s=574300.0)


def _code(value, meaning, scheme="SCT"):
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
    return Sequence([code])


def test_lu177_by_code_is_refused_even_with_accept_implausible():
    lu = dict(RadionuclideHalfLife="574300", RadionuclideCodeSequence=_code("447553000", "^177^Lutetium"),
              Radiopharmaceutical="PSMA-617")
    for overrides in (None, ACCEPT):
        with pytest.raises(SUVError, match=r"RadionuclideCodeSequence \(0054,0300\) code '447553000' "
                                           r"\('\^177\^Lutetium'\) names Lu-177, which is not a positron emitter"):
            conv(radiopharm=lu, overrides=overrides)


@pytest.mark.parametrize("name, symbol", [
    ("Lu-177 PSMA-617", "Lu-177"), ("177Lu-DOTATATE", "Lu-177"), ("Lutetium-177", "Lu-177"),
    ("Tc-99m MDP", "Tc-99m"), ("99mTc-HDP", "Tc-99m"), ("I-131", "I-131"), ("In111-pentetreotide", "In-111"),
    ("Ga-67 citrate", "Ga-67"),
])
def test_non_positron_emitter_by_name_is_refused(name, symbol):
    with pytest.raises(SUVError, match=rf"Radiopharmaceutical \(0018,0031\) '{name}' names {symbol}, which is not"):
        conv(radiopharm=dict(RadionuclideCodeSequence=None, Radiopharmaceutical=name), overrides=ACCEPT)


def test_positron_fraction_zero_is_refused():
    with pytest.raises(SUVError, match=r"RadionuclidePositronFraction \(0018,1076\) is 0"):
        conv(radiopharm=dict(RadionuclidePositronFraction="0.0"), overrides=ACCEPT)


def test_positron_emitters_are_not_refused():
    """F-18 (the default header), Ga-68 by name next to a Lu-177 mention that the code overrules, I-124 and Y-90
    (a PET radionuclide of CID 4020), and a positron fraction above zero."""
    assert conv(radiopharm=dict(RadionuclidePositronFraction="0.967")).factor == pytest.approx(
        exact_base_factor(), rel=1e-12)
    item = Dataset()
    item.RadionuclideCodeSequence = _code("C-111A1", "^18^Fluorine", "SRT")
    item.Radiopharmaceutical = "FDG before Lu-177 therapy"
    assert identify_non_positron_emitter(item) == (None, "")
    for text in ("I-124 MIBG", "124I", "Y-90 microspheres", "Ga68-Pentixafor", "68Ga-PSMA", "Cu-64"):
        item = Dataset()
        item.Radiopharmaceutical = text
        assert identify_non_positron_emitter(item) == (None, ""), text


def test_every_listed_code_is_recognised():
    for nuclide in NON_POSITRON_EMITTERS:
        for code in nuclide.codes:
            item = Dataset()
            item.RadionuclideCodeSequence = _code(code, nuclide.element)
            assert identify_non_positron_emitter(item)[0] is nuclide


def test_command_line_refuses_a_lu177_series_with_accept_implausible(tmp_path):
    folder = tmp_path / "lu177"
    write_series(folder, np.full((3, 4, 4), 100, np.int16), [1.0] * 3, radiopharm=dict(
        RadionuclideHalfLife="574300", RadionuclideCodeSequence=_code("447553000", "^177^Lutetium"),
        Radiopharmaceutical="Lu-177 PSMA-617"))
    done = subprocess.run([sys.executable, "-m", "PentixaforQuantLib", "suv", str(folder), "--accept-implausible",
                           "checked by the physicist"], capture_output=True, text=True)
    assert done.returncode != 0
    assert "Lu-177, which is not a positron emitter" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
