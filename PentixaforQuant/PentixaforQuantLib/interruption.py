"""Ctrl-C that is never lost: an interrupt is recorded, and outputs are not committed after one.

Python turns SIGINT into a ``KeyboardInterrupt`` wherever the main thread happens to be. Some libraries swallow it
(a bare ``except:`` around an optional import) or turn it into another error (an interrupted VTK import becomes
"ImportError: Failed to load vtk"), so the exception alone cannot be trusted to reach the command line. The
handler installed by :func:`install` therefore also *records* the interrupt: the output writers call
:func:`check` before they put anything in place, and the command line treats any error that follows an interrupt
as the interrupt (exit 130, the earlier results untouched).

:func:`held` keeps SIGINT and SIGTERM from interrupting a few renames that must happen together (the commit of an
output folder); an interrupt that arrives meanwhile is recorded and raised when the block ends.

This module imports nothing of the library; in Slicer (where Qt owns the signals) nothing is installed and
:func:`held` leaves the handlers alone unless they are Python's own.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["check", "exit_code", "held", "ignore", "install", "interrupted", "reset", "restore"]

_state = {"interrupted": False, "holding": 0, "installed": False, "signum": signal.SIGINT}
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _handler(signum, frame):  # noqa: ARG001 - the signal module's signature
    _state["interrupted"] = True
    _state["signum"] = signum
    if not _state["holding"]:
        raise KeyboardInterrupt


def install() -> dict | None:
    """Record every SIGINT and SIGTERM from now on (and raise ``KeyboardInterrupt`` as Python does for SIGINT).

    Returns the previous handlers for :func:`restore`; None outside the main thread (nothing installed)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    for signum in _SIGNALS:  # also where the parent left them ignored (SIG_IGN is inherited)
        signal.signal(signum, _handler)
    # A child inherits its parent's blocked signals: started from a worker pool or an event loop, Ctrl-C would
    # otherwise never arrive while the run replaces the earlier results.
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(_SIGNALS))
    _state["installed"] = True
    return previous


def restore(previous: dict | None) -> None:
    """Put back the handlers :func:`install` replaced (a command run inside another program)."""
    if not previous:
        return
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    _state["installed"] = any(handler is _handler for handler in previous.values())


def ignore() -> None:
    """Ignore SIGINT and SIGTERM from now on (a finished command line while Python exits)."""
    if threading.current_thread() is threading.main_thread():
        for signum in _SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def exit_code() -> int:
    """The shell's exit status of the interrupt: 128 + the signal number (130 for Ctrl-C)."""
    return 128 + int(_state["signum"])


def interrupted() -> bool:
    """Whether an interrupt arrived since :func:`install` (or the last :func:`reset`)."""
    return _state["interrupted"]


def reset() -> None:
    """Forget an earlier interrupt (a new run in the same process)."""
    _state["interrupted"] = False


def check() -> None:
    """Raise ``KeyboardInterrupt`` when an interrupt arrived, even one a library swallowed."""
    if _state["interrupted"]:
        raise KeyboardInterrupt


def _ours_to_replace(signum) -> bool:
    current = signal.getsignal(signum)
    return current in (signal.default_int_handler, signal.SIG_DFL, _handler)


@contextmanager
def held() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM are recorded but do not interrupt; at its end a recorded interrupt
    is raised. Outside the main thread (where Python runs no handlers) the block is plain."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {}
    for signum in _SIGNALS:
        if _ours_to_replace(signum):
            saved[signum] = signal.getsignal(signum)
            signal.signal(signum, _handler)
    _state["holding"] += 1
    try:
        yield
    finally:
        _state["holding"] -= 1
        for signum, previous in saved.items():
            if previous is not _handler:
                signal.signal(signum, previous)
        pending = _state["interrupted"] and not _state["holding"]
        if pending and not _state["installed"]:  # a library caller: raised once, not remembered
            _state["interrupted"] = False
    if pending:
        raise KeyboardInterrupt
