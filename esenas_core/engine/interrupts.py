"""Ctrl-C that always stops a run, even when Python swallows the first ``KeyboardInterrupt``.

Python raises ``KeyboardInterrupt`` in whatever code runs when SIGINT arrives. If that code is a
finalizer (``__del__``, a weakref callback) or a library's ``except BaseException``, the interrupt
is lost: Python prints "Exception ignored in …" with a traceback and the run goes on. The command
line installs :func:`install`; the trainer calls :func:`check` after every iteration, which raises
the interrupt again if one arrived. Library users who never call :func:`install` are unaffected.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

_pending = False


def _handler(signum: int, frame: Any) -> None:
    global _pending
    _pending = True
    raise KeyboardInterrupt


def _unraisable(hook: Any) -> Any:
    def quiet(unraisable: Any) -> None:
        if _pending and isinstance(unraisable.exc_value, KeyboardInterrupt):
            return  # re-raised by ``check`` at the next iteration: no traceback for the user
        hook(unraisable)

    return quiet


def install() -> None:
    """Remember every SIGINT (main thread only; a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is not _handler:
        signal.signal(signal.SIGINT, _handler)
    if getattr(sys.unraisablehook, "__name__", "") != "quiet":
        sys.unraisablehook = _unraisable(sys.unraisablehook)


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a SIGINT arrived since :func:`install` (and was swallowed)."""
    if _pending:
        raise KeyboardInterrupt


def reset() -> None:
    global _pending
    _pending = False
