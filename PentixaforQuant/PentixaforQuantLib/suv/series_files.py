"""Finding and parsing the files of a DICOM folder: which are DICOM, which are damaged, in bounded time.

Every file is classified as one of

- **read**: a DICOM data set whose header was parsed up to its pixel data (or to its end, for objects without
  pixel data such as a DICOMDIR);
- **ignored**: not DICOM by its content (no ``DICM`` marker at byte 128 and no group 0002/0008 element at byte 0),
  with a name that does not claim to be DICOM (``.dcm``, ``.dicom``, ``.ima``), or a hidden file;
- **damaged**: a file that looks like DICOM, or is named like DICOM, or is an empty file among the slices, and
  cannot be read (empty, truncated, unreadable, garbage after a DICOM start). The series reader names every
  damaged file that may belong to the series it reads in a refusal; none is ever skipped silently.

Headers are parsed from the first :data:`HEADER_READ_AHEAD_BYTES` bytes held in memory; a header longer than
that is parsed from the file with at most :data:`HEADER_MAX_READS` reads, so that a file that starts like DICOM
and continues with garbage (pydicom takes ~0.3 s per MB of zeros) costs a bounded time.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from .dicom_values import quiet_pydicom
from ..errors import DicomSeriesError

__all__ = [
    "HEADER_MAX_READS",
    "HEADER_READ_AHEAD_BYTES",
    "PET_IMAGE_STORAGE",
    "PET_SOP_CLASSES",
    "ParsedFile",
    "collect_paths",
    "is_pet_like",
    "one_line",
    "parse_file",
]

#: Header bytes read ahead into memory; PET headers are a few kB to some tens of kB.
HEADER_READ_AHEAD_BYTES = 256 * 1024
#: Reads pydicom may make on a header that does not fit in the read-ahead before the file is called garbage
#: (a header element costs about three reads; a header that needs more than 10 000 elements beyond the read-ahead
#: is not a PET header). Parsing 30 000 reads of garbage takes about 0.2 s.
HEADER_MAX_READS = 30_000

PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
PET_SOP_CLASSES = {
    PET_IMAGE_STORAGE: "PET Image Storage",
    "1.2.840.10008.5.1.4.1.1.130": "Enhanced PET",
    "1.2.840.10008.5.1.4.1.1.128.1": "Legacy Converted Enhanced PET",
}
_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"
_DEFLATED_LE = "1.2.840.10008.1.2.1.99"
_DICOM_SUFFIXES = {".dcm", ".dicom", ".ima", ".dic"}
#: Suffixes of files that are never DICOM slices (an empty file with one of these is not a damaged slice).
_OTHER_SUFFIXES = {
    ".txt", ".md", ".rst", ".json", ".csv", ".tsv", ".xml", ".html", ".htm", ".pdf", ".png", ".jpg", ".jpeg",
    ".gif", ".log", ".ini", ".cfg", ".yaml", ".yml", ".toml", ".nrrd", ".nii", ".gz", ".zip", ".mrb", ".py",
    ".sh", ".bat", ".mha", ".mhd", ".raw", ".tar", ".xz", ".bz2", ".7z",
}


@dataclass
class ParsedFile:
    """One file of the folder and what could be read from it.

    Attributes
    ----------
    path : Path
    status : str
        ``"read"``, ``"ignored"`` or ``"damaged"``.
    reason : str
        Why the file is ignored or damaged (one line).
    dataset : pydicom.Dataset or None
        The header without pixel data (``status == "read"``).
    has_pixel_data : bool
        The header ends at a Pixel Data (7FE0,0010) element (native or encapsulated).
    pixel_offset : int
        Byte offset of the native pixel data value, -1 when unknown (compressed or absent).
    pixel_length : int
        Declared length of the native pixel data value in bytes, -1 when unknown.
    size : int
        File size in bytes.
    pixel_kind : str
        ``"integer"`` (Pixel Data (7FE0,0010)), ``"float"`` (Float Pixel Data (7FE0,0008)) or ``"double"``
        (Double Float Pixel Data (7FE0,0009)).
    """

    path: Path
    status: str
    reason: str = ""
    dataset: Dataset | None = None
    has_pixel_data: bool = False
    pixel_offset: int = -1
    pixel_length: int = -1
    size: int = 0
    pixel_kind: str = "integer"


def one_line(text, limit: int = 120) -> str:
    """A message fragment without line breaks or binary garbage (pydicom's messages may quote raw bytes)."""
    s = "".join(c if c.isprintable() else "?" for c in str(text).replace("\n", " "))
    return s if len(s) <= limit else s[: limit - 3] + "..."


def collect_paths(source, unreadable: list[str] | None = None) -> tuple[list[Path], str]:
    """The files of ``source`` (a folder searched recursively, a file, or a list of files) and a description.

    Folders are searched through symbolic links too (each real folder once). A subfolder that cannot be listed,
    or a link that leads nowhere, is never skipped silently: it is named in ``unreadable`` (one line each) and,
    when nothing else is readable, in the refusal.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            problems: list[str] = []
            files = _walk(path, problems)
            if unreadable is not None:
                unreadable.extend(problems)
            if not files:
                if problems:
                    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                    raise DicomSeriesError(f"folder {path} holds no readable files: {problems[0]}{more}")
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


def _walk(top: Path, problems: list[str]) -> list[Path]:
    """Every file below ``top``, sorted, following links to folders once each; what cannot be read goes to
    ``problems``."""
    def failed(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else top
        shown = where.relative_to(top) if where != top and top in where.parents else where
        kind = "folder" if where != top else "the folder"
        problems.append(f"{kind} {shown} cannot be read ({one_line(exc.strerror or exc)})")

    seen: set[tuple[int, int]] = set()
    files: list[Path] = []
    for folder, dirs, names in os.walk(top, onerror=failed, followlinks=True):
        try:
            st = os.stat(folder)
        except OSError as exc:
            failed(exc)
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:  # a link back to a folder already searched
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        for name in names + [d for d in dirs if not os.path.exists(os.path.join(folder, d))]:
            path = Path(folder) / name
            if path.is_file():
                files.append(path)
            elif path.is_symlink() and not path.exists():
                problems.append(f"link {path.relative_to(top)} leads nowhere")
    return sorted(files)


def _named_like_dicom(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in _DICOM_SUFFIXES


def _may_be_a_slice(path: Path) -> bool:
    """A file whose name does not rule out a DICOM slice (DICOM exports often have no or a numeric suffix)."""
    if path.name.startswith("."):
        return False
    suffix = path.suffix.lower()
    return suffix not in _OTHER_SUFFIXES


def parse_file(path: Path) -> ParsedFile:
    """Classify and parse one file (never raises for a bad file; see the module docstring)."""
    if path.name.startswith(".") or path.name.upper() == "DICOMDIR":
        return ParsedFile(path, "ignored", "hidden file or DICOMDIR")
    try:
        size = path.stat().st_size
        with open(path, "rb") as fp:
            head = fp.read(HEADER_READ_AHEAD_BYTES)
    except OSError as exc:
        status = "damaged" if _may_be_a_slice(path) else "ignored"
        return ParsedFile(path, status, f"cannot be read: {one_line(exc.strerror or exc)}")
    if size == 0:
        status = "damaged" if _may_be_a_slice(path) else "ignored"
        return ParsedFile(path, status, "the file is empty (0 bytes)")
    preamble = len(head) >= 132 and head[128:132] == b"DICM"
    bare = not preamble and head[:2] in (b"\x02\x00", b"\x08\x00")
    if not (preamble or bare):
        if _named_like_dicom(path):
            return ParsedFile(path, "damaged", "named like DICOM but not DICOM (no DICM marker at byte 128)", size=size)
        return ParsedFile(path, "ignored", "not DICOM", size=size)
    with quiet_pydicom():
        return _parse_header(path, head, size, force=bare)


class _TooManyReads(Exception):
    pass


class _BoundedFile:
    """A read-only file object that refuses to serve more than ``limit`` reads."""

    def __init__(self, fp, limit: int):
        self._fp, self._left = fp, limit
        self.name = getattr(fp, "name", "")

    def read(self, n=-1):
        self._left -= 1
        if self._left < 0:
            raise _TooManyReads
        return self._fp.read(n)

    def seek(self, *args):
        return self._fp.seek(*args)

    def tell(self):
        return self._fp.tell()

    def close(self):
        pass


def _parse_header(path: Path, head: bytes, size: int, *, force: bool) -> ParsedFile:
    fits = size <= len(head)
    partial = None
    try:
        stream = io.BytesIO(head)
        ds = pydicom.dcmread(stream, stop_before_pixels=True, force=force)
        if not fits and stream.tell() >= len(head) - 12:
            partial = ds
            raise EOFError("header longer than the read-ahead")
    except _TooManyReads:  # pragma: no cover - only the bounded file raises it
        raise
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on damaged input
        if fits:
            return ParsedFile(path, "damaged", f"not a readable DICOM file ({one_line(exc, 80)})", size=size)
        # The header is longer than the read-ahead (or an element crosses its end): parse from the file, bounded.
        try:
            with open(path, "rb") as raw:
                stream = _BoundedFile(raw, HEADER_MAX_READS)
                ds = pydicom.dcmread(stream, stop_before_pixels=True, force=force)
                return _finish(path, ds, stream, size)
        except _TooManyReads:
            sop = _sop_class(partial)
            what = f"a {PET_SOP_CLASSES.get(sop, sop)} header" if sop else "garbage after a DICOM start?"
            return ParsedFile(
                path, "damaged", f"starts like DICOM but its header does not end within {HEADER_MAX_READS} reads "
                f"({one_line(what, 80)})", size=size,
            )
        except Exception as exc2:  # noqa: BLE001
            return ParsedFile(path, "damaged", f"not a readable DICOM file ({one_line(exc2, 80)})", size=size)
    return _finish(path, ds, stream, size)


class _DamagedPixelElement(Exception):
    pass


def _sop_class(ds) -> str:
    """SOPClassUID of a (partial) header, or ""."""
    try:
        return str(ds.get("SOPClassUID", "") or "").strip() if ds is not None else ""
    except Exception:  # noqa: BLE001 - unreadable value
        return ""


def _finish(path: Path, ds: Dataset, stream, size: int) -> ParsedFile:
    try:
        has_pixels, offset, length, kind = _pixel_data_position(stream, ds)
    except _DamagedPixelElement as exc:
        return ParsedFile(path, "damaged", str(exc), size=size)
    # Point the data set at its file, not at the read-ahead buffer (which it would otherwise keep alive).
    if getattr(ds, "buffer", None) is not None:
        ds.buffer = None
    ds.filename, ds.fileobj_type = str(path), open
    return ParsedFile(path, "read", dataset=ds, has_pixel_data=has_pixels, pixel_offset=offset,
                      pixel_length=length, size=size, pixel_kind=kind)


#: The three pixel data elements of DICOM (PS3.3 C.7.6.3, C.7.6.24): element number -> (kind, name, VRs allowed
#: in explicit VR Little and Big Endian). PET images may be stored as floats (Float Pixel Data).
_PIXEL_ELEMENTS = {
    0x0010: ("integer", "Pixel Data (7FE0,0010)", (b"OB", b"OW", b"UN"), (b"OB", b"OW")),
    0x0008: ("float", "Float Pixel Data (7FE0,0008)", (b"OF", b"UN"), (b"OF",)),
    0x0009: ("double", "Double Float Pixel Data (7FE0,0009)", (b"OD", b"UN"), (b"OD",)),
}


def _pixel_data_position(fp, ds: Dataset) -> tuple[bool, int, int, str]:
    """(stands at pixel data, offset of the native value or -1, declared length or -1, kind of pixel data).

    pydicom's ``stop_before_pixels`` leaves the stream at the start of the pixel data element: (7FE0,0010)
    Pixel Data, (7FE0,0008) Float Pixel Data or (7FE0,0009) Double Float Pixel Data. Its header is 8 bytes
    (implicit VR) or 12 bytes (explicit VR OB/OW/OF/OD). Undefined length means encapsulated (compressed) data.
    """
    meta = getattr(ds, "file_meta", None)
    ts = str(getattr(meta, "TransferSyntaxUID", "")) if meta is not None else ""
    if ts == _DEFLATED_LE:  # the data set was inflated into a buffer of pydicom's: position unknown here
        return True, -1, -1, _kind_of_inflated(ds)
    start = fp.tell()
    head = fp.read(12)
    if len(head) < 8:
        return False, -1, -1, "integer"
    big = ts == _EXPLICIT_BE
    order = "big" if big else "little"
    group, element = int.from_bytes(head[0:2], order), int.from_bytes(head[2:4], order)
    if group != 0x7FE0 or element not in _PIXEL_ELEMENTS:
        return False, -1, -1, "integer"
    kind, name, allowed_le, allowed_be = _PIXEL_ELEMENTS[element]
    if ts not in (_IMPLICIT_LE, _EXPLICIT_LE, _EXPLICIT_BE):
        return True, -1, -1, kind
    if ts == _IMPLICIT_LE:
        length, header_len = int.from_bytes(head[4:8], order), 8
    else:
        allowed = allowed_be if big else allowed_le
        if head[4:6] not in allowed or len(head) < 12:
            # A damaged VR would make pydicom decode the pixels with another byte order or word size.
            expected = " or ".join(v.decode() for v in allowed if v != b"UN")
            raise _DamagedPixelElement(f"{name} has VR {one_line(head[4:6])!s} (expected {expected})")
        length, header_len = int.from_bytes(head[8:12], order), 12
    if length == 0xFFFFFFFF:
        return True, -1, -1, kind
    return True, start + header_len, length, kind


def _kind_of_inflated(ds: Dataset) -> str:
    """The kind of pixel data of a deflated data set (pydicom read it whole into memory)."""
    return "float" if "FloatPixelData" in ds else "double" if "DoubleFloatPixelData" in ds else "integer"


def is_pet_like(ds: Dataset) -> bool:
    """Modality PT, or a PET SOP class in the data set or its file meta information."""
    def get(obj, keyword):
        try:
            return str(obj.get(keyword, "") or "").strip()
        except Exception:  # noqa: BLE001 - unreadable value: treated as absent
            return ""

    meta = getattr(ds, "file_meta", None)
    return (
        get(ds, "Modality").upper() == "PT"
        or get(ds, "SOPClassUID") in PET_SOP_CLASSES
        or (meta is not None and get(meta, "MediaStorageSOPClassUID") in PET_SOP_CLASSES)
    )
