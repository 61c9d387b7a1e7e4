"""The stated range of every numeric protocol parameter, checked before anything is measured.

One table serves the Python API (``ProtocolParameters`` checks itself), the Logic and the command line (which
names its own option, e.g. ``--peak-radius-mm``, and shows the value in the option's unit). A value outside its
range, NaN or infinite is refused with :class:`~..errors.ParameterError` naming the parameter, the value and the
range, before it can cost memory (a 500 mm SUVpeak sphere) or give a meaningless VOI (a 0 % isocontour).

The ranges are declared with the inputs (``inputs.py``, the one table of every user input). The limits are wide
enough for every published variant and narrow enough to exclude unit mistakes:

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

from ..errors import ParameterError
from ..inputs import INPUTS, PROTOCOL, ValueRange, inputs_of

__all__ = ["ValueRange", "PROTOCOL_RANGES", "check_value", "check_choice", "check_protocol_parameters"]


#: Parameter (``ProtocolParameters`` attribute, or ``isocontour.<attribute>``) -> its range, from the table of inputs.
PROTOCOL_RANGES: dict[str, ValueRange] = {i.key: i.range for i in inputs_of(PROTOCOL) if i.range is not None}


def check_choice(name: str, value) -> None:
    """Refuse ``value`` unless it is one of the choices of the input ``name`` (:data:`~..inputs.INPUTS`)."""
    choices = INPUTS[name].choice_values
    if value not in choices:
        attribute = name.split(".")[-1]
        raise ParameterError(f"{attribute} must be {_either(choices)}, not {value!r}", field=name)


def _either(choices) -> str:
    quoted = [repr(c) if isinstance(c, str) else str(c) for c in choices]
    return " or ".join(quoted) if len(quoted) == 2 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


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
    raise ParameterError(f"{label or name} {shown}: must be {rng.describe(scale, unit)} ({rng.what})", field=name)


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
                             f"(method is {iso.method!r}); drop it or choose A50", field="isocontour.background_suv")
