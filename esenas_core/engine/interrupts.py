"""Ctrl-C that always stops a run, even when Python swallows the first ``KeyboardInterrupt``.

Python raises ``KeyboardInterrupt`` in whatever code runs when SIGINT arrives. If that code is a
finalizer (``__del__``, a weakref callback) or a library's ``except BaseException``, the interrupt
is lost: Python prints "Exception ignored in …" with a traceback and the run goes on. The command
line installs :func:`install`; the trainer calls :func:`check` after every iteration, which raises
the interrupt again if one arrived. Library users who never call :func:`install` are unaffected.

The command line (``install(command_line=True)``) also guarantees the exit itself: after a Ctrl-C
the libraries it cut short log and print nothing; if the process has not exited ``GRACE_S``
seconds later (a library that swallowed the interrupt, a pool waiting for its workers), it prints
``MESSAGE``, kills its child processes and exits with status 130; and the worker processes it
spawns (process pool, dask ``LocalCluster``) start with SIGINT ignored, so a Ctrl-C in a terminal,
which reaches the whole process group, stops only the driver, which stops them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from typing import Any

_pending = False
_command_line = False
GRACE_S = 3.0  # after a Ctrl-C, the command line exits within this many seconds
MESSAGE = (
    "esenas: interrupted; a run continues from its last checkpoint with"
    " `esenas run --resume RUN_DIR` (an ablation: re-run the same command)"
)


def _handler(signum: int, frame: Any) -> None:
    global _pending
    if not _pending and _command_line:
        _quiet_from_now_on()
        timer = threading.Timer(GRACE_S, _force_exit)
        timer.daemon = True
        timer.start()
    _pending = True
    raise KeyboardInterrupt


def _force_exit() -> None:  # pragma: no cover (ends the process; tests/test_interrupts.py)
    """The process did not exit in time after a Ctrl-C: one line, children killed, status 130."""
    try:
        os.write(2, (MESSAGE + "\n").encode())
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        import psutil

        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    finally:
        os._exit(130)


def _spawn_ignoring_sigint() -> None:
    """Spawned worker processes start with SIGINT ignored (inherited through exec: Python keeps
    an ignored SIGINT ignored): multiprocessing runs them through a two-line shell wrapper."""
    import atexit
    import multiprocessing
    import shlex
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="esenas-spawn-")
    wrapper = os.path.join(folder, "python")
    with open(wrapper, "w", encoding="utf-8") as fh:
        fh.write(f"#!/bin/sh\ntrap '' INT\nexec {shlex.quote(sys.executable)} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    multiprocessing.set_executable(wrapper)
    atexit.register(shutil.rmtree, folder, True)


def _quiet_from_now_on() -> None:
    """After a Ctrl-C the command prints one line and exits: the libraries whose work it cut
    short (a dask cluster half started, a pool shutting down) log and print no tracebacks."""
    logging.disable(logging.CRITICAL)
    threading.excepthook = lambda args: None
    sys.unraisablehook = lambda unraisable: None


def _unraisable(hook: Any) -> Any:
    def quiet(unraisable: Any) -> None:
        if _pending and isinstance(unraisable.exc_value, KeyboardInterrupt):
            return  # re-raised by ``check`` at the next iteration: no traceback for the user
        hook(unraisable)

    return quiet


def install(command_line: bool = False) -> None:
    """Remember every SIGINT (main thread only; a no-op elsewhere); ``command_line``: also the
    exit guarantees above, in the ``esenas`` process itself only (not for library users, nor
    for a test runner that invokes the command line in-process)."""
    global _command_line
    if threading.current_thread() is not threading.main_thread():
        return
    from esenas_core._process import IS_COMMAND  # not for the CLI run in-process (tests)

    if command_line and IS_COMMAND and not _command_line and os.name == "posix":
        _command_line = True
        _spawn_ignoring_sigint()
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
