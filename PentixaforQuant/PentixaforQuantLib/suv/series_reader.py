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

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from .dicom_values import fast_number, fast_string, raw_bytes
from ..errors import DicomSeriesError
from ..geometry import LPS_TO_RAS, VoxelGrid
from .conversion import SUVConversion, SUVOverrides, compute_suv_conversion

__all__ = [
    "PetSeriesHeaders",
    "PetVolume",
    "read_pet_headers",
    "read_pet_volume",
    "read_stored_slices",
]

_ENHANCED_PET = {
    "1.2.840.10008.5.1.4.1.1.130": "Enhanced PET",
    "1.2.840.10008.5.1.4.1.1.128.1": "Legacy Converted Enhanced PET",
}
_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
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
    """

    files: list[Path]
    datasets: list[Dataset]
    grid: VoxelGrid
    series_uid: str
    notes: list[str] = field(default_factory=list)
    pixel_offsets: list[int] = field(default_factory=list)


@dataclass
class PetVolume:
    """A PET volume in SUV with its geometry, conversion audit and headers."""

    suv: np.ndarray  # float32 [k, j, i]
    grid: VoxelGrid
    conversion: SUVConversion
    headers: PetSeriesHeaders


# ---------------------------------------------------------------------------------------------------------------
# Finding and parsing the files


def _collect_paths(source) -> tuple[list[Path], str]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            if not files:
                raise DicomSeriesError(f"folder is empty: {path}")
            return files, f"folder {path}"
        if path.is_file():
            return [path], f"file {path}"
        raise DicomSeriesError(f"no such file or folder: {path}")
    try:
        files = [Path(p) for p in source]
    except TypeError:
        kind = type(source).__name__
        raise DicomSeriesError(f"source must be a folder, a file or a list of files; got {kind}") from None
    if not files:
        raise DicomSeriesError("the list of files is empty")
    missing = [p for p in files if not p.is_file()]
    if missing:
        raise DicomSeriesError(f"{len(missing)} of the given files do not exist (first: {missing[0]})")
    return files, f"{len(files)} given files"


def _pixel_value_offset(fp, ds: Dataset) -> int:
    """Offset of the pixel data value, when ``fp`` stands at the start of the (7FE0,0010) element; else -1.

    pydicom's ``stop_before_pixels`` rewinds to the start of the pixel data element; its header is 8 bytes
    (implicit VR) or 12 bytes (explicit VR OB/OW). Undefined length means encapsulated (compressed) data.
    """
    meta = getattr(ds, "file_meta", None)
    ts = str(getattr(meta, "TransferSyntaxUID", "")) if meta is not None else ""
    if ts not in (_IMPLICIT_LE, _EXPLICIT_LE, _EXPLICIT_BE):
        return -1
    start = fp.tell()
    head = fp.read(12)
    if len(head) < 8:
        return -1
    little = ts != _EXPLICIT_BE
    order = "little" if little else "big"
    group = int.from_bytes(head[0:2], order)
    element = int.from_bytes(head[2:4], order)
    if (group, element) != (0x7FE0, 0x0010):
        return -1
    if ts == _IMPLICIT_LE:
        length, header_len = int.from_bytes(head[4:8], order), 8
    else:
        if head[4:6] not in (b"OB", b"OW", b"UN"):
            return -1
        if len(head) < 12:
            return -1
        length, header_len = int.from_bytes(head[8:12], order), 12
    if length == 0xFFFFFFFF:
        return -1
    return start + header_len


def _read_header(path: Path) -> tuple[Dataset, int] | None:
    """(header without pixel data, pixel value offset) or None for files that are not DICOM."""
    try:
        with open(path, "rb") as fp:
            try:
                ds = pydicom.dcmread(fp, stop_before_pixels=True)
            except InvalidDicomError:
                # Files without the 128-byte preamble: accept only when they start like a DICOM data set
                # (group 0002 or 0008, little endian), so that arbitrary files are not parsed as DICOM.
                fp.seek(0)
                if fp.read(2) not in (b"\x02\x00", b"\x08\x00"):
                    return None
                fp.seek(0)
                ds = pydicom.dcmread(fp, stop_before_pixels=True, force=True)
            offset = _pixel_value_offset(fp, ds)
    except (OSError, InvalidDicomError, EOFError):
        return None
    except Exception:  # noqa: BLE001 - pydicom raises many types on corrupt input; such files are skipped
        return None
    if "SOPInstanceUID" not in ds and "SeriesInstanceUID" not in ds:
        return None
    return ds, offset


def _describe(ds: Dataset) -> str:
    desc = str(ds.get("SeriesDescription", "") or "").strip()
    return f"'{desc}'" if desc else "no description"


def read_pet_headers(source, *, series_uid: str | None = None) -> PetSeriesHeaders:
    """Read and check the headers of one PET series.

    Parameters
    ----------
    source : str, Path or iterable of paths
        A folder (searched recursively; non-DICOM files are ignored), a single file, or a list of files.
    series_uid : str, optional
        SeriesInstanceUID to read when the files hold several series. Without it, the PET series with the most
        instances is taken and a note says which.

    Returns
    -------
    PetSeriesHeaders

    Raises
    ------
    DicomSeriesError
        No DICOM, no PET, unknown series, multi-frame PET, missing position/orientation, mixed orientations,
        inconsistent matrix size or pixel spacing, duplicate positions, non-uniform slice spacing.
    """
    paths, what = _collect_paths(source)
    by_series: dict[str, list[tuple[Path, Dataset, int]]] = {}
    modality_of: dict[str, str] = {}
    n_dicom = 0
    for path in paths:
        got = _read_header(path)
        if got is None:
            continue
        ds, offset = got
        n_dicom += 1
        uid = _text_or_empty(ds, "SeriesInstanceUID")
        if not uid:
            continue
        by_series.setdefault(uid, []).append((path, ds, offset))
        if uid not in modality_of:
            modality_of[uid] = _text_or_empty(ds, "Modality").upper() or "unknown"
    if n_dicom == 0:
        raise DicomSeriesError(f"no DICOM files in {what}")
    pet = {uid: items for uid, items in by_series.items() if modality_of[uid] == "PT"}
    notes: list[str] = []

    if series_uid is not None:
        series_uid = str(series_uid).strip()
        if series_uid not in by_series:
            listed = ", ".join(sorted(pet)) or "none"
            raise DicomSeriesError(f"series {series_uid} not found in {what} (PET series there: {listed})")
        if series_uid not in pet:
            raise DicomSeriesError(f"series {series_uid} is not PET: Modality is {modality_of[series_uid]}")
        chosen = series_uid
    else:
        if not pet:
            found: dict[str, int] = {}
            for uid in by_series:
                found[modality_of[uid]] = found.get(modality_of[uid], 0) + 1
            listed = ", ".join(f"{m} ({n} series)" for m, n in sorted(found.items())) or "no image series"
            raise DicomSeriesError(f"no PET series (Modality PT) in {what}; found {listed}")
        ranked = sorted(pet, key=lambda u: (-len(pet[u]), u))
        chosen = ranked[0]
        if len(ranked) > 1:
            others = "; ".join(f"{u} ({len(pet[u])} instances, {_describe(pet[u][0][1])})" for u in ranked[1:])
            notes.append(
                f"{len(ranked)} PET series found; read {chosen} ({len(pet[chosen])} instances, "
                f"{_describe(pet[chosen][0][1])}), the one with the most instances; not read: {others}"
            )
    others = [u for u in by_series if u not in pet]
    if others:
        kinds = sorted({modality_of[u] for u in others})
        n_files = sum(len(by_series[u]) for u in others)
        notes.append(
            f"{n_files} DICOM file{'s' if n_files != 1 else ''} of {len(others)} non-PET series "
            f"({', '.join(kinds)}) ignored"
        )

    # The same instance stored twice (copied folders) is read once.
    items, seen = [], set()
    for item in by_series[chosen]:
        uid = _text_or_empty(item[1], "SOPInstanceUID")
        if uid and uid in seen:
            continue
        seen.add(uid)
        items.append(item)
    if len(items) < len(by_series[chosen]):
        n_copies = len(by_series[chosen]) - len(items)
        notes.append(f"{n_copies} file(s) repeating an instance already read (same SOPInstanceUID) ignored")
    return _assemble(items, chosen, notes)


def _text_or_empty(ds: Dataset, keyword: str) -> str:
    try:
        return fast_string(ds, keyword) or ""
    except Exception:  # noqa: BLE001 - unreadable value: treated as absent
        return ""


def _vector(ds: Dataset, keyword: str, tag: str, n: int, path: Path) -> np.ndarray:
    raw = raw_bytes(ds, keyword)
    if isinstance(raw, bytes):  # undecoded DS text: parse it directly (much faster than decoding)
        parts = raw.strip(b" \x00").split(b"\\") if raw.strip(b" \x00") else []
        value = parts
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


def _rows_columns(ds: Dataset) -> tuple[int, int]:
    """(Rows, Columns), reading the undecoded US values directly when possible."""
    out = []
    for keyword in ("Rows", "Columns"):
        elem = ds.get_item(keyword)
        raw = getattr(elem, "value", None) if elem is not None else None
        if isinstance(raw, bytes) and len(raw) == 2 and getattr(elem, "VR", None) in (None, "US"):
            out.append(int.from_bytes(raw, "little" if elem.is_little_endian else "big"))
        else:
            try:
                out.append(int(ds.get(keyword) or 0))
            except (TypeError, ValueError):
                out.append(0)
    return out[0], out[1]


def _assemble(items: list[tuple[Path, Dataset, int]], series_uid: str, notes: list[str]) -> PetSeriesHeaders:
    first_path, first, _ = items[0]
    for path, ds, _ in items:
        sop_class = _text_or_empty(ds, "SOPClassUID")
        try:
            frames = fast_number(ds, "NumberOfFrames")
        except Exception:  # noqa: BLE001 - an unreadable NumberOfFrames is treated as absent
            frames = None
        n_frames = int(frames) if frames else 1
        if sop_class in _ENHANCED_PET or n_frames > 1:
            kind = _ENHANCED_PET.get(sop_class, f"{n_frames} frames")
            raise DicomSeriesError(
                f"multi-frame PET ({kind}, {path.name}) is not supported yet; export the series as single-frame "
                "PET Image Storage"
            )

    rows_cols = {_rows_columns(ds) for _, ds, _ in items}
    if len(rows_cols) > 1:
        shown = ", ".join(f"{r}x{c}" for r, c in sorted(rows_cols))
        raise DicomSeriesError(f"instances differ in Rows/Columns (0028,0010)/(0028,0011): {shown}")
    n_rows, n_cols = rows_cols.pop()
    if n_rows <= 0 or n_cols <= 0:
        raise DicomSeriesError(f"Rows/Columns (0028,0010)/(0028,0011) missing or zero in {first_path.name}")

    spacings = [tuple(_vector(ds, "PixelSpacing", "(0028,0030)", 2, p)) for p, ds, _ in items]
    if max(abs(a - b) for s in spacings for a, b in zip(s, spacings[0])) > 1e-4:
        shown = ", ".join(sorted({f"{s[0]:g}/{s[1]:g}" for s in spacings}))
        raise DicomSeriesError(f"instances differ in PixelSpacing (0028,0030): {shown} mm")
    row_spacing, col_spacing = spacings[0]  # along j, along i
    if not (row_spacing > 0 and col_spacing > 0):
        raise DicomSeriesError(f"PixelSpacing (0028,0030) must be positive; got {row_spacing:g}/{col_spacing:g}")

    orientations = np.array([_vector(ds, "ImageOrientationPatient", "(0020,0037)", 6, p) for p, ds, _ in items])
    positions = np.array([_vector(ds, "ImagePositionPatient", "(0020,0032)", 3, p) for p, ds, _ in items])
    deviation = np.abs(orientations - orientations[0]).max()
    if deviation > ORIENTATION_TOLERANCE:
        k = int(np.argmax(np.abs(orientations - orientations[0]).max(axis=1)))
        raise DicomSeriesError(
            f"mixed orientations: ImageOrientationPatient (0020,0037) of {items[k][0].name} differs from "
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
    if n > 1:
        gaps = np.diff(along)
        dup = np.flatnonzero(gaps < SPACING_TOLERANCE_MM)
        if dup.size:
            a, b = items[dup[0]][0].name, items[dup[0] + 1][0].name
            raise DicomSeriesError(
                f"duplicate slice positions: {dup.size + 1} instances share positions along the normal "
                f"(e.g. {a} and {b} at {along[dup[0]]:.3f} mm); dynamic or gated series are not supported"
            )
        spacing = float((along[-1] - along[0]) / (n - 1))
        if np.max(np.abs(gaps - spacing)) > max(SPACING_TOLERANCE_MM, SPACING_TOLERANCE_REL * abs(spacing)):
            shown = ", ".join(f"{g:g}" for g in sorted({round(float(g), 3) for g in gaps})[:6])
            raise DicomSeriesError(f"non-uniform slice spacing: gaps of {shown} mm between slices (missing slices?)")
        # The stack must run along the normal (no shear / gantry tilt) for k = normal x spacing to hold.
        offsets = positions - positions[0] - np.outer(along - along[0], normal)
        shear = float(np.abs(offsets).max())
        if shear > max(SPACING_TOLERANCE_MM, SHEAR_TOLERANCE_PIXELS * min(row_spacing, col_spacing)):
            raise DicomSeriesError(
                f"slice positions are offset within the slice plane by up to {shear:.3g} mm (sheared stack, gantry "
                "tilt?); not supported"
            )
    else:
        try:
            spacing = fast_number(first, "SliceThickness") or 0.0
        except Exception:  # noqa: BLE001 - malformed SliceThickness: treated as absent
            spacing = 0.0
        if not spacing > 0:
            spacing = 1.0
            notes.append("single slice without SliceThickness: slice spacing set to 1 mm")
        else:
            notes.append(f"single slice: slice spacing taken from SliceThickness ({spacing:g} mm)")

    m_lps = np.eye(4)
    m_lps[:3, 0] = row_dir * col_spacing
    m_lps[:3, 1] = col_dir * row_spacing
    m_lps[:3, 2] = normal * spacing
    m_lps[:3, 3] = positions[0]
    grid = VoxelGrid(LPS_TO_RAS @ m_lps, (n, n_rows, n_cols))
    return PetSeriesHeaders(
        files=[p for p, _, _ in items],
        datasets=[ds for _, ds, _ in items],
        grid=grid,
        series_uid=series_uid,
        notes=notes,
        pixel_offsets=[off for _, _, off in items],
    )


# ---------------------------------------------------------------------------------------------------------------
# Pixel data


def _slice_format(ds: Dataset):
    """numpy dtype and bit mask handling for a native (uncompressed) slice, or None when not supported here."""
    try:
        bits_alloc = int(ds.BitsAllocated)
        bits_stored = int(ds.get("BitsStored", bits_alloc))
        signed = int(ds.PixelRepresentation) == 1
        samples = int(ds.get("SamplesPerPixel", 1))
    except (AttributeError, TypeError, ValueError):
        return None
    if samples != 1 or bits_alloc not in (8, 16, 32):
        return None
    meta = getattr(ds, "file_meta", None)
    big = str(getattr(meta, "TransferSyntaxUID", "")) == _EXPLICIT_BE
    dtype = np.dtype(f"{'>' if big else '<'}{'i' if signed else 'u'}{bits_alloc // 8}")
    return dtype, bits_alloc, bits_stored, signed


def _read_one(path: Path, ds: Dataset, offset: int, shape: tuple[int, int]) -> np.ndarray:
    """Stored values of one slice as an integer array (not yet rescaled)."""
    fmt = _slice_format(ds) if offset >= 0 else None
    count = shape[0] * shape[1]
    if fmt is not None:
        dtype, bits_alloc, bits_stored, signed = fmt
        raw = np.fromfile(path, dtype=dtype, count=count, offset=offset)
        if raw.size != count:
            raise DicomSeriesError(f"pixel data of {path.name} is truncated ({raw.size} of {count} values)")
        if bits_stored < bits_alloc:
            shift = bits_alloc - bits_stored
            if signed:  # sign-extend from BitsStored
                raw = (raw << shift) >> shift
            else:
                raw = raw & ((1 << bits_stored) - 1)
        return raw.reshape(shape)
    try:
        full = pydicom.dcmread(path)
        arr = full.pixel_array
    except Exception as exc:  # noqa: BLE001 - decoders raise many types
        raise DicomSeriesError(f"cannot decode the pixel data of {path.name}: {exc}") from None
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


def _fill(headers: PetSeriesHeaders, scale: np.ndarray, shift: np.ndarray, progress=None) -> np.ndarray:
    """Preallocated float32 [k, j, i] volume filled slice by slice with ``stored * scale[k] + shift[k]``.

    ``progress(slices_done, slices)`` is called from the calling thread after each slice."""
    nk, nj, ni = headers.grid.shape_kji
    out = np.empty((nk, nj, ni), dtype=np.float32)
    offsets = headers.pixel_offsets if len(headers.pixel_offsets) == nk else [-1] * nk

    def work(k: int) -> None:
        raw = _read_one(headers.files[k], headers.datasets[k], offsets[k], (nj, ni))
        np.multiply(raw, np.float32(scale[k]), out=out[k], casting="unsafe")
        if shift[k] != 0:
            out[k] += np.float32(shift[k])

    # Reading and scaling release the GIL, so a few threads overlap file I/O with arithmetic.
    workers = min(4, os.cpu_count() or 1, nk)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done, _ in enumerate(pool.map(work, range(nk)), start=1):
                if progress is not None:
                    progress(done, nk)
    else:
        for k in range(nk):
            work(k)
            if progress is not None:
                progress(k + 1, nk)
    return out


def read_stored_slices(headers: PetSeriesHeaders) -> np.ndarray:
    """Voxels in modality units: float32 ``[k, j, i]`` of ``stored * RescaleSlope + RescaleIntercept`` per slice."""
    pairs = [_rescale_of(ds, p) for ds, p in zip(headers.datasets, headers.files)]
    slopes = np.array([s for s, _ in pairs])
    intercepts = np.array([b for _, b in pairs])
    return _fill(headers, slopes, intercepts)


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
    headers = read_pet_headers(source, series_uid=series_uid)
    conversion = compute_suv_conversion(headers.datasets, normalization=normalization, overrides=overrides)
    pairs = [_rescale_of(ds, p) for ds, p in zip(headers.datasets, headers.files)]
    # SUV = (stored * slope + intercept) * factor; the SUV rules guarantee intercept == 0.
    scale = np.array([s for s, _ in pairs]) * conversion.factors
    shift = np.array([b for _, b in pairs]) * conversion.factors
    suv = _fill(headers, scale, shift, progress)
    return PetVolume(suv=suv, grid=headers.grid, conversion=conversion, headers=headers)
