"""The panel's choice parameters as enums with readable labels, for the Slicer module's parameter node wrapper.

Slicer's combo-box connector (``QComboBoxToEnumConnector``) shows ``label()`` of each member when the enum defines
it, and the wrapper stores the member's *name* in the parameter node (``EnumSerializer``). The member names are
therefore exactly the texts :data:`~.panel_parameters.PARAMETERS` stores (``bw``, ``6``, ``suv_max`` ...), so the
widget and :class:`~.panel.PanelController` keep reading and writing the same parameter node; only what a person
reads changes ("Body weight" instead of ``bw``). The labels are those of the table of inputs (``inputs.py``).
Standard library only (as ``inputs.py``): the module file imports this before scipy and scikit-image are
installed.
"""

from __future__ import annotations

import enum

from ..inputs import OVERRIDE, by_panel_field

__all__ = ["CHOICE_ENUMS", "CHOICE_LABELS"]

def _labels_from_the_table_of_inputs() -> dict[str, dict[str, str]]:
    """{stored text: label} of each panel choice of the table of inputs (``inputs.py``), as a combo box shows it:
    the table's label with a capital (a choice the panel does not offer, e.g. James-128 LBM, is left out)."""
    out = {}
    for field, entry in by_panel_field().items():
        if entry.choices and entry.group != OVERRIDE:
            offered = entry.panel_choices or entry.choice_values
            out[field] = {str(value): label[:1].upper() + label[1:] for value, label in entry.choices
                          if value in offered}
    return out


#: Parameter name -> {stored text: label}, in the order the combo box lists them: the protocol and SUV choices from
#: the table of inputs, the cohort row's uptake here (it is not an input of the measurement).
CHOICE_LABELS: dict[str, dict[str, str]] = {
    **_labels_from_the_table_of_inputs(),
    "uptake": {
        "not_recorded": "Not recorded",
        "yes": "Yes",
        "no": "No",
    },
}


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
