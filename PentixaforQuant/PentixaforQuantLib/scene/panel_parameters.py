"""The panel's parameters: names, types, defaults and definitions (tooltips), with no import beyond the standard
library (the protocol parameters, normalisation and SUV overrides come from the table of inputs, ``inputs.py``), so the Slicer module file can declare its ``@parameterNodeWrapper`` fields and tooltips from them before
the scientific packages are installed.

The names and text formats are those the parameter node wrapper of Slicer writes (numbers as ``str()``, booleans
``True``/``False``, node references under the field name), so the widget's bindings and
:class:`~.panel.PanelController` read and write the same parameter node.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParameterError
from ..inputs import OVERRIDE, Input, by_panel_field, inputs_of
from ..measure.sites import SITES

__all__ = ["MODULE_NAME", "Parameter", "PARAMETERS", "NODE_REFERENCES", "OVERRIDE_FIELDS", "SITE_WIDGET_NAMES",
           "SITE_ROW_TITLES"]

MODULE_NAME = "PentixaforQuant"


@dataclass(frozen=True)
class Parameter:
    """One field of the parameter node: name, Python type, default, tooltip (its definition), the allowed choices
    or the allowed range (inclusive), as the widget's ``Choice`` / ``WithinRange`` annotations say. ``input`` is
    the entry of the table of inputs (:data:`~..inputs.INPUTS`) the field shows, if any: its range (in the field's
    unit) is the one checked."""

    name: str
    type: type
    default: object
    tooltip: str
    choices: tuple = ()
    range: tuple | None = None
    input: Input | None = None

    def check(self, value):
        """``value`` as this parameter's type; :class:`ParameterError` naming the parameter (also as its
        ``field``) when it is not allowed."""
        try:
            value = self.type(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{self.name} must be a {self.type.__name__}, not {value!r}",
                                 field=self.name) from None
        if self.choices and value not in self.choices:
            raise ParameterError(f"{self.name} must be one of {', '.join(map(str, self.choices))}, not {value!r}",
                                 field=self.name)
        rng = self.input.range if self.input is not None else None
        if rng is not None and not rng.contains(value / self.input.scale):
            raise ParameterError(f"{self.name} {value:g}: must be {self.input.describe_range()} ({rng.what})",
                                 field=self.name)
        return value

    def to_text(self, value) -> str:
        """The text the parameter node wrapper writes for ``value`` (numbers ``str()``, bools True/False)."""
        if self.type is bool:
            return "True" if value else "False"
        return str(self.type(value))

    def from_text(self, text: str):
        if self.type is bool:
            return text == "True"
        try:
            return self.type(text)
        except (TypeError, ValueError):
            return self.default


def _from_input(i: Input) -> Parameter:
    """The panel field of an input: the value in the shown unit; an SUV override is text (empty = the header)."""
    if i.group == OVERRIDE:
        return Parameter(i.panel_field, str, "", i.help, input=i)
    rng = None if i.range is None else (round(i.range.low * i.scale, 9), round(i.range.high * i.scale, 9))
    return Parameter(i.panel_field, i.type, i.shown_default, i.help, i.panel_choices or i.choice_values, rng, i)


_SEEN_ONLY_HERE = (
    Parameter("autoUpdate", bool, True, "Recompute when a point is placed, dropped, cleared or removed"),
    # Cohort row of this study.
    Parameter("studyId", str, "", "Study identifier of the cohort row (adding the same id again replaces it)"),
    Parameter("diagnosis", str, "", "Diagnosis of the cohort row"),
    Parameter("group", str, "", "Group of the cohort row"),
    Parameter("uptake", str, "", "Uptake in the target lesion discernible: yes or no", ("", "yes", "no")),
    Parameter("activityMBq", str, "", "Injected activity (MBq) for the cohort row"),
    Parameter("peptideMassUg", str, "", "Injected peptide mass (ug) for the cohort row"),
)

#: Every panel parameter, as stored on the parameter node; node references are in :data:`NODE_REFERENCES`. The
#: protocol parameters, the normalisation and the SUV overrides come from the table of inputs.
PARAMETERS = {p.name: p for p in (*(_from_input(i) for i in by_panel_field().values()), *_SEEN_ONLY_HERE)}

#: Node references of the parameter node (the same names as the wrapper's node fields).
NODE_REFERENCES = ("petVolume", "pointsNode", "roiNode", "cohortTable")

#: Override parameter -> (SUVOverrides field, words naming it, its definition), from the table of inputs.
OVERRIDE_FIELDS = {i.panel_field: (i.key, i.label, i.help) for i in inputs_of(OVERRIDE) if i.panel_field}


#: Site key -> the name part of its row's widgets in the panel (``place<Name>Button``, ``<name>StatusLabel``, ...),
#: from the table of sites (``measure/sites.py``, standard library only too).
SITE_WIDGET_NAMES = {key: site.widget_name for key, site in SITES.items()}
#: Site key -> the title of its row (the title the outputs give it), from the table of sites.
SITE_ROW_TITLES = {key: site.title for key, site in SITES.items()}
