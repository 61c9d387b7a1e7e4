"""The stated range of every numeric protocol parameter, checked before anything is measured.

One table serves the Python API (``ProtocolParameters`` checks itself), the Logic and the command line (which
names its own option, e.g. ``--peak-radius-mm``, and shows the value in the option's unit). A value outside its
range, NaN or infinite is refused with :class:`~..errors.ParameterError` naming the parameter, the value and the
range, before it can cost memory (a 500 mm SUVpeak sphere) or give a meaningless VOI (a 0 % isocontour).

The limits are wide enough for every published variant and narrow enough to exclude unit mistakes:

- isocontour threshold 10-90 % of SUVmax: published isocontours use 40-75 % (Buck et al. 2022: 40 %; EANM:
  41 %, A50); below 10 % the component is the body, above 90 % it is a few voxels of noise;
- peak search radius up to 50 mm: a lesion search, not a whole-body search;
- lesion size limit up to 10 000 mL (10 L): beyond any lesion;
- SUVpeak sphere radius up to 15 mm: the definitions use 6.0 or 6.2035 mm (1 mL), PERCIST allows up to 1.2 cm
  diameter; 15 mm is a 14 mL sphere;
- blood-pool and marrow sphere diameters up to 40 mm: the adult aortic arch lumen and a vertebral body are
  25-40 mm across; a larger sphere measures the wall or the cortex;
- background SUV (A50) from 0 to 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ParameterError

__all__ = ["ValueRange", "PROTOCOL_RANGES", "check_value", "check_protocol_parameters"]


@dataclass(frozen=True)
class ValueRange:
    """A closed or half-open interval of finite numbers, with its unit and what the value is."""

    low: float
    high: float
    unit: str = ""
    what: str = ""
    low_inclusive: bool = True
    high_inclusive: bool = True

    def contains(self, value) -> bool:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return False
        if not math.isfinite(v) or isinstance(value, bool):
            return False
        above = v >= self.low if self.low_inclusive else v > self.low
        below = v <= self.high if self.high_inclusive else v < self.high
        return above and below

    def describe(self, scale: float = 1.0, unit: str | None = None) -> str:
        """``"above 0 and at most 15 mm"``; ``scale`` and ``unit`` express the range in another unit (e.g. %)."""
        unit = self.unit if unit is None else unit
        lo, hi = _number(self.low * scale), _number(self.high * scale)
        first = f"from {lo}" if self.low_inclusive else f"above {lo}"
        last = f"to {hi}" if self.high_inclusive else f"below {hi}"
        if not self.low_inclusive and self.high_inclusive:
            last = f"and at most {hi}"
        text = f"{first} {last}"
        return f"{text} {unit}".rstrip()


def _number(x: float) -> str:
    """``10`` for 10.000000000000002 (0.1 x 100), ``4294967295``, ``6.2035``."""
    x = round(float(x), 9)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:g}"


#: Parameter (``ProtocolParameters`` attribute, or ``isocontour.<attribute>``) -> its range.
PROTOCOL_RANGES: dict[str, ValueRange] = {
    "isocontour.threshold_fraction": ValueRange(0.10, 0.90, "", "isocontour threshold"),
    "isocontour.search_radius_mm": ValueRange(0.0, 50.0, "mm", "peak search radius around the click",
                                              low_inclusive=False),
    "isocontour.max_volume_ml": ValueRange(0.0, 10000.0, "mL", "lesion VOI size limit", low_inclusive=False),
    "isocontour.background_suv": ValueRange(0.0, 100.0, "", "A50 background SUV"),
    "peak_radius_mm": ValueRange(0.0, 15.0, "mm", "SUVpeak sphere radius; 6.2035 mm = 1 mL", low_inclusive=False),
    "blood_pool_diameter_mm": ValueRange(0.0, 40.0, "mm", "blood-pool sphere diameter", low_inclusive=False),
    "marrow_diameter_mm": ValueRange(0.0, 40.0, "mm", "marrow sphere diameter", low_inclusive=False),
}


def check_value(name: str, value, *, label: str | None = None, scale: float = 1.0, unit: str | None = None) -> None:
    """Refuse ``value`` unless it lies in ``PROTOCOL_RANGES[name]``.

    ``label`` names the value in the message (default: the parameter name); ``scale`` and ``unit`` give the unit the
    user typed it in (``--threshold`` is in % of SUVmax: scale 100, unit "%"); ``value`` is in the parameter's unit.
    """
    rng = PROTOCOL_RANGES[name]
    if rng.contains(value):
        return
    try:
        shown = f"{float(value) * scale:g}"
    except (TypeError, ValueError):
        shown = repr(value)
    raise ParameterError(f"{label or name} {shown}: must be {rng.describe(scale, unit)} ({rng.what})")


def check_protocol_parameters(parameters) -> None:
    """Check every ranged parameter of a ``ProtocolParameters``; also refuse a background SUV without A50.

    Raises
    ------
    ParameterError
        The first parameter outside its range (NaN and infinity included), or ``background_suv`` given while the
        isocontour method is not ``"a50"`` (it would be silently unused).
    """
    iso = parameters.isocontour
    for name in PROTOCOL_RANGES:
        owner, attr = (iso, name.split(".", 1)[1]) if name.startswith("isocontour.") else (parameters, name)
        value = getattr(owner, attr, None)
        if value is None and attr == "background_suv":
            continue
        check_value(name, value)
    if iso.background_suv is not None and iso.method != "a50":
        raise ParameterError(f"background_suv {iso.background_suv:g} is used only by the A50 method "
                             f"(method is {iso.method!r}); drop it or choose A50")
