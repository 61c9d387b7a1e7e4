"""The panel's SUV state: loading and converting the PET to SUV, the refusal and the override field it concerns,
the overrides typed in the panel, converting again, and the SUV audit as rows (a part of
:class:`~.panel.PanelController`; see its module for the API).
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ..errors import ParameterError, PentixaforQuantError, SUVError
from ..inputs import INPUTS
from ..suv import SUVOverrides
from ..suv.audit import AuditRecord
from ..suv.overrides import parse_override_datetime
from . import arguments
from .mrml import AUDIT_ATTRIBUTE, volume_suv_units
from .panel_parameters import OVERRIDE_FIELDS
from .panel_text import person_units

# Node attribute on an SUV volume saying where it came from, so a new normalisation or override can convert again.
SOURCE_ATTRIBUTE = "PentixaforQuant.Source"


def _parse_datetime(text: str, what: str, field: str) -> datetime:
    """ISO 8601 with a clock time, by the rule of the command line and the manifest (a date alone is refused, not
    read as midnight), or a DICOM DT ``YYYYMMDDHHMMSS`` as copied from a header."""
    text = text.strip()
    if len(text) == 14 and text.isdigit():
        try:
            return datetime.strptime(text, "%Y%m%d%H%M%S")
        except ValueError:
            pass
    return parse_override_datetime(text, what, field=field)


def _parse_number(text: str, what: str, field: str) -> float:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise SUVError(f"override {what}: {text!r} is not a number", field=field) from None
    if not math.isfinite(value) or value <= 0:
        raise SUVError(f"override {what}: {text!r} must be a positive number", field=field)
    return value


def overrides_from_texts(texts: dict[str, str]) -> SUVOverrides:
    """:class:`SUVOverrides` from the panel's override fields (parameter name -> text; empty = not given).

    Raises
    ------
    SUVError
        One line naming the field whose text cannot be read.
    """
    values = {}
    for name, (attr, words, _) in OVERRIDE_FIELDS.items():
        text = (texts.get(name) or "").strip()
        if not text:
            continue
        entry = INPUTS[attr]  # its choices and its shown unit (MBq for the dose) from the table of inputs
        if attr in ("injection_datetime", "scan_datetime"):
            values[attr] = _parse_datetime(text, words, attr)
        elif entry.choices:
            allowed = [str(v) for v in entry.choice_values]
            if text.upper() not in allowed:
                raise SUVError(f"override {words}: {text!r} must be {', '.join(allowed[:-1])} or {allowed[-1]}",
                               field=attr)
            values[attr] = text.upper()
        else:
            values[attr] = entry.from_shown(_parse_number(text, words, attr))
    return SUVOverrides(**values)


def refusal_field(exc: Exception) -> str | None:
    """The override parameter that would resolve an SUV refusal: the one of the input the error names as data
    (its ``field``, an ``SUVOverrides`` field), or None."""
    field = getattr(exc, "field", None)
    for name, (attr, _, _) in OVERRIDE_FIELDS.items():
        if attr == field:
            return name
    return None


class PanelSUV:
    """The SUV jobs of the panel controller: the PET input, its conversion, refusal, overrides and audit."""

    def load_dicom(self, folder, *, series_uid: str | None = None, progress: Callable | None = None):
        """Load a PET DICOM series (folder or files) as an SUV volume with our reader and make it the input.
        ``progress(fraction, message)`` is called as it goes (fraction 0 to 1, 1 when the volume is in the scene).

        A refusal (e.g. no PatientWeight) is kept in :attr:`suv_refusal` with the field to fill in
        :attr:`refusal_field`, and the source is remembered so :meth:`apply_overrides` can try again; the call
        then returns None instead of raising.
        """
        folder = arguments.source_path(folder, "load_dicom")
        arguments.text_or_none(series_uid, "load_dicom series_uid")
        source = {"kind": "dicom", "path": str(folder), "series_uid": series_uid}
        return self._convert(source, progress=progress)

    def set_pet_volume(self, volume_node, *, resolver: Callable | None = None):
        """Use a volume in the scene: kept if it is in SUV units, else converted to SUV from the DICOM files behind
        its ``DICOM.instanceUIDs`` (``resolver``: SOP Instance UID -> file, inside Slicer
        ``slicer.dicomDatabase.fileForInstance``). Returns the SUV volume, or None after a refusal."""
        arguments.node_or_none(volume_node, "vtkMRMLScalarVolumeNode", "set_pet_volume", self.scene)
        if volume_node is None:
            self._set_reference("petVolume", None)
            self._pet_id = None
            self._input_changed()
            return None
        if volume_suv_units(volume_node):
            self.suv_refusal = self.refusal_field = None
            self._pending_source = None
            self.logic.suv_volume(volume_node)  # adds the audit saying the volume came in SUV
            self._use_pet(volume_node)
            return volume_node
        self._resolver = resolver or self._resolver
        return self._convert({"kind": "volume", "node_id": volume_node.GetID()})

    def load_demo_phantom(self, *, place_points: bool = False):
        """Generate the synthetic Pentixafor phantom locally (no download), write it as PET DICOM in a temporary
        folder and load it with our reader, so the SUV audit is real. ``place_points`` also places the seven
        points at the design's seed points. Returns the SUV volume; the phantom is :attr:`demo_phantom`."""
        from ..phantom import PhantomOptions, make_phantom, write_phantom

        self.demo_phantom = make_phantom(PhantomOptions(radionuclide="Ga-68"))
        self._demo_folder = tempfile.TemporaryDirectory(prefix="pentixaforquant-demo-")
        write_phantom(self.demo_phantom, self._demo_folder.name)
        pet = self.load_dicom(Path(self._demo_folder.name) / "dicom")
        if pet is not None:
            pet.SetName("Pentixafor demo phantom SUVbw")
        if place_points:
            for site, ras in self.demo_phantom.truth.seed_points.items():
                self.place_site(site, ras)
        return pet

    def set_normalization(self, normalization: str) -> None:
        """Convert the PET again with another SUV normalisation (bw, lbm, bsa, ibw) and recompute."""
        self.set_parameter("normalization", normalization)  # -> parameter node modified -> reconvert

    def reconvert(self):
        """Convert the current (or refused) PET source again with the current normalisation and overrides."""
        source = self._pending_source
        pet = self.pet_node
        if source is None and pet is not None:
            text = pet.GetAttribute(SOURCE_ATTRIBUTE)
            source = json.loads(text) if text else None
        if source is None:
            if pet is not None:
                self._refuse(SUVError(f"volume {pet.GetName()!r} came in SUV units; without its DICOM files its "
                                      "normalisation and SUV inputs cannot be changed"))
            return None
        return self._convert(source, replace=pet)

    def _overrides(self) -> SUVOverrides:
        return overrides_from_texts({name: self.parameter_node.GetParameter(name) for name in OVERRIDE_FIELDS})

    def _convert(self, source: dict, *, replace=None, progress: Callable | None = None):
        normalization = self._converted_normalization = self.get_parameter("normalization")
        try:
            overrides = self._overrides()
            if progress is not None:
                progress(0.0, "reading the PET DICOM headers")
            if source["kind"] == "dicom":
                slices = None if progress is None else (
                    lambda done, total: progress(0.95 * done / total, f"reading slice {done} of {total}"))
                node = self.logic.load_dicom(source["path"], normalization=normalization, overrides=overrides,
                                             series_uid=source.get("series_uid"), progress=slices)
            else:
                original = self.scene.GetNodeByID(source["node_id"])
                if original is None:
                    raise SUVError(f"the PET volume {source['node_id']} is no longer in the scene")
                node = self.logic.suv_volume(original, resolver=self._resolver, normalization=normalization,
                                             overrides=overrides)
        except PentixaforQuantError as exc:
            self._pending_source = source
            self._refuse(exc)
            return None
        if progress is not None:
            progress(1.0, "PET loaded")
        node.SetAttribute(SOURCE_ATTRIBUTE, json.dumps(source))
        self._pending_source = None
        self.suv_refusal = self.refusal_field = None
        if replace is not None and replace is not node:
            node = self._replace_volume(replace, node)
        self._use_pet(node)
        return node

    def _replace_volume(self, old, new):
        """Move the new SUV image, units and audit into the volume already in use (keeps every reference)."""
        from .mrml import set_suv_units

        old.SetAndObserveImageData(new.GetImageData())
        set_suv_units(old, volume_suv_units(new))
        for attribute in (AUDIT_ATTRIBUTE, SOURCE_ATTRIBUTE):
            old.SetAttribute(attribute, new.GetAttribute(attribute))
        name = old.GetName()
        self.scene.RemoveNode(new)
        old.SetName(name)
        return old

    def _refuse(self, exc: Exception) -> None:
        self.suv_refusal = str(exc)
        self.refusal_field = refusal_field(exc)
        self._notify()

    # ------------------------------------------------------------------------------------------------- SUV
    def audit(self) -> dict | None:
        """The SUV audit of the PET volume (inputs with their sources, decisions, factor), or None."""
        pet = self.pet_node
        text = pet.GetAttribute(AUDIT_ATTRIBUTE) if pet is not None else None
        return json.loads(text) if text else None

    def audit_rows(self) -> list[tuple[str, str, str]]:
        """(item, value, source) rows: each SUV input with its DICOM tag or "user override", each decision, the
        factor and units. After a refusal: one row naming the attribute and the field to fill."""
        if self.suv_refusal:
            field_words = OVERRIDE_FIELDS[self.refusal_field][1] if self.refusal_field else "the SUV inputs"
            return [("SUV refused", self.suv_refusal, f"fill in {field_words} and apply")]
        record = self.audit()
        if not record:
            return []
        audit = AuditRecord.from_dict(record)
        rows = [(entry.name, _text(entry.value), entry.source or "") for entry in audit.inputs]
        rows += [(f"decision {n}", decision, "SUV rules") for n, decision in enumerate(audit.decisions, start=1)]
        if audit.factor is not None:
            rows.append(("factor", _text(audit.factor), "SUV = modality value x factor"))
        elif audit.factors:
            rows.append(("factor", f"{min(audit.factors):.6g} - {max(audit.factors):.6g} (per slice)",
                         "SUV = modality value x factor"))
        units = str(audit.header.get("units", ""))
        rows.append(("units", person_units(units), f"SUV normalisation (UCUM {units})"))
        return rows

    def set_override(self, name: str, text: str) -> None:
        """Fill one override field (text as typed; empty = use the header). Does not convert yet."""
        if name not in OVERRIDE_FIELDS:
            raise ParameterError(f"{name!r} is not an override field; use one of {', '.join(OVERRIDE_FIELDS)}",
                                 field=name)
        self._updating_parameters = True
        try:
            self.parameter_node.SetParameter(name, "" if text is None else str(text))
        finally:
            self._updating_parameters = False

    def use_settings(self, settings: dict) -> None:
        """Fill panel fields (parameter-node name -> value; an override as text) before a study is loaded, e.g.
        the SUV and protocol inputs of a manifest row (``ManifestRow.panel_settings``). Does not convert yet."""
        for name, value in settings.items():
            if name in OVERRIDE_FIELDS:
                self.set_override(name, str(value))
            else:
                self.set_parameter(name, value)

    def apply_overrides(self, **fields) -> object:
        """Set override fields (``overrideWeightKg="72"``, ...) and convert the PET again; recomputes.

        Returns the SUV volume, or None when the conversion is still refused (see :attr:`suv_refusal`).
        """
        for name, text in fields.items():
            self.set_override(name, text)
        return self.reconvert()

    def clear_overrides(self) -> object:
        return self.apply_overrides(**dict.fromkeys(OVERRIDE_FIELDS, ""))


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)
