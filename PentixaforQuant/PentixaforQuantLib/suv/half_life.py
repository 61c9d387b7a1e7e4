"""The half-life of the SUV conversion: RadionuclideHalfLife cross-checked with the radionuclide, or the table."""

from __future__ import annotations

import math

from . import radionuclides
from .dicom_values import get_value, string, tag_label
from .limits import HALF_LIFE_RANGE_S, HALF_LIFE_TOLERANCE
from .plausibility import unit_hint
from .series_inputs import SeriesInputs
from ..errors import SUVError

__all__ = ["half_life_s", "identify_radionuclide"]


def half_life_s(ctx: SeriesInputs) -> float:
    if "half_life" in ctx.cache:
        return ctx.cache["half_life"]
    header = ctx.header_or_none(lambda: ctx.radiopharm_number("RadionuclideHalfLife"), ctx.ov.half_life_s)
    identified = ctx.header_or_none(lambda: identify_radionuclide(ctx), ctx.ov.half_life_s)
    nuclide, how, conflict = identified if identified is not None else (None, "", ())
    if nuclide is not None:
        ctx.record("radionuclide", nuclide.symbol, how)
    if ctx.ov.half_life_s is not None:
        try:
            t = float(ctx.ov.half_life_s)
        except (TypeError, ValueError):
            raise SUVError(f"the half-life override must be a number of seconds; got {ctx.ov.half_life_s!r}",
                           field="half_life_s") from None
        if not (math.isfinite(t) and t > 0):
            raise SUVError(f"the half-life override must be a positive number of seconds; got {ctx.ov.half_life_s!r}",
                           field="half_life_s")
        if nuclide is not None and abs(t - nuclide.half_life_s) > HALF_LIFE_TOLERANCE * nuclide.half_life_s:
            def near(v: float) -> bool:
                return abs(v - nuclide.half_life_s) <= HALF_LIFE_TOLERANCE * nuclide.half_life_s

            hint = unit_hint(t, near, [(60.0, "in minutes", "s"), (3600.0, "in hours", "s")])
            ctx.implausible(
                f"the half-life override {t:g} s contradicts {nuclide.symbol} ({nuclide.half_life_s:g} s) identified "
                f"from {how}{hint}", field="half_life_s",
            )
        elif nuclide is None:
            _check_range(ctx, t, "the half-life override")
        ctx.record("half_life_s", t, "user override")
        if header:
            ctx.note(
                f"half-life {t:g} s from user override replaces {tag_label('RadionuclideHalfLife')} {header:g}"
            )
    elif header is not None:
        if header <= 0:
            raise SUVError(f"{tag_label('RadionuclideHalfLife')} must be positive; got {header:g}", field="half_life_s")
        candidates = [nuclide] if nuclide is not None else list(conflict)
        if candidates:
            agree = [n for n in candidates if abs(header - n.half_life_s) <= HALF_LIFE_TOLERANCE * n.half_life_s]
            if not agree:
                names = " or ".join(f"{n.symbol} ({n.half_life_s:g} s)" for n in candidates)
                raise SUVError(
                    f"{tag_label('RadionuclideHalfLife')} {header:g} s contradicts the radionuclide {names} "
                    f"identified from {how}", field="half_life_s",
                )
            if nuclide is None:
                ctx.note(f"the header half-life {header:g} s fits {agree[0].symbol}; {how}")
                ctx.record("radionuclide", agree[0].symbol, f"{how}; chosen by the header half-life")
        else:
            ctx.note(f"{tag_label('RadionuclideHalfLife')} not cross-checked: {how}")
            _check_range(ctx, header, tag_label("RadionuclideHalfLife"))
        t = header
        where = tag_label("RadiopharmaceuticalInformationSequence")
        ctx.record("half_life_s", t, f"{tag_label('RadionuclideHalfLife')} in {where}")
    else:
        if nuclide is None:
            raise SUVError(
                f"half-life missing: {tag_label('RadionuclideHalfLife')} is absent and the radionuclide cannot be "
                f"identified ({how}); give the half-life as an override", field="half_life_s",
            )
        t = nuclide.half_life_s
        ctx.record("half_life_s", t, f"table value for {nuclide.symbol} (NNDC), identified from {how}")
        ctx.note(
            f"{tag_label('RadionuclideHalfLife')} absent: half-life {t:g} s of {nuclide.symbol} from the table"
        )
    ctx.cache["half_life"] = t
    return t


def _check_range(ctx: SeriesInputs, t: float, what: str) -> None:
    lo, hi = HALF_LIFE_RANGE_S
    if not lo <= t <= hi:
        hint = unit_hint(t, lambda v: lo <= v <= hi, [(60.0, "in minutes", "s"), (3600.0, "in hours", "s")])
        ctx.implausible(
            f"{what} {t:g} s is outside {lo:g} s-{hi / 86400:g} d, the half-lives of PET radionuclides{hint}",
            field="half_life_s",
        )


def identify_radionuclide(ctx: SeriesInputs) -> tuple:
    """(nuclide or None, description, conflicting candidates) from the code sequence and the names."""
    item = ctx.radiopharm_item(ctx.first)
    code_value = meaning = None
    if item is not None:
        seq = get_value(item, "RadionuclideCodeSequence")
        if seq:
            code_value = string(seq[0], "CodeValue")
            meaning = string(seq[0], "CodeMeaning")
    names = []
    if item is not None:
        for kw in ("Radiopharmaceutical", "Radionuclide"):
            text = string(item, kw)
            if text:
                names.append((kw, text))
    by_code = radionuclides.identify_from_code_value(code_value) if code_value else None
    by_meaning = radionuclides.identify_from_text(meaning) if meaning else None
    by_name = None
    name_src = None
    for kw, text in names:
        found = radionuclides.identify_from_text(text)
        if found is not None:
            by_name, name_src = found, f"{tag_label(kw)} {text!r}"
            break
    code_src = f"{tag_label('RadionuclideCodeSequence')} code {code_value!r}" if code_value else None
    if code_value and meaning:
        code_src += f" ({meaning!r})"
    if by_code is not None and by_meaning is not None and by_code != by_meaning:
        # The code value and its meaning disagree (e.g. C-131A1, which is ^66^Gallium, labelled ^68^Gallium).
        text = (
            f"{code_src}: the code value denotes {by_code.symbol} in DICOM CID 4020 but the meaning says "
            f"{by_meaning.symbol}"
        )
        if by_name in (by_code, by_meaning):
            ctx.note(f"{text}; {name_src} names {by_name.symbol}, which is used")
            return by_name, f"{code_src} and {name_src}", ()
        ctx.note(text)
        return None, text, (by_code, by_meaning)
    nuc = by_code or by_meaning
    if nuc is not None:
        if by_name is not None and by_name != nuc:
            ctx.note(f"{name_src} names {by_name.symbol} but {code_src} gives {nuc.symbol}; the code is used")
        return nuc, code_src, ()
    if by_name is not None:
        return by_name, name_src, ()
    if code_value:
        return None, f"{code_src} is not in the table of PET radionuclides", ()
    return None, "no RadionuclideCodeSequence and no radionuclide in the radiopharmaceutical name", ()
