"""What a person reads in the panel: SUV units in words, one short status per site, its full text, the warnings.

A site row has room for one short status: the main value and, when the site has warnings, a warning mark. The full
text (every value with units, each warning in full) is the row's tooltip and, for the warnings, the panel's one
warnings area under Results. Units are written for people (``SUVbw``, ``mL``); the UCUM codes (``{SUVbw}g/ml``)
stay in the data (volume nodes, table-column units, CSV headers, ``study.json``).

Standard library only; the faces (Qt panel, web reader) call these on a :class:`~.panel.SiteStatus`.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["WARNING_MARK", "person_units", "readable_audit", "site_short_text", "site_detail_text", "warning_text", "warnings_lines"]

#: The mark a site row shows when the site has warnings (the text is in the tooltip and the warnings area).
WARNING_MARK = "\u26a0"

_BRACED = re.compile(r"^\{([^}]*)\}")


def person_units(ucum: str | None) -> str:
    """The SUV units as a person reads them: ``{SUVbw}g/ml`` -> ``SUVbw``, ``{SUVlbm(Janma)}g/ml`` -> ``SUVlbm
    (Janma)``; ``SUV`` when unknown. The UCUM annotation in braces names the quantity; the ``g/ml`` after it is
    the formal unit of the ratio and says nothing more to a reader."""
    if not ucum:
        return "SUV"
    m = _BRACED.match(str(ucum).strip())
    if not m:
        return str(ucum)
    return m.group(1).replace("(", " (")


def warning_text(warning, *, short: bool = False) -> str:
    """A warning as text: a typed warning's ``short`` (or ``detail``) text when it has one, else ``str()``."""
    if short and getattr(warning, "short", None):
        return str(warning.short)
    detail = getattr(warning, "detail", None)
    return str(detail) if detail else str(warning)


def site_short_text(status) -> str:
    """One short status for a site row (it never wraps): the main value with a warning mark, or the state in two or
    three words; the tooltip (:func:`site_detail_text`) says why."""
    if status.status == "placing":
        return "click in a view"
    if status.status == "missing":
        return "not placed"
    if status.status == "pending":
        return "not measured"
    if status.status == "error":
        return f"not measured {WARNING_MARK}"
    text = f"{status.value_name} {status.value:.2f}" if status.value is not None else "measured"
    return f"{text} {WARNING_MARK}" if status.warnings else text


def site_detail_text(status) -> str:
    """The full text of a site (its row's tooltip): the status line with units, then each warning in full."""
    lines = [f"{status.title}: {status.line}"] if " - warning: " not in status.line else \
        [f"{status.title}: {status.line.split(' - warning: ', 1)[0]}"]
    lines += [f"{WARNING_MARK} {warning_text(w)}" for w in status.warnings]
    return "\n".join(lines)


def warnings_lines(statuses, last_error: str | None = None) -> list[str]:
    """The panel's one warnings area: each site's warnings in full, one line each, then the last error."""
    lines = [f"{s.title}: {warning_text(w)}" for s in statuses for w in s.warnings]
    if last_error:
        lines.append(last_error)
    return lines


#: Audit items as a person reads them: (label, how the value is shown).
_AUDIT_ITEMS = {
    "units": ("Pixel units", "text"),
    "rescale_slope": ("Rescale slope", "text"),
    "rescale_intercept": ("Rescale intercept", "text"),
    "decay_correction": ("Decay correction", "text"),
    "corrected_image": ("Corrections", "text"),
    "weight_kg": ("Weight", "kg"),
    "height_m": ("Height", "m"),
    "sex": ("Sex", "text"),
    "dose_bq": ("Injected activity", "MBq"),
    "decayed_dose_bq": ("Activity at scan time", "MBq"),
    "radionuclide": ("Radionuclide", "text"),
    "half_life_s": ("Half-life", "min"),
    "injection_datetime": ("Injection", "time"),
    "series_datetime": ("Series time", "time"),
    "earliest_acquisition_datetime": ("First acquisition", "time"),
    "scan_datetime": ("Scan time (decay reference)", "time"),
    "decay_time_s": ("Injection to scan", "min"),
    "factor": ("SUV factor", "text"),
}


def _readable(value: str, kind: str) -> str:
    try:
        if kind == "kg":
            return f"{float(value):.1f} kg"
        if kind == "m":
            return f"{float(value):.2f} m"
        if kind == "MBq":
            return f"{float(value) / 1e6:.1f} MBq"
        if kind == "min":
            seconds = float(value)
            return f"{seconds / 60:.1f} min ({seconds:.0f} s)"
        if kind == "time":
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:  # a time with its offset: shown in this machine's local time
                return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
            return moment.strftime("%Y-%m-%d %H:%M:%S") + " (scanner local time)"
    except ValueError:
        pass
    return value


def readable_audit(rows) -> list[list[str]]:
    """The controller's audit rows ``(item, value, source)`` with readable labels and units (MBq, kg, minutes,
    date and time), for the Slicer panel and the web page alike; items not listed here are shown as they come."""
    out = []
    for item, value, source in rows:
        label, kind = _AUDIT_ITEMS.get(item, (item, "text"))
        if item == "units" and str(source).startswith("SUV normalisation"):
            label = "SUV units"
        out.append([label, _readable(str(value), kind), str(source)])
    return out
