"""Options shared by several commands: the SUV inputs and the protocol parameters, and their up-front checks.

Every numeric option is checked before any file is read: NaN, infinity and values outside the stated range are
refused with one line naming the option, the value and the range. The options, their defaults, choices and help
are made from the table of inputs (``inputs.py``); the protocol ranges are those the Python API checks; the SUV
overrides must be finite and positive here, and their plausibility is checked by the SUV conversion.
"""

from __future__ import annotations

import argparse

from ..inputs import INPUTS, OVERRIDE, PROTOCOL, SUV, Input, inputs_of


def _dest(i: Input) -> str:
    return i.cli_flag[2:].replace("-", "_")


def _add_option(group, i: Input) -> None:
    """The option of one input of the table (``inputs.py``): its flag, type, default (in the shown unit), choices
    and help (the input's definition, with its unit)."""
    help_text = i.help.replace("%", "%%")  # argparse formats help texts with %
    if i.type is bool:  # a switch with both forms (--split-at-saddle, --no-split-at-saddle)
        group.add_argument(i.cli_flag, action=argparse.BooleanOptionalAction, default=i.default, help=help_text)
    elif i.flag_choice is not None:  # a two-way choice given as a switch (--a50)
        group.add_argument(i.cli_flag, action="store_true", help=help_text)
    elif i.choices:
        default = i.default if i.group != OVERRIDE else None
        group.add_argument(i.cli_flag, default=default, type=i.type if i.type is not str else None,
                           choices=list(i.choice_values), help=help_text)
    elif i.unit == "datetime":
        group.add_argument(i.cli_flag, metavar="ISO", help=f"{help_text}; ISO 8601, e.g. 2024-05-02T09:58 (a UTC "
                                                           "offset +02:00 is honoured)")
    else:
        kind = i.type if i.type is not str else None
        group.add_argument(i.cli_flag, type=kind, default=i.shown_default, help=help_text)


def add_suv_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("SUV (values from the DICOM headers unless overridden)")
    for i in (*inputs_of(SUV), *inputs_of(OVERRIDE)):
        _add_option(g, i)
    g.add_argument("--accept-implausible", metavar="REASON",
                   help="accept values outside the plausibility limits (docs/suv.md), stating why they are right; "
                        "recorded as a warning in the audit")


def add_normalization_option(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--suv`` alone (the batch: a manifest column may override it per study)."""
    i = INPUTS["normalization"]
    p.add_argument(i.cli_flag, default=i.default, choices=list(i.choice_values), help=help_text)


def suv_overrides(args):
    from ..suv import SUVOverrides

    values = {}
    for i in inputs_of(OVERRIDE):
        value = getattr(args, _dest(i))
        values[i.key] = i.from_shown(value) if value is not None and i.type is float else value
    return SUVOverrides(**values, accept_implausible=args.accept_implausible)


def add_protocol_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("protocol (defaults: SPEC §2-4)")
    for i in inputs_of(PROTOCOL):
        _add_option(g, i)


def protocol_parameters(args):
    """The ``ProtocolParameters`` the options say (each option in its shown unit: the threshold in %)."""
    from ..measure.protocol import ProtocolParameters

    iso, top = {}, {}
    for i in inputs_of(PROTOCOL):
        value = getattr(args, _dest(i))
        if i.type is bool:
            value = bool(value)
        elif i.flag_choice is not None:
            value = i.flag_choice if value else i.default
        elif value is not None and i.type is float:
            value = i.from_shown(value)
        if i.key.startswith("isocontour."):
            iso[i.key.split(".", 1)[1]] = value
        else:
            top[i.key] = value
    return ProtocolParameters(**top).with_isocontour(**iso)


# ------------------------------------------------------------------- the checks of the options, before any file is read
#: SUV override options that must be finite and positive (their plausibility is the SUV conversion's check).
_POSITIVE_SUV_OVERRIDES = ("weight_kg", "height_m", "dose_mbq", "half_life_s")


def check_positive_options(args, names) -> None:
    """Refuse an option of ``names`` (argparse ``dest``) that is given and not a finite positive number."""
    import math

    from ..errors import ParameterError

    for dest in names:
        value = getattr(args, dest, None)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ParameterError(f"--{dest.replace('_', '-')} {value:g}: must be a finite number above 0")


#: Protocol option (argparse ``dest``) -> (parameter in ``parameter_ranges.PROTOCOL_RANGES``, option units per
#: parameter unit, the option's unit), from the table of inputs.
PROTOCOL_OPTIONS = {_dest(i): (i.key, i.scale, i.shown_unit) for i in inputs_of(PROTOCOL) if i.range is not None}


def check_protocol_options(args) -> None:
    """Refuse, naming the option and its range, a protocol option outside ``PROTOCOL_RANGES`` (NaN, inf too),
    and ``--background-suv`` without ``--a50`` (the fixed threshold has no background term)."""
    from ..errors import ParameterError
    from ..measure.parameter_ranges import check_value

    for dest, (parameter, scale, unit) in PROTOCOL_OPTIONS.items():
        value = getattr(args, dest)
        if value is not None:
            check_value(parameter, value / scale, label=f"--{dest.replace('_', '-')}", scale=scale, unit=unit)
    if args.background_suv is not None and not args.a50:
        raise ParameterError("--background-suv applies only with --a50 (the fixed threshold has no background term)")


def check_options(args) -> None:
    """Every check that applies to the parsed options of a command (``main`` calls it before the command runs)."""
    check_positive_options(args, [dest for dest in _POSITIVE_SUV_OVERRIDES if hasattr(args, dest)])
    if hasattr(args, "threshold"):
        check_protocol_options(args)


def check_ranges(args, ranges) -> None:
    """Refuse an option (argparse ``dest`` -> ``ValueRange``) that is given and outside its range; for an option
    with several values (``nargs``) each value is checked."""
    from ..errors import ParameterError

    for dest, rng in ranges.items():
        value = getattr(args, dest, None)
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v is not None and not rng.contains(v):
                raise ParameterError(f"--{dest.replace('_', '-')} {v:g}: must be {rng.describe()} ({rng.what})")


def annotate_ranges(parser: argparse.ArgumentParser, ranges=None) -> None:
    """Append each checked option's range to its ``--help`` text.

    ``ranges``: argparse ``dest`` -> ``ValueRange`` (in the option's own unit); without it the protocol options
    (:data:`PROTOCOL_OPTIONS`, shown in their own unit) are annotated.
    """
    from ..measure.parameter_ranges import PROTOCOL_RANGES

    for action in parser._actions:
        if ranges is not None and action.dest in ranges:
            text = ranges[action.dest].describe()
        elif ranges is None and action.dest in PROTOCOL_OPTIONS:
            parameter, scale, unit = PROTOCOL_OPTIONS[action.dest]
            text = PROTOCOL_RANGES[parameter].describe(scale, unit)
        else:
            continue
        text = text.replace("%", "%%")  # argparse formats help texts with %
        action.help = f"{action.help}; range: {text}" if action.help else f"range: {text}"
