"""The anatomy under the PET: an optional CT or MR series, shown fused under the PET in the slice views.

The papers' readers worked on PET/CT and PET/MR (C7, T12 and L5 are found by counting vertebrae on the CT). The
station shows a CT or MR series under the PET when the study has one: a second series in the study's folder, or
the ``ct`` column of the worklist manifest. It is only shown: the PET alone stays the source of every SUV.

Geometry (DICOM PS3.3 C.7.6.2) as for the PET reader (``suv/series_reader.py``): the slices of one series are
sorted along the normal of ImageOrientationPatient (rows x columns) by ImagePositionPatient, their spacing
measured (never SliceThickness), and LPS turned into RAS (first two rows negated). Pixel values go through
RescaleSlope/RescaleIntercept (Hounsfield units for CT). Nothing here imports slicer or trame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PentixaforQuantError

__all__ = ["AnatomySeries", "read_anatomy_series", "ANATOMY_MODALITIES"]

ANATOMY_MODALITIES = ("CT", "MR")


@dataclass(frozen=True)
class AnatomySeries:
    """One CT or MR series: voxels ``[k, j, i]`` (float32, HU for CT) and the IJK -> RAS matrix."""

    modality: str
    description: str
    voxels: np.ndarray
    ijk_to_ras: np.ndarray


def _headers(folder: Path) -> dict[str, list]:
    """CT/MR image headers under ``folder`` by SeriesInstanceUID (files that are not DICOM are skipped: the PET
    reader reports those)."""
    import pydicom

    series: dict[str, list] = {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        try:  # the modality alone first: a PET study folder is mostly PET slices, skipped at this cost
            if pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Modality"]).get(
                    "Modality") not in ANATOMY_MODALITIES:
                continue
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - not DICOM, or damaged: not an anatomy slice
            continue
        if "ImagePositionPatient" in ds:
            series.setdefault(str(ds.SeriesInstanceUID), []).append((path, ds))
    return series


def read_anatomy_series(folder) -> AnatomySeries | None:
    """The CT or MR series in ``folder`` (the one with the most slices; CT before MR), or None when it has none.

    Raises
    ------
    PentixaforQuantError
        One line when the series does not form one regular grid (mixed orientations, uneven slice spacing).
    """
    import pydicom

    folder = Path(folder)
    found = _headers(folder)
    if not found:
        return None
    items = max(found.values(), key=lambda s: (s[0][1].Modality == "CT", len(s)))
    first = items[0][1]
    where = f"the {first.Modality} series in {folder.name}"
    orientation = np.array([float(v) for v in first.ImageOrientationPatient])
    if any(not np.allclose([float(v) for v in ds.ImageOrientationPatient], orientation, atol=1e-4)
           for _, ds in items):
        raise PentixaforQuantError(f"{where} mixes slice orientations; it cannot be shown under the PET")
    row, column = orientation[:3], orientation[3:]
    normal = np.cross(row, column)
    items.sort(key=lambda item: float(np.dot(normal, [float(v) for v in item[1].ImagePositionPatient])))
    positions = np.array([[float(v) for v in ds.ImagePositionPatient] for _, ds in items])
    steps = np.diff(positions @ normal) if len(items) > 1 else np.array([1.0])
    if np.any(steps <= 0) or np.ptp(steps) > 0.01 * max(abs(float(np.median(steps))), 1e-6):
        raise PentixaforQuantError(f"{where} has uneven or repeated slice positions; it cannot be shown under the PET")
    spacing_rows, spacing_columns = (float(v) for v in first.PixelSpacing)
    lps = np.eye(4)
    lps[:3, 0] = row * spacing_columns
    lps[:3, 1] = column * spacing_rows
    lps[:3, 2] = normal * float(np.median(steps))
    lps[:3, 3] = positions[0]
    ijk_to_ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    voxels = np.empty((len(items), int(first.Rows), int(first.Columns)), np.float32)
    for k, (path, _) in enumerate(items):
        ds = pydicom.dcmread(path)
        slope, intercept = float(getattr(ds, "RescaleSlope", 1) or 1), float(getattr(ds, "RescaleIntercept", 0) or 0)
        voxels[k] = ds.pixel_array.astype(np.float32) * slope + intercept
    return AnatomySeries(str(first.Modality), str(getattr(first, "SeriesDescription", "") or first.Modality),
                         voxels, ijk_to_ras)
