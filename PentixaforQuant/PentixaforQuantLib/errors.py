"""Errors the user can act on.

Every refusal in PentixaforQuant raises a subclass of :class:`PentixaforQuantError` whose message is one
clear line naming the attribute, input or condition at fault. Faces (the command line, the Slicer panel)
show that line instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "PentixaforQuantError",
    "DicomSeriesError",
    "DicomValueError",
    "SUVError",
    "MeasurementError",
    "PointsError",
    "ParameterError",
    "NodeError",
    "DicomExportError",
]


class PentixaforQuantError(Exception):
    """Base class: a problem with the input that the user can understand and fix.

    ``field`` names, as data, the input the refusal concerns when there is one: the key of the input in
    :data:`~.inputs.INPUTS` (``"height_m"``, ``"isocontour.threshold_fraction"``) or a manifest column, so a face
    highlights the field to correct without reading the message. None when the refusal concerns no one input.
    """

    def __init__(self, *args, field: str | None = None):
        super().__init__(*args)
        self.field = field


class DicomSeriesError(PentixaforQuantError):
    """The DICOM files do not form one readable PET series (empty folder, not PET, mixed, inconsistent)."""


class DicomValueError(PentixaforQuantError):
    """A DICOM element's value cannot be read or is malformed (not a number, several values where one is due)."""


class SUVError(PentixaforQuantError):
    """SUV cannot be computed from the headers (missing or implausible attribute, unsupported units)."""


class MeasurementError(PentixaforQuantError):
    """A VOI cannot be measured (click outside the volume or the body, non-finite voxels, empty VOI)."""


class PointsError(PentixaforQuantError):
    """A points file (markups JSON or CSV) cannot be read or names an unknown site."""


class ParameterError(PentixaforQuantError, ValueError):
    """A protocol parameter or command-line option is outside its stated range (or does not apply)."""


class NodeError(PentixaforQuantError):
    """A scene node given to the Logic is missing (None), of the wrong kind, empty, or in another scene."""


class DicomExportError(PentixaforQuantError):
    """A DICOM SEG or SR cannot be written validly (missing optional package, PET header unfit to copy)."""
