"""Reading one PET series from DICOM files: headers, geometry, voxels in SUV.

The reader takes a folder (searched recursively) or a list of files, keeps the PET (Modality PT) instances of
one series, sorts them by position along the slice normal (file names carry no meaning) and checks that they
form one regular 3-D grid. Refusals raise :class:`~PentixaforQuantLib.errors.DicomSeriesError` with one line.

Geometry (DICOM PS3.3 C.7.6.2, Image Plane Module): ImageOrientationPatient (0020,0037) holds the direction
cosines of the rows (the direction in which the column index i grows) and of the columns (in which the row
index j grows), in LPS; PixelSpacing (0028,0030) is (row spacing, column spacing) = (spacing along j, spacing
along i). The slice normal is rows x columns; the slice spacing is measured from ImagePositionPatient
(0020,0032), never taken from SliceThickness. The resulting ``ijk_to_ras`` is the LPS matrix with its first two
rows negated (RAS = diag(-1, -1, 1) LPS).

Voxel arrays are float32 ``[k, j, i]`` (Slicer's ``arrayFromVolume`` order). Pixel data of uncompressed
transfer syntaxes are read straight from the file into a preallocated volume, one slice at a time, so that
the peak memory stays near one float32 volume; compressed data go through pydicom's decoders.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from .conversion import SUVConversion, SUVOverrides, compute_suv_conversion
from .dicom_values import fast_number, fast_string, quiet_pydicom, raw_bytes
from .plausibility import check_suv_scale
from .series_files import (
    PET_IMAGE_STORAGE,
    PET_SOP_CLASSES,
    ParsedFile,
    collect_paths,
    is_pet_like,
    one_line,
    parse_file,
)
from .. import interruption
from ..errors import DicomSeriesError, SUVError
from ..geometry import LPS_TO_RAS, VoxelGrid

__all__ = [
    "PetSeriesHeaders",
    "PetVolume",
    "read_pet_headers",
    "read_pet_volume",
    "read_stored_slices",
    "suv_of_loaded_volume",
]

_ENHANCED_PET = {uid: name for uid, name in PET_SOP_CLASSES.items() if uid != PET_IMAGE_STORAGE}
_EXPLICIT_BE = "1.2.840.10008.1.2.2"

#: A slice gap may deviate from the mean gap by this much (mm) or by SPACING_TOLERANCE_REL of the gap, whichever
#: is larger: positions are written as decimal strings, often rounded to 0.01 mm, and a missing slice shows as a
#: deviation of a whole gap.
SPACING_TOLERANCE_MM = 0.01
SPACING_TOLERANCE_REL = 0.005
#: Slice positions may lie off the stack axis (the line along the normal) by at most this fraction of a pixel.
SHEAR_TOLERANCE_PIXELS = 0.05
#: Largest difference between direction cosines of two slices that still counts as the same orientation.
ORIENTATION_TOLERANCE = 1e-4


@dataclass
class PetSeriesHeaders:
    """Headers of one PET series, sorted along the slice normal.

    Attributes
    ----------
    files : list of Path
        One file per slice, in slice order (k = 0 first).
    datasets : list of pydicom.Dataset
        The headers, read without pixel data, in the same order.
    grid : VoxelGrid
        Geometry of the volume (RAS).
    series_uid : str
        SeriesInstanceUID of the series.
    notes : list of str
        Statements about choices made while reading (e.g. which series was picked).
    pixel_offsets : list of int
        Byte offset of the pixel data element in each file (-1 when unknown); used for the direct read.
    pixel_kinds : list of str
        ``"integer"``, ``"float"`` or ``"double"`` pixel data in each file.
    warnings : list of str
        What the user must know about the files read (a subfolder that could not be read).
    """

    files: list[Path]
    datasets: list[Dataset]
    grid: VoxelGrid
    series_uid: str
    notes: list[str] = field(default_factory=list)
    pixel_offsets: list[int] = field(default_factory=list)
    pixel_kinds: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class PetVolume:
    """A PET volume in SUV with its geometry, conversion audit and headers."""

    suv: np.ndarray  # float32 [k, j, i]
    grid: VoxelGrid
    conversion: SUVConversion
    headers: PetSeriesHeaders


# ---------------------------------------------------------------------------------------------------------------
# Choosing the series


def _files(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"


def _describe(ds: Dataset) -> str:
    desc = one_line(_text_or_empty(ds, "SeriesDescription"), 60)
    return f"'{desc}'" if desc else "no description"


def _list_damaged(damaged: list[ParsedFile], what: str) -> str:
    shown = "; ".join(f"{f.path.name}: {f.reason}" for f in damaged[:3])
    more = f" (and {len(damaged) - 3} more)" if len(damaged) > 3 else ""
    n = len(damaged)
    return (
        f"{_files(n)} in {what} that may belong to the PET series cannot be read "
        f"(never skipped silently): {shown}{more}; repair or remove {'them' if n != 1 else 'it'}"
    )


def read_pet_headers(source, *, series_uid: str | None = None) -> PetSeriesHeaders:
    """Read and check the headers of one PET series.

    Parameters
    ----------
    source : str, Path or iterable of paths
        A folder (searched recursively; files that are not DICOM by content and name are ignored), a single
        file, or a list of files.
    series_uid : str, optional
        SeriesInstanceUID to read. Required when the files hold more than one PET series: the reader never
        chooses between them (the refusal lists each series with its UID, description and number of files).

    Returns
    -------
    PetSeriesHeaders

    Raises
    ------
    DicomSeriesError
        No DICOM, no PET, several PET series and no choice, unknown series, a damaged file that may belong to
        the series (named), duplicate instances with different pixel data, multi-frame PET, a single slice,
        missing position/orientation, mixed orientations, inconsistent matrix size, pixel spacing or pixel
        format, an implausible matrix size, duplicate positions, non-uniform slice spacing.
    """
    with quiet_pydicom():
        return _read_pet_headers(source, series_uid)


def _read_pet_headers(source, series_uid: str | None) -> PetSeriesHeaders:
    unreadable: list[str] = []
    paths, what = collect_paths(source, unreadable)
    by_series: dict[str, list[ParsedFile]] = {}
    modalities: dict[str, dict[str, list[ParsedFile]]] = {}  # series -> Modality -> its files
    damaged_unknown: list[ParsedFile] = []  # cannot tell which series they belong to
    damaged_of: dict[str, list[ParsedFile]] = {}
    n_dicom = n_ignored = 0
    for path in paths:
        parsed = parse_file(path)
        if parsed.status == "ignored":
            n_ignored += 1
            continue
        if parsed.status == "damaged":
            damaged_unknown.append(parsed)
            continue
        ds = parsed.dataset
        n_dicom += 1
        uid = _text_or_empty(ds, "SeriesInstanceUID")
        pet_like = is_pet_like(ds)
        if pet_like and not parsed.has_pixel_data:
            parsed.status = "damaged"
            parsed.reason = (
                f"PET header without pixel data (the file ends at byte {parsed.size}: truncated?)"
            )
            (damaged_of.setdefault(uid, []) if uid else damaged_unknown).append(parsed)
            continue
        if not uid:
            if not _is_dicomdir(ds):  # every composite object has a SeriesInstanceUID: this header is cut short
                parsed.status = "damaged"
                parsed.reason = (
                    f"{'PET image' if pet_like else 'DICOM file'} without SeriesInstanceUID (0020,000E) "
                    f"(damaged, or truncated at byte {parsed.size}?)"
                )
                damaged_unknown.append(parsed)
            continue
        by_series.setdefault(uid, []).append(parsed)
        modality = _text_or_empty(ds, "Modality").upper() or "unknown"
        modalities.setdefault(uid, {}).setdefault(modality, []).append(parsed)
    if n_dicom == 0 and not damaged_unknown:
        more = f"; {unreadable[0]}" if unreadable else ""
        raise DicomSeriesError(f"no DICOM files in {what}{more}")
    modality_of = {uid: _series_modality(uid, found) for uid, found in modalities.items()}
    pet = {uid: items for uid, items in by_series.items() if modality_of[uid] == "PT"}
    for uid in damaged_of:
        pet.setdefault(uid, [])
    notes: list[str] = []

    if series_uid is not None:
        series_uid = str(series_uid).strip()
        if series_uid not in by_series and series_uid not in damaged_of:
            listed = ", ".join(sorted(pet)) or "none"
            listed = one_line(listed, 300)
            raise DicomSeriesError(
                f"series {one_line(series_uid, 70)} not found in {what} (PET series there: {listed})"
            )
        if series_uid not in pet:
            raise DicomSeriesError(
                f"series {one_line(series_uid, 70)} is not PET: Modality is {one_line(modality_of[series_uid], 20)}"
            )
        chosen = series_uid
    else:
        if not pet:
            if damaged_unknown:
                raise DicomSeriesError(_list_damaged(damaged_unknown, what))
            found: dict[str, int] = {}
            for uid in by_series:
                found[modality_of[uid]] = found.get(modality_of[uid], 0) + 1
            listed = ", ".join(f"{one_line(m, 20)} ({n} series)" for m, n in sorted(found.items())) or "no image series"
            raise DicomSeriesError(f"no PET series (Modality PT) in {what}; found {listed}")
        if len(pet) > 1:
            ranked = sorted(pet, key=lambda u: (-len(pet[u]), u))
            listed = "; ".join(
                f"{one_line(u, 70)} ({_describe(pet[u][0].dataset) if pet[u] else 'damaged files only'}, "
                f"{_files(len(pet[u]) + len(damaged_of.get(u, [])))})"
                for u in ranked
            )
            raise DicomSeriesError(
                f"{len(pet)} PET series in {what}; choose one with --series-uid (series_uid=): {listed}"
            )
        chosen = next(iter(pet))
    damaged = damaged_unknown + damaged_of.get(chosen, [])
    if damaged:
        raise DicomSeriesError(_list_damaged(damaged, what))
    if not pet[chosen]:  # pragma: no cover - a series made only of damaged files is refused above
        raise DicomSeriesError(f"series {chosen} has no readable files in {what}")

    if n_ignored:
        verb = "are" if n_ignored != 1 else "is"
        notes.append(f"{_files(n_ignored)} that {verb} not DICOM ignored")
    n_damaged_elsewhere = sum(len(v) for u, v in damaged_of.items() if u != chosen)
    if n_damaged_elsewhere:
        notes.append(f"{_files(n_damaged_elsewhere)} of other PET series cannot be read (not needed for this series)")
    others = [u for u in by_series if u not in pet]
    if others:
        kinds = sorted({one_line(modality_of[u], 20) for u in others})
        n_files = sum(len(by_series[u]) for u in others)
        notes.append(
            f"{n_files} DICOM file{'s' if n_files != 1 else ''} of {len(others)} non-PET series "
            f"({', '.join(kinds)}) ignored"
        )
    other_pet = [u for u in pet if u != chosen]
    if other_pet:
        notes.append(f"series {one_line(chosen, 70)} read as asked; {len(other_pet)} other PET series not read")
    items = _drop_copies(pet[chosen], notes)
    headers = _assemble(items, chosen, notes)
    _refuse_strays(headers, {uid: pet[uid] for uid in other_pet})
    headers.warnings = [f"{line}: files there are not read (they may belong to this series)" for line in unreadable]
    return headers


def _series_modality(uid: str, found: dict[str, list[ParsedFile]]) -> str:
    """The one Modality (0008,0060) of a series; files that disagree are refused when one of them says PT (a
    damaged header must not turn a PET series into another kind, whichever file comes first by name)."""
    if len(found) == 1:
        return next(iter(found))
    if "PT" not in found:
        return max(found, key=lambda m: len(found[m]))
    odd = min((m for m in found), key=lambda m: len(found[m]))
    common = max(found, key=lambda m: len(found[m]))
    files = found[odd]
    raise DicomSeriesError(
        f"Modality (0008,0060) differs within series {one_line(uid, 70)}: {one_line(common, 20)} in "
        f"{_files(len(found[common]))}, {one_line(odd, 20)} in {files[0].path.name}"
        f"{f' (and {len(files) - 1} more)' if len(files) > 1 else ''}; a damaged header? repair or remove it"
    )


def _refuse_strays(headers: PetSeriesHeaders, others: dict[str, list[ParsedFile]]) -> None:
    """Refuse when another PET "series" is nothing but a slice continuing this series' stack (just before its first
    or after its last slice, on the same grid): a slice whose SeriesInstanceUID was damaged, which choosing the
    series would otherwise leave out without a word. Series of the same acquisition (AC and NAC, a shorter
    reconstruction) share slices with this one and are not affected."""
    grid = headers.grid
    n = grid.shape_kji[0]
    first = headers.datasets[0]
    orientation = _vector(first, "ImageOrientationPatient", "(0020,0037)", 6, headers.files[0])
    for uid, items in others.items():
        ends = [(item, _stack_index(item, grid, first, orientation)) for item in items]
        if not ends or any(k not in (-1, n) for _, k in ends):
            continue
        item, k = ends[0]
        where = "before its first slice" if k == -1 else "after its last slice"
        raise DicomSeriesError(
            f"{item.path.name} (SeriesInstanceUID {one_line(uid, 70)}) continues the slice stack of series "
            f"{one_line(headers.series_uid, 70)} {where}: a slice of this series with a damaged SeriesInstanceUID? "
            "Repair or remove it (reading the series without it would leave a slice out)"
        )


def _stack_index(item: ParsedFile, grid: VoxelGrid, first: Dataset, orientation: np.ndarray) -> int | None:
    """The slice index k a file of another series would have in ``grid`` (same matrix, orientation and in-plane
    origin, on a slice position), else None."""
    try:
        if _rows_columns(item.dataset) != _rows_columns(first):
            return None
        other = _vector(item.dataset, "ImageOrientationPatient", "(0020,0037)", 6, item.path)
        position = _vector(item.dataset, "ImagePositionPatient", "(0020,0032)", 3, item.path)
    except DicomSeriesError:
        return None
    if np.abs(other - orientation).max() > ORIENTATION_TOLERANCE:
        return None
    i, j, k = grid.ras_to_continuous_ijk((LPS_TO_RAS @ np.append(position, 1.0))[:3])
    if abs(i) > 0.05 or abs(j) > 0.05 or abs(k - round(k)) > 0.05:
        return None
    return int(round(k))


def _is_dicomdir(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    try:
        return meta is not None and str(meta.get("MediaStorageSOPClassUID", "")) == "1.2.840.10008.1.3.10"
    except Exception:  # noqa: BLE001
        return False


def _pixel_bytes(item: ParsedFile) -> bytes:
    """The pixel data bytes of a file (native: straight from the file; else via pydicom)."""
    try:
        if item.pixel_offset >= 0:
            with open(item.path, "rb") as fp:
                fp.seek(item.pixel_offset)
                return fp.read(item.pixel_length)
        with quiet_pydicom():
            full = pydicom.dcmread(item.path)
            keyword = {"float": "FloatPixelData", "double": "DoubleFloatPixelData"}.get(item.pixel_kind, "PixelData")
            return bytes(full[keyword].value)
    except Exception as exc:  # noqa: BLE001 - damaged pixel data
        raise DicomSeriesError(f"pixel data of {item.path.name} cannot be read: {one_line(exc, 80)}") from None


def _drop_copies(items: list[ParsedFile], notes: list[str]) -> list[ParsedFile]:
    """One file per SOPInstanceUID: exact copies (copied folders) are read once; different pixels are refused."""
    by_uid: dict[str, list[ParsedFile]] = {}
    for item in items:
        by_uid.setdefault(_text_or_empty(item.dataset, "SOPInstanceUID"), []).append(item)
    kept, n_copies = [], 0
    for uid, group in by_uid.items():
        if not uid or len(group) == 1:
            kept.extend(group)
            continue
        first = _pixel_bytes(group[0])
        where = _text_or_empty(group[0].dataset, "ImagePositionPatient")
        for other in group[1:]:
            if _pixel_bytes(other) != first or _text_or_empty(other.dataset, "ImagePositionPatient") != where:
                raise DicomSeriesError(
                    f"{group[0].path.name} and {other.path.name} have the same SOPInstanceUID (0008,0018) "
                    f"{one_line(uid, 70)} "
                    "but different pixel data or position; remove the wrong one"
                )
        kept.append(group[0])
        n_copies += len(group) - 1
    if n_copies:
        notes.append(
            f"{_files(n_copies)} repeating an instance already read (same "
            "SOPInstanceUID and pixel data) ignored"
        )
    return kept


def _text_or_empty(ds: Dataset, keyword: str) -> str:
    try:
        return fast_string(ds, keyword) or ""
    except Exception:  # noqa: BLE001 - unreadable value: treated as absent
        return ""


def _vector(ds: Dataset, keyword: str, tag: str, n: int, path: Path) -> np.ndarray:
    raw = raw_bytes(ds, keyword)
    if isinstance(raw, bytes):  # undecoded DS text: parse it directly (much faster than decoding)
        stripped = raw.strip(b" \x00")
        value = stripped.split(b"\\") if stripped else []
    else:
        try:
            value = ds.get(keyword)
        except Exception:  # noqa: BLE001
            raise DicomSeriesError(f"{keyword} {tag} is unreadable in {path.name}") from None
    if value is None or (hasattr(value, "__len__") and len(value) == 0):
        raise DicomSeriesError(f"{keyword} {tag} missing in {path.name}")
    if not hasattr(value, "__len__") or isinstance(value, (str, bytes)):
        value = [value]
    try:
        arr = np.array([float(v) for v in value], float)
    except (TypeError, ValueError):
        raise DicomSeriesError(f"{keyword} {tag} is not {n} numbers in {path.name}") from None
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise DicomSeriesError(f"{keyword} {tag} is not {n} finite numbers in {path.name}")
    return arr


def _unsigned_short(ds: Dataset, keyword: str) -> int | None:
    """A US attribute (Rows, BitsAllocated, ...), from the undecoded bytes when possible; None when absent or
    unreadable."""
    try:
        elem = ds.get_item(keyword)
        if elem is None:
            return None
        raw = getattr(elem, "value", None)
        if isinstance(raw, bytes) and getattr(elem, "VR", None) in (None, "US"):
            if len(raw) != 2:
                return None
            return int.from_bytes(raw, "little" if elem.is_little_endian else "big")
        value = ds.get(keyword)
        return None if value is None or value == "" else int(value)
    except Exception:  # noqa: BLE001 - unreadable value: treated as absent
        return None


def _rows_columns(ds: Dataset) -> tuple[int, int]:
    """(Rows, Columns); 0 when absent or unreadable."""
    return _unsigned_short(ds, "Rows") or 0, _unsigned_short(ds, "Columns") or 0


#: Largest Rows or Columns accepted (checked before any allocation). Clinical PET matrices are 128-512,
#: high-resolution reconstructions up to 1024; a larger claim is a damaged header.
MAX_MATRIX = 2048

#: Pixel format attributes that must agree across the instances: (keyword, tag).
_PIXEL_FORMAT = (
    ("SamplesPerPixel", "(0028,0002)"),
    ("BitsAllocated", "(0028,0100)"),
    ("BitsStored", "(0028,0101)"),
    ("HighBit", "(0028,0102)"),
    ("PixelRepresentation", "(0028,0103)"),
)


def _check_pixel_format(items: list[ParsedFile]) -> tuple[int, int]:
    """(BitsAllocated, BitsStored) after checking the pixel format of every instance agrees and is valid."""
    kinds = {}
    for item in items:
        kinds.setdefault(item.pixel_kind, item.path.name)
    if len(kinds) > 1:
        (a, name_a), (b, name_b) = list(kinds.items())[:2]
        raise DicomSeriesError(f"instances differ in pixel format: {a} pixel data in {name_a}, {b} in {name_b}")
    kind = items[0].pixel_kind
    if kind != "integer":
        return _check_float_format(items, kind)
    formats = {}
    for item in items:
        values = tuple(_unsigned_short(item.dataset, kw) for kw, _ in _PIXEL_FORMAT)
        formats.setdefault(values, item.path.name)
    if len(formats) > 1:
        (a, name_a), (b, name_b) = list(formats.items())[:2]
        diff = [
            f"{kw} {tag} {x} in {name_a}, {y} in {name_b}" for (kw, tag), x, y in zip(_PIXEL_FORMAT, a, b) if x != y
        ]
        raise DicomSeriesError(f"instances differ in pixel format: {'; '.join(diff)}")
    (samples, allocated, stored, high, representation), name = next(iter(formats.items()))
    if samples not in (None, 1):
        raise DicomSeriesError(f"SamplesPerPixel (0028,0002) is {samples} in {name}; PET images have 1")
    if allocated not in (8, 16, 32):
        raise DicomSeriesError(f"BitsAllocated (0028,0100) is {allocated} in {name}; expected 8, 16 or 32")
    if stored is None or not 1 <= stored <= allocated:
        raise DicomSeriesError(
            f"BitsStored (0028,0101) is {stored} in {name}; expected 1 to BitsAllocated ({allocated})"
        )
    if high is not None and high != stored - 1:
        raise DicomSeriesError(f"HighBit (0028,0102) is {high} in {name}; expected BitsStored - 1 = {stored - 1}")
    if representation not in (0, 1):
        raise DicomSeriesError(f"PixelRepresentation (0028,0103) is {representation} in {name}; expected 0 or 1")
    return allocated, stored


def _check_float_format(items: list[ParsedFile], kind: str) -> tuple[int, int]:
    """(BitsAllocated, BitsAllocated) of Float (32-bit) or Double Float (64-bit) Pixel Data (PS3.3 C.7.6.24)."""
    bits = 32 if kind == "float" else 64
    for item in items:
        allocated = _unsigned_short(item.dataset, "BitsAllocated")
        if allocated != bits:
            raise DicomSeriesError(
                f"BitsAllocated (0028,0100) is {allocated} in {item.path.name}; {kind} pixel data needs {bits}")
        samples = _unsigned_short(item.dataset, "SamplesPerPixel")
        if samples not in (None, 1):
            raise DicomSeriesError(f"SamplesPerPixel (0028,0002) is {samples} in {item.path.name}; PET images have 1")
    return bits, bits


def _assemble(items: list[ParsedFile], series_uid: str, notes: list[str]) -> PetSeriesHeaders:
    first_path = items[0].path
    for item in items:
        path, ds = item.path, item.dataset
        sop_class = _text_or_empty(ds, "SOPClassUID")
        try:
            frames = fast_number(ds, "NumberOfFrames")
        except Exception:  # noqa: BLE001 - an unreadable NumberOfFrames is treated as absent
            frames = None
        n_frames = int(frames) if frames and math.isfinite(frames) else 1
        if sop_class in _ENHANCED_PET or n_frames > 1:
            kind = _ENHANCED_PET.get(sop_class, f"{n_frames} frames")
            raise DicomSeriesError(
                f"multi-frame PET ({kind}, {path.name}) is not supported yet; export the series as single-frame "
                "PET Image Storage"
            )
    if len(items) == 1:
        raise DicomSeriesError(
            f"the PET series {one_line(series_uid, 70)} has a single slice ({first_path.name}); a volume needs at "
            "least two slices to measure the slice spacing (it is never invented)"
        )

    rows_cols: dict[tuple[int, int], str] = {}
    for item in items:
        rows_cols.setdefault(_rows_columns(item.dataset), item.path.name)
    if len(rows_cols) > 1:
        shown = ", ".join(f"{r}x{c} ({name})" for (r, c), name in sorted(rows_cols.items())[:4])
        raise DicomSeriesError(f"instances differ in Rows/Columns (0028,0010)/(0028,0011): {shown}")
    (n_rows, n_cols), _ = rows_cols.popitem()
    if n_rows <= 0 or n_cols <= 0:
        raise DicomSeriesError(f"Rows/Columns (0028,0010)/(0028,0011) missing or zero in {first_path.name}")
    if n_rows > MAX_MATRIX or n_cols > MAX_MATRIX:
        raise DicomSeriesError(
            f"Rows/Columns (0028,0010)/(0028,0011) {n_rows}x{n_cols} in {first_path.name} exceed {MAX_MATRIX}; "
            "the header is damaged (nothing was allocated)"
        )
    allocated, _ = _check_pixel_format(items)
    expected = n_rows * n_cols * allocated // 8
    for item in items:
        if not item.has_pixel_data:
            raise DicomSeriesError(f"no pixel data (7FE0,0010) in {item.path.name}")
        if item.pixel_offset < 0:
            continue  # compressed: the decoder checks the frame size
        if item.pixel_length < expected or item.pixel_length > expected + 1:  # odd lengths are padded to even
            raise DicomSeriesError(
                f"pixel data of {item.path.name} is {item.pixel_length} bytes but Rows x Columns x BitsAllocated "
                f"({n_rows} x {n_cols} x {allocated} bits) need {expected}"
            )
        if item.pixel_offset + expected > item.size:
            have = max(0, item.size - item.pixel_offset)
            raise DicomSeriesError(
                f"pixel data of {item.path.name} is truncated: the file holds {have} of {expected} bytes"
            )

    spacings = [tuple(_vector(it.dataset, "PixelSpacing", "(0028,0030)", 2, it.path)) for it in items]
    if max(abs(a - b) for s in spacings for a, b in zip(s, spacings[0])) > 1e-4:
        shown = ", ".join(sorted({f"{s[0]:g}/{s[1]:g}" for s in spacings}))
        raise DicomSeriesError(f"instances differ in PixelSpacing (0028,0030): {shown} mm")
    row_spacing, col_spacing = spacings[0]  # along j, along i
    if not (row_spacing > 0 and col_spacing > 0):
        raise DicomSeriesError(f"PixelSpacing (0028,0030) must be positive; got {row_spacing:g}/{col_spacing:g}")

    orientations = np.array([_vector(it.dataset, "ImageOrientationPatient", "(0020,0037)", 6, it.path) for it in items])
    positions = np.array([_vector(it.dataset, "ImagePositionPatient", "(0020,0032)", 3, it.path) for it in items])
    deviation = np.abs(orientations - orientations[0]).max()
    if deviation > ORIENTATION_TOLERANCE:
        k = int(np.argmax(np.abs(orientations - orientations[0]).max(axis=1)))
        raise DicomSeriesError(
            f"mixed orientations: ImageOrientationPatient (0020,0037) of {items[k].path.name} differs from "
            f"{first_path.name} by {deviation:.3g}"
        )
    row_dir, col_dir = orientations[0][:3], orientations[0][3:]
    unit = abs(np.linalg.norm(row_dir) - 1) <= 1e-3 and abs(np.linalg.norm(col_dir) - 1) <= 1e-3
    if not unit or abs(row_dir @ col_dir) > 1e-3:
        raise DicomSeriesError("ImageOrientationPatient (0020,0037) is not two orthogonal unit vectors")
    row_dir = row_dir / np.linalg.norm(row_dir)
    col_dir = col_dir / np.linalg.norm(col_dir)
    normal = np.cross(row_dir, col_dir)
    normal /= np.linalg.norm(normal)

    along = positions @ normal
    order = np.argsort(along, kind="stable")
    along = along[order]
    positions = positions[order]
    items = [items[n] for n in order]

    n = len(items)
    gaps = np.diff(along)
    dup = np.flatnonzero(gaps < SPACING_TOLERANCE_MM)
    if dup.size:
        a, b = items[dup[0]].path.name, items[dup[0] + 1].path.name
        raise DicomSeriesError(
            f"duplicate slice positions: {dup.size + 1} instances share positions along the normal "
            f"(e.g. {a} and {b} at {along[dup[0]]:.3f} mm); dynamic or gated series are not supported"
        )
    spacing = float((along[-1] - along[0]) / (n - 1))
    if np.max(np.abs(gaps - spacing)) > max(SPACING_TOLERANCE_MM, SPACING_TOLERANCE_REL * abs(spacing)):
        shown = ", ".join(f"{g:g}" for g in sorted({round(float(g), 3) for g in gaps})[:6])
        worst = int(np.argmax(np.abs(gaps - spacing)))
        raise DicomSeriesError(
            f"non-uniform slice spacing: gaps of {shown} mm between slices (missing slices?); e.g. "
            f"{gaps[worst]:.4g} mm between {items[worst].path.name} and {items[worst + 1].path.name}"
        )
    # The stack must run along the normal (no shear / gantry tilt) for k = normal x spacing to hold.
    offsets = positions - positions[0] - np.outer(along - along[0], normal)
    shear = float(np.abs(offsets).max())
    if shear > max(SPACING_TOLERANCE_MM, SHEAR_TOLERANCE_PIXELS * min(row_spacing, col_spacing)):
        raise DicomSeriesError(
            f"slice positions are offset within the slice plane by up to {shear:.3g} mm (sheared stack, gantry "
            "tilt?); not supported"
        )

    m_lps = np.eye(4)
    m_lps[:3, 0] = row_dir * col_spacing
    m_lps[:3, 1] = col_dir * row_spacing
    m_lps[:3, 2] = normal * spacing
    m_lps[:3, 3] = positions[0]
    grid = VoxelGrid(LPS_TO_RAS @ m_lps, (n, n_rows, n_cols))
    return PetSeriesHeaders(
        files=[it.path for it in items],
        datasets=[it.dataset for it in items],
        grid=grid,
        series_uid=series_uid,
        notes=notes,
        pixel_offsets=[it.pixel_offset for it in items],
        pixel_kinds=[it.pixel_kind for it in items],
    )


# ---------------------------------------------------------------------------------------------------------------
# Pixel data


def _slice_format(ds: Dataset, kind: str = "integer"):
    """numpy dtype and bit handling of a native (uncompressed) slice; the reader checked the format beforehand."""
    meta = getattr(ds, "file_meta", None)
    big = str(getattr(meta, "TransferSyntaxUID", "")) == _EXPLICIT_BE
    if kind != "integer":
        size = 4 if kind == "float" else 8
        return np.dtype(f"{'>' if big else '<'}f{size}"), size * 8, size * 8, True
    bits_alloc = _unsigned_short(ds, "BitsAllocated")
    bits_stored = _unsigned_short(ds, "BitsStored") or bits_alloc
    signed = _unsigned_short(ds, "PixelRepresentation") == 1
    if bits_alloc not in (8, 16, 32):
        return None
    meta = getattr(ds, "file_meta", None)
    big = str(getattr(meta, "TransferSyntaxUID", "")) == _EXPLICIT_BE
    dtype = np.dtype(f"{'>' if big else '<'}{'i' if signed else 'u'}{bits_alloc // 8}")
    return dtype, bits_alloc, bits_stored, signed


def _read_one(path: Path, ds: Dataset, offset: int, shape: tuple[int, int], kind: str = "integer") -> np.ndarray:
    """Stored values of one slice as an integer (or, for float pixel data, float) array (not yet rescaled)."""
    fmt = _slice_format(ds, kind) if offset >= 0 else None
    count = shape[0] * shape[1]
    if fmt is not None:
        dtype, bits_alloc, bits_stored, signed = fmt
        try:
            raw = np.fromfile(path, dtype=dtype, count=count, offset=offset)
        except OSError as exc:
            reason = one_line(exc.strerror or exc)
            raise DicomSeriesError(f"pixel data of {path.name} cannot be read: {reason}") from None
        if raw.size != count:
            raise DicomSeriesError(f"pixel data of {path.name} is truncated ({raw.size} of {count} values)")
        if kind == "integer" and bits_stored < bits_alloc:
            shift = bits_alloc - bits_stored
            if signed:  # sign-extend from BitsStored
                within = (raw << shift) >> shift
            else:
                within = raw & ((1 << bits_stored) - 1)
            if not np.array_equal(within, raw):  # bits above BitsStored are set: the header or the data is wrong
                raise DicomSeriesError(
                    f"pixel values of {path.name} use more bits than BitsStored (0028,0101) {bits_stored} says"
                )
        return raw.reshape(shape)
    try:
        full = pydicom.dcmread(path)
        arr = full.pixel_array
    except Exception as exc:  # noqa: BLE001 - decoders raise many types
        raise DicomSeriesError(f"cannot decode the pixel data of {path.name}: {one_line(exc, 80)}") from None
    if arr.shape != shape:
        raise DicomSeriesError(f"pixel data of {path.name} has shape {arr.shape}, expected {shape}")
    return arr


def _rescale_of(ds: Dataset, path: Path) -> tuple[float, float]:
    try:
        slope = fast_number(ds, "RescaleSlope")
        intercept = fast_number(ds, "RescaleIntercept")
    except Exception:  # noqa: BLE001 - malformed values
        raise DicomSeriesError(
            f"RescaleSlope/RescaleIntercept (0028,1053)/(0028,1052) unreadable in {path.name}"
        ) from None
    if slope is None or intercept is None:
        raise DicomSeriesError(f"RescaleSlope/RescaleIntercept (0028,1053)/(0028,1052) missing in {path.name}")
    return slope, intercept


def _rescale_arrays(headers: PetSeriesHeaders) -> tuple[np.ndarray, np.ndarray]:
    """RescaleSlope and RescaleIntercept of every instance, in slice order."""
    pairs = [_rescale_of(ds, p) for ds, p in zip(headers.datasets, headers.files)]
    return np.array([s for s, _ in pairs]), np.array([b for _, b in pairs])


def _fill(headers: PetSeriesHeaders, scale: np.ndarray, shift: np.ndarray,
          progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Preallocated float32 [k, j, i] volume filled slice by slice with ``stored * scale[k] + shift[k]``, and the
    maximum of each slice (taken while the slice is in cache).

    ``progress(slices_done, slices)`` is called from the calling thread after each slice."""
    nk, nj, ni = headers.grid.shape_kji
    out = np.empty((nk, nj, ni), dtype=np.float32)
    maxima = np.empty(nk)
    offsets = headers.pixel_offsets if len(headers.pixel_offsets) == nk else [-1] * nk
    kinds = headers.pixel_kinds if len(headers.pixel_kinds) == nk else ["integer"] * nk

    def work(k: int) -> None:
        raw = _read_one(headers.files[k], headers.datasets[k], offsets[k], (nj, ni), kinds[k])
        np.multiply(raw, np.float32(scale[k]), out=out[k], casting="unsafe")
        if shift[k] != 0:
            out[k] += np.float32(shift[k])
        maxima[k] = out[k].max()

    # Reading and scaling release the GIL, so a few threads overlap file I/O with arithmetic.
    workers = min(4, os.cpu_count() or 1, nk)
    with quiet_pydicom():  # pydicom's decoder warnings on damaged files quote raw bytes
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for done, _ in enumerate(pool.map(work, range(nk)), start=1):
                    interruption.check()  # a Ctrl-C held by the caller is honoured between slices
                    if progress is not None:
                        progress(done, nk)
        else:
            for k in range(nk):
                work(k)
                interruption.check()
                if progress is not None:
                    progress(k + 1, nk)
    return out, maxima


def read_stored_slices(headers: PetSeriesHeaders) -> np.ndarray:
    """Voxels in modality units: float32 ``[k, j, i]`` of ``stored * RescaleSlope + RescaleIntercept`` per slice."""
    return _fill(headers, *_rescale_arrays(headers))[0]


def read_pet_volume(
    source,
    *,
    series_uid: str | None = None,
    normalization: str = "bw",
    overrides: SUVOverrides | None = None,
    progress=None,
) -> PetVolume:
    """Read a PET series and convert it to SUV.

    Parameters
    ----------
    source : folder, file or list of files
        See :func:`read_pet_headers`.
    series_uid : str, optional
        SeriesInstanceUID to read when there are several series.
    normalization : str
        ``"bw"`` (default), ``"lbm"``, ``"lbm-james128"``, ``"bsa"`` or ``"ibw"``; see :mod:`.suv`.
    overrides : SUVOverrides, optional
        User values for missing or wrong header attributes.
    progress : callable, optional
        ``progress(slices_read, slices)`` after each slice's pixels are read and scaled (from this thread).

    Returns
    -------
    PetVolume
        ``suv`` is float32 ``[k, j, i]`` = stored * RescaleSlope * factor, per slice.

    Raises
    ------
    DicomSeriesError, SUVError
    """
    headers, conversion = _headers_and_conversion(source, series_uid, normalization, overrides)
    slopes, intercepts = _rescale_arrays(headers)
    # SUV = (stored * slope + intercept) * factor; the SUV rules guarantee intercept == 0.
    suv, maxima = _fill(headers, slopes * conversion.factors, intercepts * conversion.factors, progress)
    check_suv_scale(suv, maxima, headers.files, conversion, overrides)
    return PetVolume(suv=suv, grid=headers.grid, conversion=conversion, headers=headers)


def _headers_and_conversion(source, series_uid, normalization, overrides) -> tuple[PetSeriesHeaders, SUVConversion]:
    """The series' headers and their SUV conversion, with the series notes in its audit."""
    headers = read_pet_headers(source, series_uid=series_uid)
    conversion = compute_suv_conversion(headers.datasets, normalization=normalization, overrides=overrides)
    conversion.audit.series_notes = list(headers.notes)
    for warning in headers.warnings:
        conversion.audit.warn(warning)
    return headers, conversion


def suv_of_loaded_volume(
    files,
    values: np.ndarray,
    grid: VoxelGrid,
    *,
    name: str = "the volume",
    normalization: str = "bw",
    overrides: SUVOverrides | None = None,
) -> PetVolume:
    """SUV of a PET volume another reader loaded (Slicer's DICOM module: modality values, its own slice order),
    with the factors :func:`read_pet_volume` computes from the headers of its files.

    Each instance is matched to the volume's slice at its position (the volume's slice order need not be the file
    order) and the volume's values are multiplied by that instance's factor; the SUV maximum is checked per slice,
    naming the slice's file.

    Raises
    ------
    DicomSeriesError, SUVError
        The files are not one PET series, SUV cannot be computed, or the instances do not match the slices.
    """
    headers, conversion = _headers_and_conversion(files, None, normalization, overrides)
    slices = grid.shape_kji[0]
    if len(headers.datasets) != slices:
        raise SUVError(f"{name} has {slices} slices but {len(headers.datasets)} DICOM instances")
    n = len(headers.datasets)
    k_of_instance = np.rint(grid.ras_to_continuous_ijk(headers.grid.ijk_to_ras_points(
        np.column_stack([np.zeros(n), np.zeros(n), np.arange(n)])))[:, 2]).astype(int)
    if sorted(k_of_instance.tolist()) != list(range(slices)):
        raise SUVError(f"the DICOM instances do not match the slices of {name}")
    factors = np.empty(slices, np.float32)
    factors[k_of_instance] = conversion.factors
    suv = values.astype(np.float32) * factors[:, None, None]
    files_by_slice = [None] * slices
    for instance, k in enumerate(k_of_instance):
        files_by_slice[k] = headers.files[instance]
    check_suv_scale(suv, suv.reshape(slices, -1).max(axis=1), files_by_slice, conversion, overrides)
    return PetVolume(suv=suv, grid=grid, conversion=conversion, headers=headers)
