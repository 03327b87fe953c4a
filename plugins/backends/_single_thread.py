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
