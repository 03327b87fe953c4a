"""Worker processes: one BLAS/OpenMP thread each, dying with their driver, a start-up barrier.

This module imports nothing heavy, so a spawned worker runs it before numpy is imported
(workers × threads must not exceed the cores).
"""

import os
import signal
from typing import Any

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def limit_threads() -> None:
    for name in THREAD_VARS:
        os.environ[name] = "1"


def die_with_parent(parent: int) -> None:
    """Linux: this process gets SIGTERM when its parent ``parent`` (a pid) dies
    (``PR_SET_PDEATHSIG``), so worker processes never outlive a driver that was killed; exits at
    once if the parent is already gone. Elsewhere a no-op."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


# The pool's start-up barrier (a ``multiprocessing.Barrier`` with one party per worker), set by
# ``init_worker``: warm-up tasks wait on it, so each of them runs in a different worker.
START_BARRIER = None


def start_barrier() -> Any:
    """The barrier ``init_worker`` kept in this worker process (None outside a pool)."""
    return START_BARRIER


def init_worker(parent: int, barrier: object = None) -> None:
    """Initializer of pool worker processes: one BLAS thread, die with the driver, keep the
    start-up barrier."""
    global START_BARRIER
    # Ctrl-C in a terminal reaches the whole process group: the driver stops the workers, and
    # a worker never prints a KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads()
    die_with_parent(parent)
    START_BARRIER = barrier


def start_failure_hint() -> str:
    """Why spawned workers may die while starting, for a backend's one-line error. A spawned
    worker first imports the driver's main module; a script that starts a run at its top level
    (no ``if __name__ == "__main__":``) makes every worker try to start workers of its own."""
    import sys

    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    if script and script.endswith(".py") and os.path.basename(script) != "__main__.py":
        return (
            f"each worker first imports the main script {script}: if its top level starts a run"
            ' (Search, optimize, run_study…), put that code under `if __name__ == "__main__":`'
        )
    return "see their error output above (out of memory? a plugin that fails to import?)"
