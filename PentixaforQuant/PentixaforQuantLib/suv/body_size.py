"""Body-size quantities used to normalise SUV: lean body mass, body surface area and ideal body weight.

All formulas take the weight in kg and the height in **metres** (as PatientSize (0010,1020) stores it) and
convert internally where a formula is defined with centimetres. Sex is ``"M"`` or ``"F"``; ``"O"`` (other) gives
the mean of the male and the female value, the convention of the IBSI-SUV manual (no consensus exists).

Sources (formulas only; the DICOM SUVType (0054,1006) term is given in brackets):

* James-128 lean body mass [LBMJAMES128] - James WPT, *Research on obesity*, HMSO 1976, as used by the QIBA
  FDG-PET DRO, 3D Slicer and the IBSI-SUV manual: male 1.10 W - 128 (W/H)^2, female 1.07 W - 148 (W/H)^2,
  H in cm.
* Morgan / "120" lean body mass [LBM] - the variant of DICOM's plain "LBM" term in the IBSI-SUV manual:
  male 1.10 W - 120 (W/H)^2, female as James.
* Janmahasatian lean body mass [LBMJANMA] - Janmahasatian S et al., Clin Pharmacokinet 2005;44:1051-65:
  male 9270 W / (6680 + 216 BMI), female 9270 W / (8780 + 244 BMI), BMI = W / H^2 with H in m.
* Du Bois body surface area [BSA] - Du Bois D, Du Bois EF, Arch Intern Med 1916;17:863-71:
  0.007184 W^0.425 H^0.725 m^2, H in cm.
* Ideal body weight [IBW] - Devine BJ, Drug Intell Clin Pharm 1974;8:650-5, metric form as in the IBSI-SUV
  manual: male 48.0 + 1.06 (H - 152), female 45.5 + 0.91 (H - 152), H in cm.

The James formulas stop rising with weight at W = 1.10 H^2 / 256 (male) or 1.07 H^2 / 296 (female) and then fall
towards zero; beyond that weight they no longer describe lean mass, so :func:`lbm_james_kg` refuses there and
points to Janmahasatian (Tahari AK et al., J Nucl Med 2014;55:1481-4 recommend Janmahasatian for SUL).
"""

from __future__ import annotations

import math

from ..errors import SUVError

__all__ = [
    "lbm_james_kg",
    "lbm_janmahasatian_kg",
    "bsa_dubois_m2",
    "ibw_kg",
    "SEXES",
]

#: Values of PatientSex (0010,0040) understood here.
SEXES = ("M", "F", "O")


def _check(weight_kg: float | None, height_m: float | None, what: str) -> None:
    if weight_kg is not None and not (math.isfinite(weight_kg) and weight_kg > 0):
        raise SUVError(f"{what} needs a positive weight; got {weight_kg!r} kg", field="weight_kg")
    if height_m is not None and not (math.isfinite(height_m) and height_m > 0):
        raise SUVError(f"{what} needs a positive height; got {height_m!r} m", field="height_m")


def _by_sex(sex: str, male: float, female: float) -> float:
    if sex == "M":
        return male
    if sex == "F":
        return female
    if sex == "O":
        return 0.5 * (male + female)
    raise SUVError(f"PatientSex (0010,0040) must be M, F or O for this normalisation; got {sex!r}", field="sex")


def lbm_james_kg(weight_kg: float, height_m: float, sex: str, male_coefficient: float = 128.0) -> float:
    """Lean body mass in kg by James' formula.

    ``male_coefficient`` is 128 for DICOM LBMJAMES128 (the standard form) or 120 for the variant that the
    IBSI-SUV manual attaches to DICOM's plain "LBM" term. The female formula is the same for both.

    Raises
    ------
    SUVError
        When the weight lies beyond the maximum of the formula (where it decreases with weight and no longer
        describes lean mass) or the result is not positive.
    """
    _check(weight_kg, height_m, "James lean body mass")
    h_cm = 100.0 * height_m
    w = weight_kg

    def one(s: str) -> float:
        a, b = (1.10, male_coefficient) if s == "M" else (1.07, 148.0)
        w_max = a * h_cm**2 / (2.0 * b)
        if w > w_max:
            raise SUVError(
                f"James lean body mass is not valid for weight {w:g} kg at height {height_m:g} m (sex {s}): the "
                f"formula decreases above {w_max:.1f} kg; use the Janmahasatian formula (normalization 'lbm')",
                field="weight_kg",
            )
        return a * w - b * (w / h_cm) ** 2

    value = _by_sex(sex, one("M") if sex in ("M", "O") else 0.0, one("F") if sex in ("F", "O") else 0.0)
    if not value > 0:
        raise SUVError(f"James lean body mass is not positive ({value:g} kg) for {w:g} kg, {height_m:g} m",
                       field="height_m")
    return value


def lbm_janmahasatian_kg(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass in kg by Janmahasatian et al. (2005); BMI = weight / height^2 (kg/m^2)."""
    _check(weight_kg, height_m, "Janmahasatian lean body mass")
    bmi = weight_kg / height_m**2
    male = 9270.0 * weight_kg / (6680.0 + 216.0 * bmi)
    female = 9270.0 * weight_kg / (8780.0 + 244.0 * bmi)
    return _by_sex(sex, male, female)


def bsa_dubois_m2(weight_kg: float, height_m: float) -> float:
    """Body surface area in m^2 by Du Bois and Du Bois (1916): 0.007184 W^0.425 H^0.725, H in cm."""
    _check(weight_kg, height_m, "Du Bois body surface area")
    return 0.007184 * weight_kg**0.425 * (100.0 * height_m) ** 0.725


def ibw_kg(height_m: float, sex: str) -> float:
    """Ideal body weight in kg (Devine 1974, metric form): M 48.0 + 1.06 (H - 152), F 45.5 + 0.91 (H - 152).

    Unlike 3D Slicer's SUV factor calculator, the result is not capped at the actual weight.

    Raises
    ------
    SUVError
        When the result is not positive (heights below about 1.07 m).
    """
    _check(None, height_m, "Ideal body weight")
    h_cm = 100.0 * height_m
    value = _by_sex(sex, 48.0 + 1.06 * (h_cm - 152.0), 45.5 + 0.91 * (h_cm - 152.0))
    if not value > 0:
        raise SUVError(f"ideal body weight is not positive ({value:g} kg) for height {height_m:g} m",
                       field="height_m")
    return value
