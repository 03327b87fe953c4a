"""Worker-process initializer: one BLAS/OpenMP thread per worker process.

This module imports nothing heavy, so a spawned worker runs it before numpy is imported
(workers × threads must not exceed the cores).
"""

import os

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


def init_worker(parent: int) -> None:
    """Initializer of pool worker processes: one BLAS thread, and die with the driver."""
    limit_threads()
    die_with_parent(parent)
