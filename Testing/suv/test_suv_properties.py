"""Property: whatever happens to the headers, ``compute_suv_conversion`` returns finite positive factors (one per
instance) or raises :class:`SUVError` - never another exception, never a NaN, zero or negative factor.

Headers start from valid series of several kinds (BQML/START, ADMIN, NONE, GML, CNTS, CPS, re-created series
with frame times, GE private time) and are mutated by hypothesis: attributes dropped, blanked, or replaced by
odd text, binary junk or numbers of any magnitude, in one instance or in all. The replacement values are
stored undecoded (as pydicom keeps values read from a file), so malformed values reach the reader exactly as
they would from disk.
"""

from __future__ import annotations

import numpy as np
import pytest
from dicom_builders import series_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

from PentixaforQuantLib.errors import SUVError
from PentixaforQuantLib.suv import NORMALIZATIONS, SUVOverrides, compute_suv_conversion

PHILIPS = {(0x7053, 0x0010): ("LO", "Philips PET Private Group"), (0x7053, 0x1000): ("DS", "0.0005"),
           (0x7053, 0x1009): ("DS", "0.5")}
GE = {(0x0009, 0x0010): ("LO", "GEMS_PETD_01"), (0x0009, 0x100D): ("DT", "20250101110000")}

BASES = {
    "bqml": dict(),
    "admin": dict(DecayCorrection="ADMIN"),
    "none": dict(DecayCorrection="NONE", CorrectedImage=["ATTN", "NORM"]),
    "gml": dict(Units="GML", SUVType="LBMJAMES128", PatientSex="M"),
    "cm2ml": dict(Units="CM2ML", SUVType="BSA"),
    "cnts": dict(Units="CNTS", Manufacturer="Philips", private=PHILIPS),
    "cps": dict(Units="CPS", CorrectedImage=["ATTN", "DECY"], DoseCalibrationFactor="2.0"),
    "late_series": dict(SeriesTime="113000", AcquisitionTime="110230", ActualFrameDuration=603000,
                        FrameReferenceTime="450000"),
    "ge": dict(SeriesTime="113000", AcquisitionTime="110500", Manufacturer="GE MEDICAL SYSTEMS", private=GE),
}

TOP = [
    "Units", "DecayCorrection", "CorrectedImage", "SUVType", "PatientWeight", "PatientSize", "PatientSex",
    "RescaleSlope", "RescaleIntercept", "SeriesDate", "SeriesTime", "AcquisitionDate", "AcquisitionTime",
    "AcquisitionDateTime", "FrameReferenceTime", "ActualFrameDuration", "TimezoneOffsetFromUTC", "Manufacturer",
    "PixelSpacing", "SliceThickness", "DoseCalibrationFactor", "RadiopharmaceuticalInformationSequence",
    "SOPInstanceUID",
]
RADIOPHARM = [
    "RadiopharmaceuticalStartTime", "RadiopharmaceuticalStartDateTime", "RadionuclideTotalDose",
    "RadionuclideHalfLife", "Radiopharmaceutical", "RadionuclideCodeSequence",
]
CODE = ["CodeValue", "CodeMeaning"]
PRIVATE = [(0x7053, 0x1000), (0x7053, 0x1009), (0x7053, 0x0010), (0x0009, 0x100D), (0x0009, 0x0010)]

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).encode()),
    st.integers(-10**12, 10**12).map(lambda n: str(n).encode()),
    st.sampled_from([b"0", b"-0", b"1e309", b"NaN", b"inf", b" 70 ", b"70\\71", b"1e-300", b"368.08", b"70000",
                     b"175", b"0.0005", b"4057.7", b"109.77", b"-1"]),
)
texts = st.one_of(
    st.text(max_size=24).map(lambda t: t.encode("utf-8", "replace")),
    st.binary(max_size=16),
    st.sampled_from([b"BQML", b"CNTS", b"GML", b"CM2ML", b"CPS", b"PROPCPS", b"1CM", b"START", b"ADMIN",
                     b"NONE", b"ATTN\\DECY", b"DECY", b"M", b"F", b"O", b"LBM", b"IBW", b"BSA", b"BW",
                     b"20250101", b"20250102", b"235959.999999", b"240000", b"110000.5", b"20250101100000+0100",
                     b"+0100", b"-1400", b"C-131A1", b"^68^Gallium", b"Ga68", b"C-111A1", b"GEMS_PETD_01",
                     b"Philips PET Private Group"]),
)
values = st.one_of(st.none(), st.just(b""), numbers, texts)  # None = delete the attribute


def _set_raw(ds, tag, value: bytes | None) -> None:
    tag = Tag(tag)
    if value is None:
        if tag in ds:
            del ds[tag]
        return
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        vr = "UN" if tag.element > 0xFF else "LO"
    if len(value) % 2:
        value += b" "
    ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)


@st.composite
def mutation(draw):
    where = draw(st.sampled_from(["top", "radiopharm", "code", "private"]))
    if where == "top":
        name = draw(st.sampled_from(TOP))
    elif where == "radiopharm":
        name = draw(st.sampled_from(RADIOPHARM))
    elif where == "code":
        name = draw(st.sampled_from(CODE))
    else:
        name = draw(st.sampled_from(PRIVATE))
    return where, name, draw(values), draw(st.one_of(st.none(), st.integers(0, 2)))  # instance or all


def _apply(datasets, where, name, value, instance):
    for n, ds in enumerate(datasets):
        if instance is not None and n != instance:
            continue
        if where in ("top", "private"):
            target = ds
        else:
            try:  # an earlier mutation may have made the sequence unreadable: then there is nothing to mutate
                seq = ds.get("RadiopharmaceuticalInformationSequence")
                target = seq[0] if seq else None
                if target is not None and where == "code":
                    codes = target.get("RadionuclideCodeSequence")
                    target = codes[0] if codes else None
            except Exception:  # noqa: BLE001
                target = None
            if target is None:
                continue
        tag = name if isinstance(name, tuple) else tag_for_keyword(name)
        _set_raw(target, tag, value)


overrides = st.one_of(
    st.none(),
    st.builds(
        SUVOverrides,
        weight_kg=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
        height_m=st.one_of(st.none(), st.floats(0.1, 3.0)),
        sex=st.one_of(st.none(), st.sampled_from(["M", "F", "O", "X"])),
        dose_bq=st.one_of(st.none(), st.floats(-1e9, 1e10)),
        half_life_s=st.one_of(st.none(), st.floats(-10.0, 1e6)),
    ),
)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(sorted(BASES)),
    mutations=st.lists(mutation(), min_size=1, max_size=4),
    normalization=st.sampled_from(sorted(NORMALIZATIONS)),
    user=overrides,
)
def test_conversion_gives_finite_positive_factors_or_suv_error(base, mutations, normalization, user):
    datasets = series_headers(3, **BASES[base])
    for where, name, value, instance in mutations:
        _apply(datasets, where, name, value, instance)
    try:
        conversion = compute_suv_conversion(datasets, normalization=normalization, overrides=user)
    except SUVError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return
    factors = np.asarray(conversion.factors)
    assert factors.shape == (3,)
    assert np.all(np.isfinite(factors)) and np.all(factors > 0)
    assert conversion.units == NORMALIZATIONS[normalization].units
    conversion.to_dict()
    str(conversion.audit)


@pytest.mark.parametrize("base", sorted(BASES))
@pytest.mark.parametrize("normalization", sorted(NORMALIZATIONS))
def test_every_base_series_converts(base, normalization):
    """The unmutated starting points are valid (so the property test explores near valid headers)."""
    conversion = compute_suv_conversion(series_headers(3, **BASES[base]), normalization=normalization)
    assert np.all(conversion.factors > 0)
