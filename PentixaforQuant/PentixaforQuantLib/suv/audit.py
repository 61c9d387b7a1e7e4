"""The result of an SUV conversion and its audit: where every input came from and which path the rules took."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from .dicom_time import format_datetime
from .normalizations import normalization_label

__all__ = ["SUVAudit", "SUVConversion", "AuditInput", "AuditRecord", "short_text", "summary"]


@dataclass
class SUVAudit:
    """Where every input of an SUV conversion came from and which path the rules took.

    Attributes
    ----------
    inputs : dict
        ``name -> {"value": ..., "source": ...}``; the source names the DICOM attribute and tag, ``"user
        override"``, or the rule that derived the value.
    decisions : list of str
        Each decision in words, in the order taken.
    warnings : list of str
        What the user should look at although the conversion went through: implausible values accepted with a
        stated reason, overrides that were not used, an SUV maximum that is unusually low.
    series_uid : str or None
        SeriesInstanceUID of the instances converted.
    instances : int
        Number of instances (one file each) whose headers gave the factors.
    series_notes : list of str
        What the series reader decided (files ignored, copies dropped).
    """

    normalization: str
    units: str
    source_units: str | None = None
    suv_type: str | None = None
    decay_correction: str | None = None
    scan_datetime: datetime | None = None
    injection_datetime: datetime | None = None
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    decisions: list[str] = field(default_factory=list)
    factor_summary: str = ""
    warnings: list[str] = field(default_factory=list)
    series_uid: str | None = None
    instances: int = 0
    series_notes: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        """Record a warning (once)."""
        if text not in self.warnings:
            self.warnings.append(text)

    def to_dict(self) -> dict:
        """JSON-able form (date-times as ISO 8601 strings)."""
        return {
            "normalization": self.normalization,
            "units": self.units,
            "suv_type": self.suv_type,
            "source_units": self.source_units,
            "decay_correction": self.decay_correction,
            "scan_datetime": format_datetime(self.scan_datetime),
            "injection_datetime": format_datetime(self.injection_datetime),
            "inputs": {k: {"value": _jsonable(v["value"]), "source": v["source"]} for k, v in self.inputs.items()},
            "decisions": list(self.decisions),
            "factor_summary": self.factor_summary,
            "warnings": list(self.warnings),
            "series_uid": self.series_uid,
            "instances": self.instances,
            "series_notes": list(self.series_notes),
        }

    def __str__(self) -> str:
        lines = [
            f"SUV conversion to {self.units} ({normalization_label(self.normalization)})"
            + (f" from Units {self.source_units}" if self.source_units else "")
            + (f", DecayCorrection {self.decay_correction}" if self.decay_correction else "")
        ]
        if self.inputs:
            lines.append("Inputs:")
            width = max(len(k) for k in self.inputs)
            for name, entry in self.inputs.items():
                value = entry["value"]
                text = format_datetime(value) if isinstance(value, datetime) else short_text(value)
                lines.append(f"  {name:<{width}}  {text}  [{entry['source']}]")
        if self.decisions:
            lines.append("Decisions:")
            lines.extend(f"  - {d}" for d in self.decisions)
        if self.factor_summary:
            lines.append(f"Factor: {self.factor_summary}")
        if self.series_uid:
            lines.append(f"Series: {self.series_uid} ({self.instances} files read)")
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        return "\n".join(lines)


def short_text(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _jsonable(value):
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class SUVConversion:
    """Per-instance factors from modality values (``stored * slope + intercept``) to SUV, with the audit.

    Attributes
    ----------
    factors : ndarray of float64
        One factor per instance, in the order of the datasets given to :func:`compute_suv_conversion`.
    normalization : str
        ``"bw"``, ``"lbm"`` (Janmahasatian), ``"lbm-james128"``, ``"bsa"`` or ``"ibw"`` (see the module docstring);
        :func:`suv_conversion_for_suv_volume` may also give ``"lbm-unspecified"``.
    units : str
        Units string of the result, e.g. ``"{SUVbw}g/ml"``.
    audit : SUVAudit
    sop_instance_uids : list of str
        SOPInstanceUID of each instance (empty for :func:`suv_conversion_for_suv_volume`).
    """

    factors: np.ndarray
    normalization: str
    units: str
    audit: SUVAudit
    sop_instance_uids: list[str] = field(default_factory=list)

    @property
    def factor(self) -> float | None:
        """The single factor when all instances agree (to 1e-12 relative), else None."""
        f = np.asarray(self.factors, float)
        if f.size == 0:
            return None
        if np.all(np.abs(f - f[0]) <= 1e-12 * abs(f[0])):
            return float(f[0])
        return None

    def to_dict(self) -> dict:
        """JSON-able record: ``factor`` (all instances agree) or ``factors`` ``{SOPInstanceUID: factor}``, the
        suv_type, units, decay_correction, scan and injection date-times (ISO strings), decisions and inputs."""
        out: dict[str, Any] = {}
        single = self.factor
        if single is not None:
            out["factor"] = single
        else:
            keys = self.sop_instance_uids if len(self.sop_instance_uids) == len(self.factors) else None
            out["factors"] = {
                (keys[n] if keys else str(n)): float(f) for n, f in enumerate(np.asarray(self.factors, float))
            }
        audit = self.audit.to_dict()
        out.update(
            normalization=self.normalization,
            suv_type=audit["suv_type"],
            units=self.units,
            source_units=audit["source_units"],
            decay_correction=audit["decay_correction"],
            scan_datetime=audit["scan_datetime"],
            injection_datetime=audit["injection_datetime"],
            decisions=audit["decisions"],
            inputs=audit["inputs"],
            warnings=audit["warnings"],
            series_uid=audit["series_uid"],
            instances=audit["instances"],
            series_notes=audit["series_notes"],
        )
        return out


@dataclass(frozen=True)
class AuditInput:
    """One input of a recorded audit: its name, value and source (None when the record gave no source)."""

    name: str
    value: Any
    source: str | None


@dataclass(frozen=True)
class AuditRecord:
    """An SUV audit as recorded (``SUVConversion.to_dict()``, e.g. the attribute of an SUV volume node), read back
    once into typed parts; every face that shows it (the panel's rows, the scene's parameters table) walks this.

    ``factor`` when all instances agree, else ``factors`` (one per instance); ``header`` holds the recorded
    units, SUV type, decay correction and the scan and injection date-times, in that order, when present.
    """

    inputs: tuple[AuditInput, ...]
    decisions: tuple[str, ...]
    factor: float | None
    factors: tuple[float, ...]
    header: dict

    @classmethod
    def from_dict(cls, record: dict) -> AuditRecord:
        inputs = tuple(
            AuditInput(name, entry.get("value"), str(entry.get("source", ""))) if isinstance(entry, dict)
            else AuditInput(name, entry, None)
            for name, entry in (record.get("inputs") or {}).items()
        )
        header = {key: record[key] for key in ("factor", "units", "suv_type", "decay_correction", "scan_datetime",
                                                "injection_datetime") if record.get(key) is not None}
        return cls(inputs, tuple(str(d) for d in record.get("decisions") or ()), record.get("factor"),
                   tuple((record.get("factors") or {}).values()), header)


def summary(values) -> float | str:
    arr = np.asarray(values, float)
    if np.all(arr == arr[0]):
        return float(arr[0])
    return f"{arr.size} values from {arr.min():g} to {arr.max():g}"
