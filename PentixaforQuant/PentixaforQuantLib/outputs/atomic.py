"""Output folders that appear whole or not at all, and that never lose the user's own files.

A run writes its files into a new folder beside the destination and, only when every file is written, puts that
folder in the destination's place. A run that fails or is interrupted (an error, Ctrl-C, a killed process) leaves
an earlier good result untouched and removes its partial folder.

The marker file :data:`MARKER` lists the files the tool wrote. A later run replaces exactly those: files an
earlier run wrote and this run did not (say a figure skipped this time) do not survive beside the new numbers,
while anything else in the folder (the user's notes, a folder of ROIs) is kept where it is. A folder without the
marker that holds anything is never written into.

Folders and files are created with the user's umask (``tempfile`` alone would make them private: 0700, 0600).
The scratch names are short and hidden (``.pfq-partial-…``) and never appear in a message, so any legal ``--out``
name works.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import interruption
from ..errors import PentixaforQuantError

#: Written into every folder this module completes, so a later run knows which files it may replace.
MARKER = ".pentixaforquant"
_MARKER_HEAD = "Written by PentixaforQuant; the next run replaces the files listed below and keeps anything else."
#: Prefixes of the scratch folders (hidden, short: a long output name must still fit the name limit).
SCRATCH_PREFIX = ".pfq-partial-"
ASIDE_PREFIX = ".pfq-old-"


class OutputFolderError(PentixaforQuantError):
    """The destination holds files this tool did not write and cannot keep (it is never replaced)."""


def user_umask() -> int:
    """The process umask (read without changing it where the system says it, as Linux does)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting it, then put it back at once
    os.umask(mask)
    return mask


def _apply_umask(path: Path, *, folder: bool) -> None:
    os.chmod(path, (0o777 if folder else 0o666) & ~user_umask())


def _written_by_tool(out: Path) -> set[str] | None:
    """Names the earlier run listed in its marker; None without a marker; an empty set for a marker of an older
    version (which listed nothing)."""
    marker = out / MARKER
    if not marker.is_file():
        return None
    try:
        lines = marker.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return set()
    return {line for line in lines[1:] if line and "/" not in line and line not in (".", "..")}


def _entries(out: Path) -> list[str]:
    try:
        return sorted(os.listdir(out))
    except OSError as exc:
        raise OutputFolderError(f"output folder {out} cannot be read: {exc.strerror or exc}") from None


def _check_replaceable(out: Path) -> None:
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        raise OutputFolderError(f"output folder {out} is a file; choose a folder")
    entries = [name for name in _entries(out) if name != MARKER]
    if entries and _written_by_tool(out) is None:
        raise OutputFolderError(
            f"output folder {out} already holds files this tool did not write ({entries[0]}, ...); "
            "choose a new or empty folder")


def _kept_entries(out: Path, new_names: set[str]) -> list[str]:
    """The entries of an earlier output folder that are the user's own and stay in the new folder.

    The tool's files are those its marker lists; a marker of an older version lists none, and then the files this
    run writes anew count as the tool's. A file of the user's that carries the name of a new output is refused
    (it is neither replaced nor kept beside the new one).
    """
    if not out.is_dir():
        return []
    listed = _written_by_tool(out)
    if listed is None:
        listed = set()
    legacy = not listed
    kept = []
    for name in _entries(out):
        if name == MARKER or name in listed or (legacy and name in new_names):
            continue
        if name in new_names:
            raise OutputFolderError(
                f"output folder {out} holds {name}, which this tool did not write but would write now; move it "
                "out or choose another folder")
        kept.append(name)
    return kept


def _resolved(out_dir) -> Path:
    """The destination as an absolute path without ``.``/``..`` (so that ``--out .`` has a name and a parent)."""
    try:
        return Path(out_dir).expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        raise OutputFolderError(f"output folder {out_dir} cannot be resolved: {exc}") from None


@contextmanager
def atomic_output_folder(out_dir) -> Iterator[Path]:
    """Yield a scratch folder to write into; on success its files replace the tool's files of ``out_dir``.

    The scratch folder is made in ``out_dir``'s parent (the same file system, so the final move is a rename).
    ``out_dir`` may be missing, empty, or an earlier output of this tool (it holds :data:`MARKER`); there, the
    files the earlier run listed are replaced as a whole and everything else is kept. A folder with other files
    and no marker is refused before anything is written. After an interrupt (even one a library swallowed)
    nothing is put in place.
    """
    out = _resolved(out_dir)
    if out.parent == out:
        raise OutputFolderError(f"output folder {out_dir} is the root of the file system; choose a folder")
    try:
        here = Path.cwd().resolve()
    except OSError:
        here = None
    if here is not None and (here == out or out in here.parents):
        raise OutputFolderError(f"output folder {out_dir} is the current folder (or holds it) and would be replaced "
                                "under your feet; choose a folder below it, e.g. --out results")
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=out.parent))
    try:
        _apply_umask(scratch, folder=True)
        yield scratch
        new_names = sorted(name for name in os.listdir(scratch) if name != MARKER)
        (scratch / MARKER).write_text(_MARKER_HEAD + "\n" + "".join(f"{n}\n" for n in new_names), encoding="utf-8")
        _apply_umask(scratch / MARKER, folder=False)
        interruption.check()  # an interrupt a library swallowed still keeps the earlier result
        _check_replaceable(out)  # nothing else appeared there meanwhile
        _commit(scratch, out, set(new_names))
    except OSError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise _named_by_destination(exc, scratch, out) from None
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _named_by_destination(exc: OSError, scratch: Path, out: Path) -> OSError:
    """The same error, naming the file in the destination instead of the scratch folder (whose name means nothing
    to the user)."""
    def mapped(name):
        if name is None:
            return None
        text = os.fspath(name)
        return str(out / Path(text).relative_to(scratch)) if text.startswith(str(scratch)) else text
    return type(exc)(exc.errno, exc.strerror, mapped(exc.filename)) if exc.errno is not None else exc


def _commit(scratch: Path, out: Path, new_names: set[str]) -> None:
    """Put ``scratch`` in the place of ``out``, moving the user's own entries of ``out`` into it first.

    The renames happen with Ctrl-C held; an interrupt that arrived meanwhile undoes them, so that an interrupted
    run always leaves the earlier folder as it was."""
    with interruption.held():
        kept = _kept_entries(out, new_names)
        moved: list[str] = []
        aside = None
        try:
            for name in kept:
                os.rename(out / name, scratch / name)
                moved.append(name)
            if out.exists() or out.is_symlink():
                aside = Path(tempfile.mkdtemp(prefix=ASIDE_PREFIX, dir=out.parent))
                os.replace(out, aside / "old")
            os.replace(scratch, out)
            if interruption.interrupted():
                raise KeyboardInterrupt
        except BaseException:
            _undo(scratch, out, aside, moved)
            raise
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


def _undo(scratch: Path, out: Path, aside: Path | None, moved: list[str]) -> None:
    """Put the earlier folder back as it was (the new files go back to the scratch folder, which is removed)."""
    if aside is not None and (aside / "old").exists():
        if out.exists() and not scratch.exists():
            os.replace(out, scratch)
        os.replace(aside / "old", out)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    for name in moved:
        os.rename(scratch / name, out / name)


def write_file_atomically(path, data: bytes | str) -> Path:
    """Write one file so that readers see the old content or the new, never a part (temp file + rename).

    The file gets the user's umask; nothing is put in place after an interrupt."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=SCRATCH_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        _apply_umask(Path(tmp), folder=False)
        interruption.check()
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) if exc.errno is not None else exc from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
