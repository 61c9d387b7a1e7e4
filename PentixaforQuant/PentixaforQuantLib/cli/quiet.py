"""What reaches the terminal. Library noise stays off it: pydicom warnings, Python logging, and what VTK, ITK and
the NIfTI library print from C++ straight to file descriptor 2; the command's own messages still reach stderr.
``--verbose`` lets all of it through (:func:`library_output` with ``quiet=False`` does nothing).

Messages can quote untrusted text (labels, DICOM values): :func:`terminal_line` makes them one line and shows
control characters escaped, so that no file can move the cursor or recolour the terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from contextlib import contextmanager

__all__ = ["library_output", "terminal_line"]


def terminal_line(text) -> str:
    """``text`` on one line (runs of whitespace become one space), control characters shown as escapes."""
    line = " ".join(str(text).split())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


@contextmanager
def library_output(*, quiet: bool = True):
    """Within the block, silence library warnings and logs, and send C-level writes to fd 2 to the null device."""
    if not quiet:
        yield
        return
    previous_disable = logging.root.manager.disable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        try:
            with _fd2_to_null():
                yield
        finally:
            logging.disable(previous_disable)


@contextmanager
def _fd2_to_null():
    """Point fd 2 at the null device; if ``sys.stderr`` wrote to fd 2, it writes to a copy of the old fd 2."""
    try:
        sys.stderr.flush()
        stderr_is_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # replaced by a capture object without a descriptor
        stderr_is_fd2 = False
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all (e.g. a detached process): nothing to silence
        yield
        return
    original_stderr = sys.stderr
    if stderr_is_fd2:
        sys.stderr = open(os.dup(saved), "w", buffering=1, encoding=getattr(original_stderr, "encoding", None),
                          errors="backslashreplace")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        if stderr_is_fd2:
            sys.stderr.close()
            sys.stderr = original_stderr
        os.dup2(saved, 2)
        os.close(saved)
