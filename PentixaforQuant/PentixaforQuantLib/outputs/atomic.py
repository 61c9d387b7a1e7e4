"""Output folders that appear whole or not at all.

A run writes its files into a new folder beside the destination and, only when every file is written, puts that
folder in the destination's place. A run that fails or is interrupted (an error, Ctrl-C, a killed process) leaves
an earlier good result untouched and removes its partial folder; files an earlier run wrote and this run did not
(say a figure skipped this time) do not survive beside the new numbers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import PentixaforQuantError

#: Written into every folder this module completes, so a later run knows it may replace the folder.
MARKER = ".pentixaforquant"


class OutputFolderError(PentixaforQuantError):
    """The destination holds files this tool did not write (it is never replaced)."""


def _check_replaceable(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputFolderError(f"output folder {out} is a file; choose a folder")
    entries = list(out.iterdir())
    if entries and not (out / MARKER).is_file():
        raise OutputFolderError(
            f"output folder {out} already holds files this tool did not write ({entries[0].name}, ...); "
            "choose a new or empty folder")


@contextmanager
def atomic_output_folder(out_dir) -> Iterator[Path]:
    """Yield a scratch folder to write into; on success it replaces ``out_dir`` as a whole.

    The scratch folder is made in ``out_dir``'s parent (the same file system, so the final move is a rename).
    ``out_dir`` may be missing, empty, or an earlier output of this tool (it holds :data:`MARKER`); a folder
    with other files is refused before anything is written.
    """
    out = Path(out_dir)
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield scratch
        (scratch / MARKER).write_text("Written by PentixaforQuant; the whole folder is replaced by the next run.\n",
                                      encoding="utf-8")
        _check_replaceable(out)  # nothing else appeared there meanwhile
        if out.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, aside / out.name)
            os.replace(scratch, out)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(scratch, out)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def write_file_atomically(path, data: bytes | str) -> Path:
    """Write one file so that readers see the old content or the new, never a part (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
