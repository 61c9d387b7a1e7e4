"""The panel's choice parameters as enums with readable labels, for the Slicer module's parameter node wrapper.

Slicer's combo-box connector (``QComboBoxToEnumConnector``) shows ``label()`` of each member when the enum defines
it, and the wrapper stores the member's *name* in the parameter node (``EnumSerializer``). The member names are
therefore exactly the texts :data:`~.panel_parameters.PARAMETERS` stores (``bw``, ``6``, ``suv_max`` ...), so the
widget and :class:`~.panel.PanelController` keep reading and writing the same parameter node; only what a person
reads changes ("Body weight (SUVbw)" instead of ``bw``). Standard library only: the module file imports this
before scipy and scikit-image are installed.
"""

from __future__ import annotations

import enum

__all__ = ["CHOICE_ENUMS", "CHOICE_LABELS", "choice_label"]

#: Parameter name -> {stored text: label}, in the order the combo box lists them.
CHOICE_LABELS: dict[str, dict[str, str]] = {
    "normalization": {
        "bw": "Body weight (SUVbw)",
        "lbm": "Lean body mass (SUVlbm)",
        "bsa": "Body surface area (SUVbsa)",
        "ibw": "Ideal body weight (SUVibw)",
    },
    "thresholdMethod": {
        "fixed": "Fixed % of SUVmax",
        "a50": "A50 (above background)",
    },
    "connectivity": {
        "6": "6 (faces)",
        "18": "18 (+ edges)",
        "26": "26 (+ corners)",
    },
    "peakVariant": {
        "global": "Global (PERCIST)",
        "local": "Local (on SUVmax)",
    },
    "tbrNumerator": {
        "suv_max": "SUVmax",
        "suv_peak": "SUVpeak",
        "suv_mean": "SUVmean",
    },
    "uptake": {
        "not_recorded": "Not recorded",
        "yes": "Yes",
        "no": "No",
    },
}


def choice_label(parameter: str, text: str) -> str:
    """The label of a stored choice text (the text itself when it has none)."""
    return CHOICE_LABELS.get(parameter, {}).get(str(text), str(text))


class _LabelledChoice(enum.Enum):
    """Base of the choice enums: ``label()`` is what Slicer's combo-box connector shows."""

    def label(self) -> str:
        return CHOICE_LABELS[_PARAMETER_OF[type(self).__name__]][self.name]


def _choice_enum(class_name: str, parameter: str, value_type: type) -> type[enum.Enum]:
    members = [(text, value_type(text)) for text in CHOICE_LABELS[parameter]]
    return _LabelledChoice(class_name, members, module=__name__, qualname=class_name)


_PARAMETER_OF = {
    "SUVNormalization": "normalization",
    "ThresholdMethod": "thresholdMethod",
    "Connectivity": "connectivity",
    "PeakVariant": "peakVariant",
    "TBRNumerator": "tbrNumerator",
    "Uptake": "uptake",
}
SUVNormalization = _choice_enum("SUVNormalization", "normalization", str)
ThresholdMethod = _choice_enum("ThresholdMethod", "thresholdMethod", str)
Connectivity = _choice_enum("Connectivity", "connectivity", int)
PeakVariant = _choice_enum("PeakVariant", "peakVariant", str)
TBRNumerator = _choice_enum("TBRNumerator", "tbrNumerator", str)
Uptake = _choice_enum("Uptake", "uptake", str)

#: Parameter name -> its enum (the parameter node wrapper's field type).
CHOICE_ENUMS: dict[str, type[enum.Enum]] = {
    parameter: globals()[class_name] for class_name, parameter in _PARAMETER_OF.items()
}
__all__ += list(_PARAMETER_OF)
